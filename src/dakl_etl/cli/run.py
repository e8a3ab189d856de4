"""`dakl-etl run`: parse arguments, call `pipeline.run.run`, print the outcome, exit."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dakl_etl.cli._app import EXIT_CODES_HELP, app
from dakl_etl.outputs.ledger import render_ledger
from dakl_etl.pipeline.run import RunOutcome, parse_now, run
from dakl_etl.protocol.rules import RULES


@app.command(
    "run",
    help=(
        "Extract all sources of PIPELINE.yaml, derive shelter episodes and write "
        "DAKL_J{year}_{free text}.csv (and J{year-1} when asked), a rejects file and a ledger "
        "that accounts for every source row.\n\n" + EXIT_CODES_HELP
    ),
)
def run_command(
    pipeline: Annotated[Path, typer.Argument(help="The pipeline YAML file.")],
    year: Annotated[int | None, typer.Option(
        "--year", help="Reporting year; default: delivery.year of the pipeline.")] = None,
    with_previous_year: Annotated[bool | None, typer.Option(
        "--with-previous-year/--without-previous-year",
        help="Also write the re-delivery of the previous year; default: the pipeline's "
        "delivery.with_previous_year.")] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Output directory; default: delivery.output of the pipeline.")] = None,
    now: Annotated[str | None, typer.Option(
        "--now", help="Moment of extraction YYYY-MM-DDTHH:MM (local time) for reproducible "
        "runs; default: now.")] = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Do everything but write: validate and print the ledger.")] = False,
) -> None:
    outcome = run(
        pipeline, year=year, with_previous_year=with_previous_year, out=out,
        now=parse_now(now) if now else None, dry_run=dry_run,
    )
    typer.echo(summary(outcome))
    raise typer.Exit(int(outcome.exit_code))


def summary(outcome: RunOutcome) -> str:
    """The end-of-run text: per year the verdict and findings, the ledger table, conflicts."""
    lines: list[str] = []
    for y in outcome.years:
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
