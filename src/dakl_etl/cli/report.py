"""`dakl-etl report`: the page CBS's verdict and overview would give, before the upload."""

from __future__ import annotations

import dataclasses
import difflib
from enum import StrEnum
from pathlib import Path

import typer

from dakl_etl.cli._app import app
from dakl_etl.cli._common import check_year, gemeenten_from, reference_option, year_option
from dakl_etl.errors import ExitCode, UsageError
from dakl_etl.report import Thresholds, build_report, render_html, render_summary
from dakl_etl.report.build import write_text_atomic
from dakl_etl.report.i18n import texts


class Language(StrEnum):
    nl = "nl"
    en = "en"


def parse_thresholds(items: list[str]) -> Thresholds:
    """`NAME=VALUE` pairs over the defaults; unknown names get a "did you mean"."""
    fields = {f.name: f for f in dataclasses.fields(Thresholds)}
    values: dict[str, float | int] = {}
    for item in items:
        name, sep, raw = item.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or name not in fields:
            near = difflib.get_close_matches(name, list(fields), n=1)
            hint = f"did you mean {near[0]}? " if near else ""
            raise UsageError(
                f"--threshold {item!r}: {hint}give NAME=VALUE with NAME one of {', '.join(fields)}"
            )
        kind = int if fields[name].type in (int, "int") else float
        try:
            values[name] = kind(raw)
        except ValueError:
            raise UsageError(
                f"--threshold {item!r}: {raw!r} is not a number ({kind.__name__})"
            ) from None
    try:
        return Thresholds(**values)
    except ValueError as exc:
        raise UsageError(f"--threshold: {exc}") from None


@app.command()
def report(
    path: Path = typer.Argument(..., help="The DAKL file to report on.", show_default=False),
    previous: Path | None = typer.Option(
        None, "--previous", help="An earlier delivery to compare with, figure by figure."
    ),
    out: Path | None = typer.Option(
        None,
        "-o",
        "--out",
        help="Where to write the HTML page; default: <file>.report.html next to the DAKL file.",
    ),
    lang: Language = typer.Option(Language.nl, "--lang", help="Language of the page and summary."),
    year: int | None = year_option(),
    reference: Path | None = reference_option(),
    show_small_counts: bool = typer.Option(
        False,
        "--show-small-counts",
        help="Show counts below 5 as they are (default: '< 5', the page gets forwarded).",
    ),
    threshold: list[str] = typer.Option(
        [],
        "--threshold",
        metavar="NAME=VALUE",
        help="Change a plausibility threshold, e.g. max_unknown_bsn_share=0.3 (repeatable).",
    ),
) -> None:
    """Write the delivery report (one self-contained HTML page) and print its summary.

    Exit 0 when the file would be accepted, 1 when it would be rejected, 2 unusable input.
    """
    check_year(year)
    thresholds = parse_thresholds(threshold)
    gemeenten = gemeenten_from(reference)
    target = out or path.with_name(f"{path.stem}.report.html")
    for source in (path, previous):
        if source is not None and target.resolve() == source.resolve():
            raise UsageError(f"-o {target}: that is a delivery file; choose another report name")
    result = build_report(
        path, previous=previous, year=year, gemeenten=gemeenten, thresholds=thresholds
    )
    html = render_html(result, lang=lang.value, suppress_small=not show_small_counts)
    try:
        write_text_atomic(target, html)
    except OSError as exc:  # read-only or special directory, disk full
        raise UsageError(
            f"-o {target}: cannot write the report ({exc.strerror or type(exc).__name__}); "
            "choose a writable place with -o"
        ) from None
    if previous is not None and result.previous_figures is None:
        typer.echo(
            f"warning: --previous {previous} is not a readable DAKL file; the report shows "
            "no comparison (P01, P04, P05 not judged)",
            err=True,
        )
    typer.echo(render_summary(result, lang.value, suppress_small=not show_small_counts))
    typer.echo(f"  {texts(lang.value)['summary_report']}: {target}")
    raise SystemExit(int(ExitCode.OK if result.accepted else ExitCode.REJECTED))
