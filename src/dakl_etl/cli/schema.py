"""`dakl-etl schema`: the JSON Schema of the pipeline YAML (for editors and tools)."""

from __future__ import annotations

from pathlib import Path

import typer

from dakl_etl.cli._app import app
from dakl_etl.config.schema import pipeline_json_schema_text
from dakl_etl.outputs.atomic import write_bytes_atomic


@app.command("schema")
def schema(
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write to this file instead of printing it."
    ),
) -> None:
    """Print the JSON Schema of the pipeline format (docs/pipeline.schema.json is this output)."""
    text = pipeline_json_schema_text()
    if output is None:
        print(text, end="")
    else:
        write_bytes_atomic(output, text.encode(), mode=0o644)
