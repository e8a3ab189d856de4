"""`dakl-etl validate`: would CBS's technical check accept these DAKL files, and if not, why."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from dakl_etl.cli._app import app
from dakl_etl.cli._common import check_year, gemeenten_from, reference_option, year_option
from dakl_etl.errors import ExitCode
from dakl_etl.validation import validate_paths
from dakl_etl.validation.render import render_json, render_text


class Format(StrEnum):
    text = "text"
    json = "json"


@app.command()
def validate(
    paths: list[Path] = typer.Argument(
        ..., help="DAKL files (.csv/.txt) or .zip files holding them.", show_default=False
    ),
    year: int | None = year_option(),
    reference: Path | None = reference_option(),
    fmt: Format = typer.Option(Format.text, "--format", help="text for people, json for machines."),
    max_examples: int = typer.Option(
        20, "--max-examples", min=0, help="Examples shown per rule; counts are always complete."
    ),
) -> None:
    """Check DAKL files as CBS's technical check would.

    Exit 0 accepted (warnings allowed), 1 rejected, 2 unusable input or arguments.
    """
    check_year(year)
    gemeenten = gemeenten_from(reference)
    reports = validate_paths(paths, year=year, gemeenten=gemeenten, max_examples=max_examples)
    render = render_json if fmt is Format.json else render_text
    typer.echo(render(reports).rstrip("\n"))
    code = ExitCode.OK if all(r.accepted for r in reports) else ExitCode.REJECTED
    raise SystemExit(int(code))
