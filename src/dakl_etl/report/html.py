"""Render a DeliveryReport as one self-contained HTML page (Jinja2 template, inline CSS and SVG).

The page is forwarded to people outside the team: it holds aggregates only, counts from 1 to
`small_count_threshold - 1` show as "< 5" and counts that would give one of those away as "x"
(`suppression`), unless the caller switches that off; the signals' detail lines quote their
counts hidden the same way and leave out a share computed from a hidden one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import jinja2

from dakl_etl.protocol.rules import RULES
from dakl_etl.report import charts, i18n
from dakl_etl.report.build import DeliveryReport
from dakl_etl.report.figures import (
    INVALID,
    LENGTH_BUCKETS,
    MONTHS,
    PERIODS,
    REDEN_LABELS,
    WAITING_BUCKETS,
    Figures,
)
from dakl_etl.report.i18n import Lang
from dakl_etl.report.signals import Signal
from dakl_etl.report.suppression import (
    KEY_COUNTS,
    MASKED,
    SIGNAL_COUNTS,
    SIGNAL_DERIVED,
    SMALL,
    Cell,
    Masked,
    Quote,
    State,
    gemeente_cell,
    length_cell,
    mask_figures,
    month_cell,
    reden_cell,
    type_cell,
    type_rows,
    waiting_cell,
)

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("dakl_etl.report", "templates"),
    autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
MAX_LINES_SHOWN = 5


@dataclass
class Table:
    headers: list[str]
    numeric: list[bool]
    rows: list[list[str]] = field(default_factory=list)
    row_classes: list[str] = field(default_factory=list)

    def add(self, cells: Sequence[str], css: str = "") -> None:
        self.rows.append(list(cells))
        self.row_classes.append(css)


class NumberFormat:
    """Numbers in the page's language; hidden counts as "< 5" or "x" (see `suppression`)."""

    def __init__(self, lang: Lang, small: int | None) -> None:
        self.lang = lang
        self.small = small
        self.t = i18n.texts(lang)

    def int(self, n: int | None) -> str:
        if n is None:
            return ""
        text = f"{n:,}"
        return text.replace(",", ".") if self.lang == "nl" else text

    def shown(self, masked: Masked, cell: Cell) -> str:
        return self.count(masked.value(cell), masked.state(cell), masked.small)

    def count(self, value: int, state: State | None, small: int | None) -> str:
        """A count as `suppression` decided: "< 5", "x" or the number."""
        if state == SMALL:
            return self.t["small"].format(n=small)
        if state == MASKED:
            return self.t["masked"]
        return self.int(value)

    def change(self, now: int, before: int, hidden: bool = False) -> str:
        """Empty when either side is hidden: a shown count and the change give the other."""
        if hidden:
            return ""
        diff = now - before
        return ("+" if diff > 0 else "−" if diff < 0 else "") + self.int(abs(diff))

    def pct(self, now: int, before: int, hidden: bool = False) -> str:
        if hidden or not before:
            return ""
        value = f"{(now - before) / before:+.1%}".replace("-", "−")
        return value.replace(".", ",") if self.lang == "nl" else value

    def number(self, value: float | None, digits: int = 0) -> str:
        if value is None:
            return "–"
        text = f"{value:.{digits}f}"
        return text.replace(".", ",") if self.lang == "nl" else text

    def percent(self, share: float, digits: int = 1, *, signed: bool = False) -> str:
        """0.0625 -> "6.3%" ("6,3%" in Dutch); `signed`: "+6%" / "−6%"."""
        text = f"{share:{'+' if signed else ''}.{digits}%}".replace("-", "−")
        return text.replace(".", ",") if self.lang == "nl" else text

    def limit(self, share: float) -> str:
        """A threshold as a share: "25%", and "2.5%" when it has a decimal."""
        text = self.percent(share)
        return text[:-3] + "%" if text[-3:] in (".0%", ",0%") else text


def small_limit(report: DeliveryReport, suppress_small: bool) -> int | None:
    """Counts below this show as "< n"; None when nothing is suppressed."""
    n = report.small_count_threshold
    return n if suppress_small and n > 1 else None


def masks(report: DeliveryReport, suppress_small: bool) -> tuple[Masked, Masked | None]:
    """What every rendering hides of this delivery and of the previous one: decided once."""
    small = small_limit(report, suppress_small)
    before = report.previous_figures
    return (
        mask_figures(report.now.figures, small),
        mask_figures(before, small) if before is not None else None,
    )


