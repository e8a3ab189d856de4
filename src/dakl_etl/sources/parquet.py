"""Parquet files: scanned lazily, every column cast to text like the other kinds."""

from __future__ import annotations

import polars as pl

from dakl_etl.config import Pipeline
from dakl_etl.errors import SourceError
from dakl_etl.sources.base import RawSource, as_text, describe_file, register, require_file


@register("parquet")
class ParquetAdapter:
    def read(self, name: str, pipeline: Pipeline) -> RawSource:
        path = require_file(name, pipeline)
        frame = pl.scan_parquet(path)
        try:
            columns = tuple(frame.collect_schema().names())
        except (pl.exceptions.PolarsError, OSError) as exc:
            raise SourceError(
                f"source {name}: {path} is not a readable Parquet file ({type(exc).__name__})"
            ) from None
        return RawSource(name, as_text(frame, row_offset=1), columns)

    def describe(self, name: str, pipeline: Pipeline) -> dict:
        return describe_file(name, pipeline)
