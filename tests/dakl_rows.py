"""Building DAKL files byte by byte for validator tests (synthetic BSNs only)."""

from __future__ import annotations

from dakl_etl.protocol.fields import COLUMNS, HEADER
from synthetic import synthetic_bsns

YEAR = 2024
NAME = f"DAKL_J{YEAR}_test.csv"
BSNS = synthetic_bsns(20, seed=7)


def base_row(i: int = 0) -> dict[str, str]:
    """A row that passes every rule of the 2024 file (each i gets its own BSN)."""
    return {
        "aanmaakdatum": "202504240900",
        "gemeentecode": "0363",
        "bsn": BSNS[i],
        "datum_melding": "20240101",
        "type_opvang": "0201",
        "startdatum": "20240102",
        "einddatum": "20240301",
        "reden": "19",
        "v_nummer": "",
    }


def base_rows(n: int = 5) -> list[dict[str, str]]:
    return [base_row(i) for i in range(n)]


def dakl(
    rows: list[dict[str, str]] | list[str],
    *,
    header: str | None = HEADER,
    eol: str = "\r\n",
    final_break: bool = True,
) -> bytes:
    """The file's bytes; rows are dicts of the nine fields or ready-made line texts."""
    lines = [] if header is None else [header]
    for row in rows:
        lines.append(row if isinstance(row, str) else ";".join(row[c] for c in COLUMNS))
    text = eol.join(lines) + (eol if final_break else "")
    return text.encode("utf-8")
