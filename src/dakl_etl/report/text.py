"""The terminal summary after `report` and `run`: the verdict, key figures and fired signals."""

from __future__ import annotations

from dakl_etl.report import i18n
from dakl_etl.report.build import DeliveryReport
from dakl_etl.report.html import (
    NumberFormat,
    masks,
    signal_detail,
    signals_line,
    small_limit,
    verdict_text,
)
from dakl_etl.report.i18n import Lang
from dakl_etl.report.suppression import KEY_QUOTES

_KEYS = (
    "rows",
    "persons_bsn",
    "rows_unknown_bsn",
    "persons_unknown_bsn",
    "rows_with_v_nummer",
    "rows_without_v_nummer",
    "open_at_year_end",
    "gemeenten",
)


def render_summary(
    report: DeliveryReport, lang: Lang = "nl", *, suppress_small: bool = True
) -> str:
    """A few plain lines (no colour codes: they end up in logs and e-mails too)."""
    t = i18n.texts(lang)
    f = NumberFormat(lang, small_limit(report, suppress_small))
    now = report.now
    head = f"{t['summary_title']} {now.file} ({t['year'].lower()} {now.year})"
    if now.year_from_data:
        head += f" {t['year_guessed']}"
    previous = report.previous
    if previous:
        head += f" – {t['previous'].lower()} {previous.file}"
        if not previous.readable:  # its empty figures are no comparison
            head += f" ({t['previous_unreadable']})"
    lines = [head, f"  {t['verdict']}: {verdict_text(report, lang)}"]
    key = now.figures.key.as_dict()
    before = report.previous_figures.key.as_dict() if report.previous_figures else None
    m, mb = masks(report, suppress_small)  # the page's: a count hidden there is hidden here
    width = max(len(t[f"k_{k}"]) for k in _KEYS)
    for name in _KEYS:
        cell = ("key", name)
        if name == "gemeenten":  # not a count of persons: never suppressed
            shown, hidden = f.int(key[name]), False
        else:
            shown, hidden = f.shown(m, cell), m.hidden(cell)
        line = f"  {t[f'k_{name}']:<{width}}  {shown:>10}"
        if before is not None and mb is not None:
            was = f.int(before[name]) if name == "gemeenten" else f.shown(mb, cell)
            change = f.change(key[name], before[name], hidden or mb.hidden(cell))
            change = f", {change}" if change else ""
            line += f"  ({t['before'].lower()} {was}{change})"
        lines.append(line)
    lines.append(f"  {signals_line(report, lang)}")
    lines += [f"    {s.id} {t[s.id]}: {signal_detail(s, f, m, mb)}" for s in report.fired]
    return "\n".join(lines)


def shown_key_figures(
    report: DeliveryReport, *, suppress_small: bool = True
) -> dict[str, int | str]:
    """The key figures for a log line or a manifest, hidden as on the page ("< 5", "x").

    Also those the page quotes only in the signals (rows with a melding after the start,
    long episodes): `KEY_QUOTES` says where each shows; the number of gemeenten never hides.
    """
    f = NumberFormat("en", small_limit(report, suppress_small))
    m, _ = masks(report, suppress_small)
    out: dict[str, int | str] = {}
    for name, value in report.now.figures.key.as_dict().items():
        state = m.quoted(KEY_QUOTES[name], value) if name in KEY_QUOTES else None
        out[name] = value if state is None else f.count(value, state, m.small)
    return out