def _compare_headers(f: NumberFormat, names: Sequence[str], with_previous: bool) -> list[str]:
    if not with_previous:
        return list(names)
    out = []
    for name in names:
        out += [name, f.t["before_short"], "±"]
    return out


def _compare_cells(
    f: NumberFormat, cells: Sequence[Cell], now: Masked, before: Masked | None
) -> list[str]:
    if before is None:
        return [f.shown(now, c) for c in cells]
    out = []
    for c in cells:
        change = f.change(now.value(c), before.value(c), now.hidden(c) or before.hidden(c))
        out += [f.shown(now, c), f.shown(before, c), change]
    return out


@dataclass(frozen=True)
class _Side:
    """This delivery's and the previous one's figures, with what the page hides of each."""

    now: Figures
    before: Figures | None
    m: Masked
    mb: Masked | None


def _key_table(f: NumberFormat, s: _Side) -> Table:
    names = (*KEY_COUNTS, "gemeenten")
    headers = [f.t["figure"], f.t["now"]]
    if s.before:
        headers += [f.t["before"], f.t["change"], f.t["change_pct"]]
    table = Table(headers, [False] + [True] * (len(headers) - 1))
    k, p = s.now.key.as_dict(), s.before.key.as_dict() if s.before else None
    for name in names:
        if name == "rows_invalid_bsn" and not k[name] and not (p and p[name]):
            continue
        if name == "gemeenten":
            # The number of municipalities says nothing about persons: never suppressed.
            cells = [f.t[f"k_{name}"], f.int(k[name])]
            if p is not None:
                cells += [f.int(p[name]), f.change(k[name], p[name]), f.pct(k[name], p[name])]
        else:
            cell = ("key", name)
            cells = [f.t[f"k_{name}"], f.shown(s.m, cell)]
            if p is not None and s.mb is not None:
                hidden = s.m.hidden(cell) or s.mb.hidden(cell)
                cells += [
                    f.shown(s.mb, cell),
                    f.change(k[name], p[name], hidden),
                    f.pct(k[name], p[name], hidden),
                ]
        table.add(cells, "key" if name in {"rows", "persons_bsn"} else "")
    return table


def _type_table(f: NumberFormat, s: _Side) -> Table:
    now, before = s.now, s.before
    headers = [f.t["type"], *_compare_headers(f, [f.t["rows"], f.t["persons"]], bool(before))]
    table = Table(headers, [False] + [True] * (len(headers) - 1))
    keys = now.per_type.select("level", "code").rows()
    if before is not None:
        keys += [k for k in before.per_type.select("level", "code").rows() if k not in keys]
    order = {level: i for i, level in enumerate(("ethos", "type", "total"))}
    # ethos rows first within their category, the total at the very end
    keys.sort(key=lambda k: (k[0] == "total", k[1][:2], order[k[0]], k[1]))
    for level, code in keys:
        cells = [type_cell(level, code, "rows"), type_cell(level, code, "persons")]
        if level == "total":
            label = f.t["total"]
        elif level == "ethos":
            label = i18n.ethos_label(code, f.lang)
        else:
            label = (
                f"{code} {i18n.type_label(code, f.lang)}" if code != INVALID else f.t["ethos_other"]
            )
        table.add([label, *_compare_cells(f, cells, s.m, s.mb)], level)
    return table


def _gemeente_table(f: NumberFormat, s: _Side, names: dict[str, str]) -> Table:
    headers = [
        f.t["gemeentecode"],
        f.t["gemeente"],
        *_compare_headers(f, [f.t["rows"], f.t["persons"]], bool(s.before)),
    ]
    table = Table(headers, [False, False] + [True] * (len(headers) - 2))
    codes = s.now.per_gemeente["gemeentecode"].to_list()
    if s.before is not None:
        codes = sorted(set(codes) | set(s.before.per_gemeente["gemeentecode"].to_list()))
    for code in codes:
        cells = [gemeente_cell(code, "rows"), gemeente_cell(code, "persons")]
        name = names.get(code, f.t["unknown_gemeente"])
        table.add([code, name, *_compare_cells(f, cells, s.m, s.mb)])
    return table


def _period_label(f: NumberFormat, period: str, year: int) -> str:
    if period in MONTHS:
        return f"{year}-{period}"
    return f.t[f"p_{period}"].format(year=year)


def _month_table(f: NumberFormat, s: _Side) -> Table:
    headers = [f.t["period"], *_compare_headers(f, [f.t["starts"], f.t["ends"]], bool(s.before))]
    table = Table(headers, [False] + [True] * (len(headers) - 1))
    periods = set(s.now.per_month["period"].to_list())
    if s.before is not None:
        periods |= set(s.before.per_month["period"].to_list())
    for period in (p for p in PERIODS if p in periods):
        cells = [month_cell(period, "starts"), month_cell(period, "ends")]
        table.add([_period_label(f, period, s.now.year), *_compare_cells(f, cells, s.m, s.mb)])
    return table


