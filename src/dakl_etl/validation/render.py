"""Text and JSON renderings of validation reports (the same Report objects, two views)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from dakl_etl.protocol.findings import Finding, Report
from dakl_etl.protocol.rules import RULES


def verdict(report: Report) -> str:
    if report.accepted:
        warned = f" with {report.warnings} warning{'s' * (report.warnings != 1)}"
        return "accepted" + (warned if report.warnings else "")
    return (
        f"rejected: {report.errors} error{'s' * (report.errors != 1)} in "
        f"{report.rows_with_errors} row{'s' * (report.rows_with_errors != 1)}"
    )


def _where(f: Finding) -> str:
    if f.line is None:
        return "file"
    where = f"line {f.line}"
    if f.column is not None:
        where += f", column {f.column} ({f.field})"
    return where


def _section(report: Report, severity: str) -> list[str]:
    out: list[str] = []
    groups: dict[str, list[Finding]] = {}
    for f in report.findings:
        if f.severity == severity:
            groups.setdefault(f.code, []).append(f)
    for code in sorted(groups):
        examples = groups[code]
        total = (
            report.error_counts[code]
            if severity == "error"
            else (report.counts[code] - report.error_counts[code])
        )
        rule = RULES[code]
        out.append(f"  {code} {rule.title}: {total} {severity}{'s' * (total != 1)}")
        for f in examples:
            out.append(f"    {_where(f)}: {f.message}")
        shown = len(examples)
        if total > shown:
            out.append(f"    … and {total - shown} more (raise --max-examples to see them)")
        out.append(f"    fix: {rule.hint}")
    return out


def render_report_text(report: Report) -> str:
    year = f"year {report.year}" if report.year else "year unknown"
    lines = [f"{report.file}: {verdict(report)} ({report.rows} rows, {year})"]
    errors = _section(report, "error")
    if errors:
        lines += ["errors:", *errors]
    warnings = _section(report, "warning")
    if warnings:
        lines += ["warnings:", *warnings]
    return "\n".join(lines)


def render_text(reports: Sequence[Report] | Report) -> str:
    """Each report in turn; for several files a last line counts the verdicts."""
    if isinstance(reports, Report):
        reports = [reports]
    parts = [render_report_text(r) for r in reports]
    if len(reports) > 1:
        rejected = sum(not r.accepted for r in reports)
        parts.append(
            f"{len(reports)} files: {len(reports) - rejected} accepted, {rejected} rejected"
        )
    return "\n\n".join(parts) + "\n"


def report_json(report: Report) -> dict:
    """The issue's JSON shape: file, year, accepted, rows, findings (+ counts per rule)."""
    return report.to_dict()


def render_json(reports: Sequence[Report] | Report) -> str:
    """One JSON object for one report, an array for several."""
    if isinstance(reports, Report):
        return json.dumps(report_json(reports), ensure_ascii=False, indent=2)
    if len(reports) == 1:
        return json.dumps(report_json(reports[0]), ensure_ascii=False, indent=2)
    return json.dumps([report_json(r) for r in reports], ensure_ascii=False, indent=2)
