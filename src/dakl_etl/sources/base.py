"""One interface for every source kind: read a system into a frame of text, registered by name.

An adapter only reads: every column as text (`pl.String`) plus `ROW` (the 1-based line or row
in the original, as a person finds it). Meaning comes later, in `mapping`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import polars as pl

from dakl_etl.config import Pipeline
from dakl_etl.errors import SourceError

#: Lineage column every adapter adds: line the record starts on (CSV, header = 1) / sheet row /
#: result row.
ROW = "__source_row"


@dataclass(frozen=True)
class RawSource:
    """A source as text: `frame` holds `columns` (all String) and `ROW` (Int64)."""

    name: str
    frame: pl.LazyFrame
    columns: tuple[str, ...]
    detail: str = ""  # e.g. "encoding cp1252, delimiter ';'" for the check report


class Adapter(Protocol):
    def read(self, name: str, pipeline: Pipeline) -> RawSource: ...

    def describe(self, name: str, pipeline: Pipeline) -> dict: ...


ADAPTERS: dict[str, Adapter] = {}


def register(kind: str) -> Callable[[type], type]:
    """Class decorator: the adapter for `kind:` in the pipeline YAML."""

    def add(cls: type) -> type:
        ADAPTERS[kind] = cls()
        return cls

    return add


def require_file(name: str, pipeline: Pipeline) -> Path:
    path: Path = pipeline.sources[name].path  # type: ignore[union-attr]
    if not path.exists():
        raise SourceError(
            f"source {name}: file {path} not found; fix `path:` at "
            f"{pipeline.where('sources', name, 'path')}"
        )
    if not path.is_file():
        raise SourceError(f"source {name}: {path} is not a file; `path:` must name a file")
    return path


def input_size(name: str, pipeline: Pipeline) -> int:
    """Bytes of the source's file; 0 for a source without one (a database) or a file that
    cannot be seen (reading it reports why)."""
    path = getattr(pipeline.sources[name], "path", None)
    try:
        return path.stat().st_size if isinstance(path, Path) and path.is_file() else 0
    except OSError:
        return 0


def sha256_of(path: str | Path) -> str:
    """Hex sha256 of a file, read in chunks (inputs and outputs in the manifest)."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def describe_file(name: str, pipeline: Pipeline) -> dict:
    source = pipeline.sources[name]
    path: Path = source.path  # type: ignore[union-attr]
    return {
        "name": name,
        "kind": source.kind,
        "granularity": source.granularity,
        "path": str(path),
        "sha256": sha256_of(path) if path.is_file() else None,
    }


def as_text(frame: pl.LazyFrame, row_offset: int) -> pl.LazyFrame:
    """Every column cast to text, with the lineage row number (0-based index + offset)."""
    return (
        frame.select(pl.all().cast(pl.String))
        .with_row_index(ROW, offset=row_offset)
        .with_columns(pl.col(ROW).cast(pl.Int64))
    )
