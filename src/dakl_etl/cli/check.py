"""`dakl-etl check PIPELINE.yaml`: what would the mapping do to my sources?"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path

import typer

from dakl_etl.cli._app import app
from dakl_etl.config import load_pipeline
from dakl_etl.sources import load_reference
from dakl_etl.sources.profile import check_pipeline


class Format(StrEnum):
    text = "text"
    json = "json"


@app.command("check")
def check(
    pipeline: Path = typer.Argument(..., help="The pipeline YAML, e.g. pipelines/sample.yaml."),
    source: str | None = typer.Option(None, "--source", help="Check only this source."),
    output_format: Format = typer.Option(Format.text, "--format", help="text or json."),
    strict: bool = typer.Option(
        False,
        "--strict",
        help="Also block on unmapped labels, unparseable dates and invalid BSNs.",
    ),
    reference: Path | None = typer.Option(
        None, "--reference", help="Municipality list to use instead of the pipeline's."
    ),
) -> None:
    """Validate the pipeline, open every source and profile its mapping: unmapped labels,
    unparseable dates, invalid/unknown/repaired BSNs, exclusions. Exit 0: a run can proceed;
    1: something blocks it; 2: the configuration is wrong."""
    config = load_pipeline(pipeline)
    gemeenten = load_reference(config, str(reference) if reference else None)
    result = check_pipeline(config, gemeenten=gemeenten, only=source, strict=strict)
    if output_format is Format.json:
        print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(result.to_text())
    sys.exit(int(result.exit_code))