def _ethos_columns(now: Figures, before: Figures | None) -> list[str]:
    columns = [c for c in now.lengths.columns if c != "bucket"]
    if before is not None:
        columns += [c for c in before.lengths.columns if c != "bucket" and c not in columns]
    return columns


def _length_table(f: NumberFormat, s: _Side) -> Table:
    columns = _ethos_columns(s.now, s.before)
    names = [i18n.ethos_label(c, f.lang).split(":")[0] for c in columns]
    headers = [f.t["bucket"], *_compare_headers(f, names, bool(s.before))]
    table = Table(headers, [False] + [True] * (len(headers) - 1))
    buckets = [b for b, _ in LENGTH_BUCKETS] + ["unknown", "invalid"]
    present = set(s.now.lengths["bucket"].to_list())
    if s.before is not None:
        present |= set(s.before.lengths["bucket"].to_list())
    for bucket in (b for b in buckets if b in present):
        label = f.t[f"p_{bucket}"].format(year="") if bucket in {"unknown", "invalid"} else bucket
        cells = [length_cell(bucket, c) for c in columns]
        table.add([label, *_compare_cells(f, cells, s.m, s.mb)])
    return table


def _waiting_table(f: NumberFormat, s: _Side) -> Table:
    headers = [f.t["waiting_bucket"], *_compare_headers(f, [f.t["rows"]], bool(s.before))]
    table = Table(headers, [False] + [True] * (len(headers) - 1))
    buckets = [b for b, _ in WAITING_BUCKETS] + ["none", "invalid"]
    present = set(s.now.waiting["bucket"].to_list())
    if s.before is not None:
        present |= set(s.before.waiting["bucket"].to_list())
    for bucket in (b for b in buckets if b in present):
        label = f.t.get(f"w_{bucket}", bucket)
        table.add([label, *_compare_cells(f, [waiting_cell(bucket)], s.m, s.mb)])
    return table


def _reden_table(f: NumberFormat, s: _Side) -> Table:
    headers = [
        f.t["reden_code"],
        f.t["reden"],
        *_compare_headers(f, [f.t["rows"]], bool(s.before)),
    ]
    table = Table(headers, [False, False] + [True] * (len(headers) - 2))
    codes = set(s.now.reden["reden"].to_list())
    if s.before is not None:
        codes |= set(s.before.reden["reden"].to_list())
    for code in (c for c in REDEN_LABELS if c in codes):
        shown_code = code if code.isdigit() else ""
        table.add(
            [
                shown_code,
                i18n.reden_label(code, f.lang),
                *_compare_cells(f, [reden_cell(code)], s.m, s.mb),
            ]
        )
    return table


def _findings_table(f: NumberFormat, report: DeliveryReport) -> Table:
    v = report.validation
    headers = [
        f.t["rule"],
        f.t["severity"],
        f.t["description"],
        f.t["count"],
        f.t["lines"],
        f.t["todo"],
    ]
    table = Table(headers, [False, False, False, True, False, False])
    for code in sorted(v.counts):
        rule = RULES.get(code)
        severity = "error" if v.error_counts[code] else "warning"
        lines = sorted({x.line for x in v.findings if x.code == code and x.line is not None})
        shown = ", ".join(str(n) for n in lines[:MAX_LINES_SHOWN])
        rest = v.counts[code] - min(len(lines), MAX_LINES_SHOWN) if lines else 0
        if lines and rest > 0:
            shown += " " + f.t["more"].format(n=f.int(rest))
        title = i18n.rule_title(code, f.lang, rule.title if rule else code)
        table.add(
            [
                code,
                f.t[severity],
                title,
                f.int(v.counts[code]),
                shown,
                i18n.rule_hint(code, f.lang, rule.hint if rule else ""),
            ],
            severity,
        )
    return table


def verdict_text(report: DeliveryReport, lang: Lang) -> str:
    t = i18n.texts(lang)
    v = report.validation
    if v.accepted:
        return (
            t["verdict_ok_warnings"].format(warnings=v.warnings) if v.warnings else t["verdict_ok"]
        )
    rules = ", ".join(sorted(c for c, n in v.error_counts.items() if n))
    if v.rows_with_errors:
        return t["verdict_rejected"].format(errors=v.errors, rows=v.rows_with_errors, rules=rules)
    return t["verdict_rejected_file"].format(errors=v.errors, rules=rules)


