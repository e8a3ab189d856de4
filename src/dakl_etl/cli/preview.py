"""`dakl-etl preview PIPELINE.yaml --source NAME`: canonical rows beside their source lines."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import typer

from dakl_etl.cli._app import app
from dakl_etl.config import load_pipeline
from dakl_etl.sources import load_reference, preview


@app.command("preview")
def preview_command(
    pipeline: Path = typer.Argument(..., help="The pipeline YAML."),
    source: str = typer.Option(..., "--source", help="The source to show."),
    rows: int = typer.Option(20, "--rows", min=1, help="How many rows to show."),
    problems: bool = typer.Option(
        False, "--problems", help="Only rows the mapping excludes or rejects."
    ),
) -> None:
    """Show the canonical rows one source maps to (BSN and V-nummer masked), each with the line
    or row it came from."""
    config = load_pipeline(pipeline)
    frame = preview(source, config, gemeenten=load_reference(config), rows=rows, problems=problems)
    with pl.Config(
        tbl_rows=rows,
        tbl_cols=-1,
        tbl_width_chars=240,
        fmt_str_lengths=40,
        tbl_hide_dataframe_shape=True,
        tbl_hide_column_data_types=True,
    ):
        print(frame)
