"""The delivery report: what CBS will see, before the upload.

`build_report` gathers the data (verdict, figures, signals: aggregates only); `render_html`
and `render_summary` turn it into the page and the terminal text; `write_report` does all three
for a caller that just wants the file. `shown_key_figures` gives the key figures for a log line,
small counts hidden as on the page (`DeliveryReport.to_dict` hides none).
"""

from __future__ import annotations

from pathlib import Path

from dakl_etl.report.build import Delivery, DeliveryReport, build_report, write_text_atomic
from dakl_etl.report.html import render_html
from dakl_etl.report.i18n import Lang
from dakl_etl.report.signals import SIGNAL_IDS, Signal, Thresholds
from dakl_etl.report.text import render_summary, shown_key_figures

__all__ = [
    "SIGNAL_IDS",
    "Delivery",
    "DeliveryReport",
    "Signal",
    "Thresholds",
    "build_report",
    "render_html",
    "render_summary",
    "shown_key_figures",
    "write_report",
]


def write_report(
    dakl_path: str | Path,
    out_html: str | Path,
    *,
    lang: Lang = "nl",
    suppress_small: bool = True,
    **build_options,
) -> DeliveryReport:
    """Build the report of `dakl_path` and write its page to `out_html` atomically (mode 0644).

    `build_options` are those of `build_report` (previous, year, gemeenten, thresholds, …).
    """
    report = build_report(dakl_path, **build_options)
    write_text_atomic(out_html, render_html(report, lang=lang, suppress_small=suppress_small))
    return report