def signals_line(report: DeliveryReport, lang: Lang) -> str:
    t = i18n.texts(lang)
    fired = report.fired
    if not fired:
        return t["signals_none"]
    return t["signals_some"].format(n=len(fired), ids=", ".join(s.id for s in fired))


def _limits(f: NumberFormat, limits: dict[str, Any]) -> dict[str, str]:
    """The thresholds of a detail line: counts of rows, rows per person, or shares."""
    out = {}
    for name, value in limits.items():
        if name.startswith("min_"):
            out[name] = f.int(int(value))
        elif name == "max_rows_per_person":
            out[name] = f.number(float(value), 1)
        else:
            out[name] = f.limit(float(value))
    return out


def signal_detail(signal: Signal, f: NumberFormat, now: Masked, before: Masked | None) -> str:
    """A signal's detail line: its counts hidden as in the tables (`now`/`before`: the masks of
    this and the previous delivery, `masks`), and a share, ratio or change computed from a
    hidden count not shown at all. Whether it fired is the status, shown apart."""
    t = f.t
    if not signal.judged:
        return t["not_judged"]
    measured: dict[str, Any] = signal.measured

    def quoted(quote: Quote, value: int | None = None) -> tuple[str, bool]:
        masked = (before if quote.previous else now) or Masked({}, now.small)
        value = quote.value(masked) if value is None else value
        state = masked.quoted(quote, value)
        return f.count(value, state, masked.small), state is not None

    counts = {
        name: quoted(quote, measured.get(name))
        for name, quote in SIGNAL_COUNTS.get(signal.id, {}).items()
    }
    values = {name: text for name, (text, _) in counts.items()} | _limits(f, signal.limits)
    for name, sources in SIGNAL_DERIVED.get(signal.id, {}).items():
        hidden = any(counts[source][1] for source in sources)
        value = float(measured[name])
        if name == "change":
            values[name] = t["change_hidden"] if hidden else f.percent(value, 0, signed=True)
        elif name == "rows_per_person":
            shown = t["per_person"].format(n=f.number(value, 1))
            values[name] = t["per_person_hidden"] if hidden else shown
        else:
            values[name] = (
                t["share_hidden"] if hidden else t["share"].format(share=f.percent(value))
            )
    if signal.id == "P04":
        values["types"] = ", ".join(measured["types"]) or t["none"]
    if signal.id == "P05":
        changes = []
        for x in measured["types"]:
            rows, rows_hidden = quoted(type_rows(x["code"]), x["rows"])
            was, was_hidden = quoted(type_rows(x["code"], previous=True), x["previous"])
            change = (
                t["change_hidden"]
                if rows_hidden or was_hidden
                else f.percent(x["change"], 0, signed=True)
            )
            changes.append(f"{x['code']}: {was} → {rows} ({change})")
        values["types"] = "; ".join(changes) or t["none"]
    return t[f"{signal.id}_detail"].format(**values)


def _signal_table(f: NumberFormat, report: DeliveryReport, side: _Side) -> Table:
    table = Table(
        [f.t["signal"], f.t["description"], f.t["status"], ""], [False, False, False, False]
    )
    for s in report.signals:
        status = f.t["fired"] if s.fired else f.t["quiet"] if s.judged else "–"
        table.add(
            [s.id, f.t[s.id], status, signal_detail(s, f, side.m, side.mb)],
            "fired" if s.fired else "quiet",
        )
    return table


def _short(label: str, width: int = 34) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"


