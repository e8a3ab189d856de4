"""The ledger as JSON next to the delivery, and as the small table printed after every run."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from dakl_etl.outputs.atomic import write_bytes_atomic


def ledger_file_name(free_text: str = "") -> str:
    return f"ledger_{free_text}.json" if free_text else "ledger.json"


def ledger_json(ledger: Mapping) -> str:
    return json.dumps(ledger, indent=2, ensure_ascii=False) + "\n"


def write_ledger(ledger: Mapping, path: str | Path) -> Path:
    """Counts only, no personal data: readable by the team (0644)."""
    return write_bytes_atomic(path, ledger_json(ledger).encode("utf-8"), mode=0o644)


def render_ledger(ledger: Mapping) -> str:
    """Per source: read = delivered + rejected + excluded + outside the years; then the flow."""
    head = ("source", "read", "delivered", "rejected", "excluded", "outside", "balance")
    rows = [
        (
            name,
            e["read"],
            e["delivered"],
            sum(e["rejected"].values()),
            e["excluded"],
            e["outside_years"],
            "ok" if e["balanced"] else "WRONG",
        )
        for name, e in [*ledger["sources"].items(), ("total", ledger["totals"])]
    ]
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]

    def line(cells) -> str:
        first = str(cells[0]).ljust(widths[0])
        rest = (str(c).rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True))
        return "  ".join([first, *rest])

    out = [line(head), *(line(r) for r in rows[:-1]), "-" * len(line(head)), line(rows[-1])]
    rejected = ledger["totals"]["rejected"]
    if rejected:
        out.append("rejected by rule: " + ", ".join(f"{k} {v}" for k, v in rejected.items()))
    flow = ledger["flow"]
    per_year = ", ".join(f"J{y} {n}" for y, n in flow["rows_per_year"].items()) or "none"
    out.append(
        f"rows {flow['rows_read']} → registrations {flow['registrations']} "
        f"(night runs {flow['night_runs']} from {flow['night_rows']} nights) → episodes "
        f"{flow['episodes']} ({flow['episodes_delivered']} in the years) → rows: {per_year}"
    )
    withheld = {y: n for y, n in flow.get("withheld_r04_rows_per_year", {}).items() if n}
    after = ledger["totals"].get("rejected_after_registration", 0)
    if withheld or after:
        where = ", ".join(f"J{y} {n}" for y, n in withheld.items()) or "none"
        out.append(
            f"R04 (gemeentecode did not exist in the year): rows withheld from {where}; "
            f"source rows in no file: {after} (in the rejects file). Map the old code under "
            "mappings.gemeente or update the reference list."
        )
    if flow.get("conflicts"):
        out.append(
            f"end-date conflicts (open in one registration, closed in another): {flow['conflicts']}"
        )
    if not ledger["balanced"]:
        out.append("LEDGER DOES NOT BALANCE: nothing was delivered (this is a bug in dakl-etl)")
    return "\n".join(out)
