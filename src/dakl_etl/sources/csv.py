"""CSV / TXT exports: any delimiter; encoding given or detected (UTF-8, BOM, cp1252, latin-1)."""

from __future__ import annotations

import codecs
from pathlib import Path

import polars as pl

from dakl_etl.config import CsvSource, Pipeline
from dakl_etl.config.models import REPEATING_FIELDS
from dakl_etl.errors import SourceError
from dakl_etl.sources.base import ROW, RawSource, describe_file, register, require_file

_DELIMITERS = (";", ",", "\t", "|")


def detect_encoding(data: bytes) -> str:
    """utf-8-sig with a BOM, utf-8 when the bytes decode, else cp1252 (latin-1 if not even that)."""
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    for encoding in ("utf-8", "cp1252"):
        try:
            data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return encoding
    return "latin-1"


def sniff_delimiter(header: str) -> str:
    """The candidate that occurs most often in the header line (`;` on a tie)."""
    counts = {d: header.count(d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ";"


@register("csv")
class CsvAdapter:
    def read(self, name: str, pipeline: Pipeline) -> RawSource:
        config: CsvSource = pipeline.sources[name]  # type: ignore[assignment]
        path = require_file(name, pipeline)
        encoding = config.encoding
        source: Path | bytes = path  # Polars reads UTF-8 files itself, and checks the bytes
        if encoding in ("utf-8", "utf-8-sig"):
            # Only the head is needed here, for the delimiter.
            with path.open("rb") as handle:
                head = handle.read(1 << 16)
        else:
            data = path.read_bytes()
            if encoding == "auto":
                encoding = "utf-8" if data.isascii() else detect_encoding(data)
            head = data[: 1 << 16]
            if encoding not in ("utf-8", "utf-8-sig"):
                try:
                    text = data.decode(encoding)
                except UnicodeDecodeError as exc:
                    raise SourceError(
                        f"source {name}: {path} is not {encoding} (byte {exc.start}); set "
                        f"`encoding:` at {pipeline.where('sources', name, 'encoding')} to "
                        "auto, cp1252 or latin-1"
                    ) from None
                # Polars reads UTF-8 only: other encodings are handed over re-encoded.
                source = text.encode()
                head = source[: 1 << 16]
                del text
            del data
        first_line = head.decode("utf-8", errors="replace").removeprefix("\ufeff").split("\n")[0]
        delimiter = config.delimiter or sniff_delimiter(first_line)
        # Columns of repeating values (labels, dates) are parsed straight into a dictionary
        # encoding: the mapping step interprets each distinct value once.
        frame = _scan(source, delimiter, config.quote_char, set())
        try:
            columns = tuple(frame.collect_schema().names())
        except pl.exceptions.PolarsError as exc:
            raise SourceError(
                f"source {name}: cannot read {path} as CSV ({type(exc).__name__}); check "
                f"`delimiter:` and `encoding:` at {pipeline.where('sources', name)}"
            ) from None
        repeating = {
            c for f, c in config.mapped_columns().items() if f in REPEATING_FIELDS and c in columns
        }
        frame = _scan(source, delimiter, config.quote_char, repeating)
        return RawSource(
            name,
            frame,
            tuple(c for c in columns if c != ROW),
            detail=f"encoding {encoding}, delimiter {delimiter!r}",
        )

    def describe(self, name: str, pipeline: Pipeline) -> dict:
        return describe_file(name, pipeline)


def _scan(
    source: Path | bytes, delimiter: str, quote_char: str | None, categorical: set[str]
) -> pl.LazyFrame:
    frame = pl.scan_csv(
        source,
        separator=delimiter,
        quote_char=quote_char,
        infer_schema=False,
        schema_overrides=dict.fromkeys(categorical, pl.Categorical),
        encoding="utf8",
        row_index_name=ROW,
        row_index_offset=2,  # header is line 1
    )
    return frame.with_columns(pl.col(ROW).cast(pl.Int64))