def _charts(f: NumberFormat, s: _Side) -> list[tuple[str, str, str]]:
    """(heading key, alt text, svg) per chart; a count hidden in a table is hidden here too."""
    now, before = s.now, s.before
    small_label = f.t["small"].format(n=f.small) if f.small else ""
    masked_label = f.t["masked_chart"]
    now_name, before_name = f.t["now"], f.t["before"]

    def series(name: str, masked: Masked, cells: list[Cell], colour: str) -> charts.Series:
        return charts.Series(
            name, [masked.value(c) for c in cells], colour, [masked.state(c) for c in cells]
        )

    out = []
    types = [c for c in now.per_type.filter(now.per_type["level"] == "type")["code"].to_list()]
    type_cells = [type_cell("type", c, "persons") for c in types]
    per_type = [series(f"{f.t['persons']} – {now_name}", s.m, type_cells, charts.NOW_COLOUR)]
    if s.mb is not None:
        per_type.append(
            series(f"{f.t['persons']} – {before_name}", s.mb, type_cells, charts.PREVIOUS_COLOUR)
        )
    out.append(
        (
            "per_type",
            f.t["charts_alt_type"],
            charts.bars(
                [
                    _short(f"{c} {i18n.type_label(c, f.lang)}")
                    if c != INVALID
                    else f.t["ethos_other"]
                    for c in types
                ],
                per_type,
                small=f.small,
                small_label=small_label,
                masked_label=masked_label,
                horizontal=True,
                name="type",
                height_in=0.22 * len(types) * (1.6 if before is not None else 1) + 0.6,
            ),
        )
    )

    months = list(MONTHS)
    starts = [month_cell(m, "starts") for m in months]
    month_series = [
        series(f.t["starts"], s.m, starts, charts.NOW_COLOUR),
        series(f.t["ends"], s.m, [month_cell(m, "ends") for m in months], charts.SECOND_COLOUR),
    ]
    if s.mb is not None:
        month_series.append(
            series(f"{f.t['starts']} – {before_name}", s.mb, starts, charts.PREVIOUS_COLOUR)
        )
    out.append(
        (
            "per_month",
            f.t["charts_alt_month"],
            charts.bars(
                months,
                month_series,
                small=f.small,
                small_label=small_label,
                masked_label=masked_label,
                name="month",
            ),
        )
    )

    buckets = [b for b, _ in LENGTH_BUCKETS]
    colours = (charts.NOW_COLOUR, charts.SECOND_COLOUR, charts.PREVIOUS_COLOUR)
    length_series = [
        series(
            i18n.ethos_label(c, f.lang).split(":")[0],
            s.m,
            [length_cell(b, c) for b in buckets],
            colour,
        )
        for c, colour in zip(
            [c for c in now.lengths.columns if c != "bucket"], colours, strict=False
        )
    ]
    out.append(
        (
            "lengths",
            f.t["charts_alt_length"],
            charts.bars(
                buckets,
                length_series,
                small=f.small,
                small_label=small_label,
                masked_label=masked_label,
                name="length",
            ),
        )
    )

    waits = [b for b, _ in WAITING_BUCKETS]
    wait_cells = [waiting_cell(b) for b in waits]
    wait_series = [series(now_name, s.m, wait_cells, charts.NOW_COLOUR)]
    if s.mb is not None:
        wait_series.append(series(before_name, s.mb, wait_cells, charts.PREVIOUS_COLOUR))
    out.append(
        (
            "waiting",
            f.t["charts_alt_waiting"],
            charts.bars(
                [f.t.get(f"w_{b}", b) for b in waits],
                wait_series,
                small=f.small,
                small_label=small_label,
                masked_label=masked_label,
                name="waiting",
            ),
        )
    )
    return out


def _version() -> str:
    try:
        return metadata.version("dakl-etl")
    except metadata.PackageNotFoundError:
        return ""


def render_html(report: DeliveryReport, *, lang: Lang = "nl", suppress_small: bool = True) -> str:
    """The whole page as text; write it with `write_report` or the caller's own atomic write."""
    if lang not in i18n.LANGS:
        raise ValueError(f"lang must be one of {', '.join(i18n.LANGS)}")
    small = small_limit(report, suppress_small)
    f = NumberFormat(lang, small)
    now = report.now.figures
    side = _Side(now, report.previous_figures, *masks(report, suppress_small))
    medians = ", ".join(
        f"{i18n.ethos_label(c, lang).split(':')[0]} {f.number(m)} {f.t['days']}"
        for c, m in now.length_median.items()
    )
    context = {
        "lang": lang,
        "t": f.t,
        "report": report,
        "version": _version(),
        "verdict": verdict_text(report, lang),
        "accepted": report.accepted,
        "findings": _findings_table(f, report),
        "truncated": bool(report.validation.truncated),
        "key": _key_table(f, side),
        "per_type": _type_table(f, side),
        "per_gemeente": _gemeente_table(f, side, report.gemeente_names),
        "per_month": _month_table(f, side),
        "lengths": _length_table(f, side),
        "lengths_note": f.t["lengths_note"].format(medians=medians),
        "waiting": _waiting_table(f, side),
        "waiting_note": f.t["waiting_note"].format(median=f.number(now.waiting_median)),
        "reden": _reden_table(f, side),
        "signals": _signal_table(f, report, side),
        "signals_line": signals_line(report, lang),
        "charts": {key: (alt, svg) for key, alt, svg in _charts(f, side)},
        "small_note": f.t["small_note"].format(n=small, m=small - 1) if small else "",
    }
    return _ENV.get_template("report.html.j2").render(context)
