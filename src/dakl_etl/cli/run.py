"""`dakl-etl run`: parse arguments, call `dakl_etl.api.run_pipeline`, exit with its code.

The nightly wrapper (issue 5) does the lock, the run directory, the manifest, the diff against
`OUT/latest` and the logs; `summary` below renders the run's own outcome inside its summary.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from dakl_etl.api import run_pipeline
from dakl_etl.cli._app import EXIT_CODES_HELP, app
from dakl_etl.outputs.ledger import render_ledger
from dakl_etl.pipeline.logs import EventLog
from dakl_etl.pipeline.nightly import DEFAULT_KEEP
from dakl_etl.pipeline.run import EMPTY_YEAR, RunOutcome, parse_now
from dakl_etl.protocol.rules import RULES


class LogFormat(StrEnum):
    auto = "auto"
    text = "text"
    json = "json"


@app.command(
    "run",
    help=(
        "Extract all sources of PIPELINE.yaml, derive shelter episodes and write "
        "DAKL_J{year}_{free text}.csv (and J{year-1} when asked), a rejects file and a ledger "
        "that accounts for every source row.\n\n"
        "Each run writes into OUT/runs/<UTC timestamp>/ with a manifest.json, under an "
        "exclusive lock on OUT/.lock; OUT/latest points to the last run whose delivery was "
        "accepted, and only such a run moves it. What changed since latest is in the summary "
        "and the manifest. See docs/deploy.md for systemd, cron and Airflow.\n\n" + EXIT_CODES_HELP
    ),
)
def run_command(
    pipeline: Annotated[Path, typer.Argument(help="The pipeline YAML file.")],
    year: Annotated[
        int | None,
        typer.Option("--year", help="Reporting year; default: delivery.year of the pipeline."),
    ] = None,
    with_previous_year: Annotated[
        bool | None,
        typer.Option(
            "--with-previous-year/--without-previous-year",
            help="Also write the re-delivery of the previous year; default: the pipeline's "
            "delivery.with_previous_year.",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Output directory; default: delivery.output of the pipeline."),
    ] = None,
    now: Annotated[
        str | None,
        typer.Option(
            "--now",
            help="Moment of extraction YYYY-MM-DDTHH:MM (local time) for reproducible "
            "runs; default: now.",
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Do everything but write: validate and print the ledger."),
    ] = False,
    keep: Annotated[
        int,
        typer.Option(
            "--keep",
            min=1,
            help="Run directories kept under OUT/runs after an accepted run; the one "
            "OUT/latest points to always stays.",
        ),
    ] = DEFAULT_KEEP,
    log_format: Annotated[
        LogFormat,
        typer.Option(
            "--log-format",
            help="auto: progress and a summary on a terminal, JSON lines otherwise; text; "
            "json: one object per line on stderr (time, level, event, source, counts).",
        ),
    ] = LogFormat.auto,
    quiet: Annotated[
        bool,
        typer.Option("--quiet", "-q", help="Print only the verdict and the problems."),
    ] = False,
) -> None:
    moment = parse_now(now) if now else None  # a bad --now: one line, exit 2, before any work
    result = run_pipeline(
        pipeline,
        year=year,
        with_previous_year=with_previous_year,
        out=out,
        now=moment,
        dry_run=dry_run,
        keep_runs=keep,
        log=EventLog(log_format=log_format.value, quiet=quiet),
        outcome_text=summary,
    )
    raise typer.Exit(int(result.exit_code))


def summary(outcome: RunOutcome) -> str:
    """The end-of-run text: per year the verdict and findings, the ledger table, conflicts."""
    lines: list[str] = []
    withheld = outcome.ledger.get("flow", {}).get("withheld_r04_rows_per_year", {})
    for y in outcome.years:
        if y in outcome.empty_previous_years:
            lines.append(f"J{y}: 0 rows — " + EMPTY_YEAR.format(year=y))
            continue
        report = outcome.reports.get(y)
        rows = outcome.rows_per_year.get(y, 0)
        if y in outcome.dakl_paths:
            head = f"J{y}: {rows} rows written to {outcome.dakl_paths[y]}"
        elif outcome.dry_run:
            head = f"J{y}: {rows} rows (dry run: nothing written)"
        else:
            head = f"J{y}: {rows} rows NOT written"
        if report is not None:
            head += f" — {report.errors} error(s), {report.warnings} warning(s)"
        lines.append(head)
        if withheld.get(str(y)):
            lines.append(
                f"  withheld R04 ×{withheld[str(y)]}: gemeentecode did not exist in {y} "
                "(not in this file; see the ledger and rejects)"
            )
        if report is not None:
            for code, n in sorted(report.counts.items()):
                rule = RULES.get(code)
                title = rule.title if rule else ""
                severity = "error" if report.error_counts.get(code) else "warning"
                lines.append(f"  {severity} {code} ×{n}: {title}")
    lines.append("")
    lines.append(render_ledger(outcome.ledger))
    for example in outcome.conflict_examples[:5]:
        lines.append(
            f"  conflict: {example['source']} line {example['line']} still open, closed "
            f"elsewhere (type {example['type_opvang']}, gemeente {example['gemeentecode']}, "
            f"BSN {example['bsn']}, start {example['startdatum']})"
        )
    if outcome.rejects_path:
        lines.append(f"rejects: {outcome.rejects_path}")
    if outcome.ledger_path:
        lines.append(f"ledger: {outcome.ledger_path}")
    if outcome.exit_code:
        lines.append("blocked: the final validation found errors; no DAKL file was written")
    return "\n".join(lines)
