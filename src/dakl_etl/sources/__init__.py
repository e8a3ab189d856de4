"""Source adapters: read a registration system into the canonical frame.

`read_source` is the one door the run uses: adapter (by `kind:`) -> text frame -> mapping ->
`canonical.SCHEMA`. The source is read completely here, so a failure is reported naming the
source instead of surfacing later inside someone else's `collect()`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import polars as pl

from dakl_etl.config import Pipeline
from dakl_etl.errors import ConfigError, DaklError, SourceError, UsageError
from dakl_etl.protocol.privacy import mask_expr, mask_if_digit_run
from dakl_etl.reference import Gemeenten, ReferenceError, load_gemeenten
from dakl_etl.sources import csv, excel, parquet, sql  # noqa: F401  (register the adapters)
from dakl_etl.sources.base import ADAPTERS, RawSource, input_size
from dakl_etl.sources.mapping import map_source, to_canonical

__all__ = [
    "ADAPTERS",
    "RawSource",
    "describe_source",
    "input_size",
    "load_reference",
    "open_source",
    "preview",
    "read_source",
    "read_sources",
    "read_wide",
]


def open_source(name: str, pipeline: Pipeline) -> RawSource:
    """The source as text (every column String, plus the lineage row), not yet mapped."""
    if name not in pipeline.sources:
        raise UsageError(
            f"{pipeline.path}: no source {name!r}; sources: {', '.join(pipeline.sources)}"
        )
    return ADAPTERS[pipeline.sources[name].kind].read(name, pipeline)


def read_wide(
    name: str,
    pipeline: Pipeline,
    *,
    gemeenten: Gemeenten,
    source: RawSource | None = None,
    on_loaded: Callable[[], None] | None = None,
) -> pl.DataFrame:
    """The mapped frame with the raw texts beside it (what `check` profiles).

    `source`: an already opened source, so a caller that needs its details reads it once.
    `on_loaded`: called once the rows are in memory, before they are mapped.
    """
    source = source or open_source(name, pipeline)
    try:
        return map_source(source, pipeline, gemeenten, on_loaded=on_loaded)
    except DaklError:
        raise
    except (pl.exceptions.PolarsError, OSError) as exc:
        # Polars' text may quote a line of the file (a BSN): name the kind of failure only.
        raise SourceError(
            f"source {name}: reading failed ({type(exc).__name__}) {_hint(exc)}; check "
            f"{pipeline.where('sources', name)}"
        ) from None


def _hint(exc: Exception) -> str:
    text = str(exc).lower()
    if "fields" in text or "ragged" in text or "column" in text:
        return "— a line has more fields than the header (wrong `delimiter:` or quoting?)"
    if "utf-8" in text or "utf8" in text:
        return "— the bytes are not valid UTF-8 (set `encoding:`)"
    return ""


def read_source(
    name: str,
    pipeline: Pipeline,
    *,
    gemeenten: Gemeenten,
    on_loaded: Callable[[], None] | None = None,
) -> pl.LazyFrame:
    """The canonical frame of one source (`canonical.SCHEMA`, every input row present).

    `on_loaded`: called once the rows are in memory, before they are mapped (a caller reading
    sources side by side can start the next one then).
    """
    return to_canonical(read_wide(name, pipeline, gemeenten=gemeenten, on_loaded=on_loaded))


def read_sources(pipeline: Pipeline, *, gemeenten: Gemeenten) -> dict[str, pl.LazyFrame]:
    return {name: read_source(name, pipeline, gemeenten=gemeenten) for name in pipeline.sources}


def describe_source(name: str, pipeline: Pipeline) -> dict:
    """For the manifest: kind, path or URL without credentials, sha256 of file inputs."""
    return ADAPTERS[pipeline.sources[name].kind].describe(name, pipeline)


def load_reference(pipeline: Pipeline, override: str | None = None) -> Gemeenten:
    """The municipality list the pipeline names (or `override`), else the shipped one."""
    path = override or pipeline.delivery.reference
    try:
        return load_gemeenten(path)
    except ReferenceError as exc:
        where = pipeline.where("delivery", "reference") if path and not override else ""
        raise ConfigError(f"{where + ': ' if where else ''}{exc}") from None


def preview(
    name: str,
    pipeline: Pipeline,
    *,
    gemeenten: Gemeenten,
    rows: int = 20,
    problems: bool = False,
) -> pl.DataFrame:
    """Canonical rows next to their source line, personal numbers masked, for a person to read.

    A client id is masked too when it looks like a BSN (some systems use it as their key).
    `problems` keeps only rows that are excluded or rejected.
    """
    source = open_source(name, pipeline)
    if not problems:  # each row maps on its own: the first rows need only the first lines
        source = dataclasses.replace(source, frame=source.frame.head(rows))
    frame = to_canonical(read_wide(name, pipeline, gemeenten=gemeenten, source=source))
    if problems:
        frame = frame.filter(pl.col("excluded").is_not_null() | pl.col("reject_code").is_not_null())
    return (
        frame.head(rows)
        .with_columns(
            mask_expr("bsn").alias("bsn"),
            mask_expr("v_nummer").alias("v_nummer"),
            mask_if_digit_run("client_id").alias("client_id"),
        )
        .drop("source", "granularity")
        .collect()
    )
