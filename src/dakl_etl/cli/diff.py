"""`dakl-etl diff OLD NEW`: what changed between two deliveries of the same year."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from dakl_etl.api import diff_files
from dakl_etl.cli._app import app
from dakl_etl.validation.filename import year_from_name


class DiffFormat(StrEnum):
    text = "text"
    json = "json"


@app.command(
    "diff",
    help=(
        "Compare two DAKL files of the same year: rows and persons added, removed and changed, "
        "per TypeOpvang and gemeente, with a few examples (BSN and V-nummer masked). A row is "
        "the same episode when person, TypeOpvang, gemeentecode and Startdatum match; "
        "Aanmaakdatum is ignored.\n\nExit codes: 0 compared, 2 a file cannot be read as DAKL."
    ),
)
def diff_command(
    old: Annotated[Path, typer.Argument(help="The earlier DAKL file.", show_default=False)],
    new: Annotated[Path, typer.Argument(help="The later DAKL file.", show_default=False)],
    fmt: Annotated[
        DiffFormat, typer.Option("--format", help="text for people, json for machines.")
    ] = DiffFormat.text,
    examples: Annotated[
        int, typer.Option("--examples", min=0, help="Masked example rows per kind of change.")
    ] = 3,
) -> None:
    diff = diff_files(old, new, examples=examples)
    years = {year_from_name(old.name), year_from_name(new.name)}
    if None not in years and len(years) > 1:
        typer.echo(
            f"note: {old.name} and {new.name} are of different reporting years; rows differ "
            "by design (clamped ends, episodes of one year only)",
            err=True,
        )
    if fmt is DiffFormat.json:
        typer.echo(json.dumps({"old": str(old), "new": str(new), **diff.to_dict()}, indent=2))
    else:
        typer.echo(f"{old} -> {new}")
        typer.echo("\n".join(diff.lines()))
