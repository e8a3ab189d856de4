"""CSV / TXT exports: any delimiter; encoding given or detected (UTF-8, BOM, cp1252, latin-1)."""

from __future__ import annotations

import codecs
import mmap
import os
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
        """The file as text; `ROW` is the line on which each record starts, as an editor shows it.

        Lines are counted as a text editor numbers them: 1-based, the header is line 1 (or the
        line after the blank lines above it), a line ends at LF (CRLF is one line break; a lone
        CR is not one, as for Polars). Every record gets the line of its first character: a
        quoted field holding line breaks ("a<LF>b") makes its record span several lines, and
        the next record starts that many lines further. Blank lines between records are rows
        (of nulls) and keep their own line. The encoding does not matter: every accepted
        encoding spells LF as one byte, so lines are the same before and after re-encoding.
        """
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
        text = head.decode("utf-8", errors="replace").removeprefix("\ufeff")
        # the header: the first line that is not empty (Polars skips empty lines above it)
        header = next((line for line in text.split("\n") if line.rstrip("\r")), "")
        delimiter = config.delimiter or sniff_delimiter(header)
        # Columns of repeating values (labels, dates) are parsed straight into a dictionary
        # encoding: the mapping step interprets each distinct value once.
        frame = _scan(source, delimiter, config.quote_char, set())
        try:
            columns = tuple(c for c in frame.collect_schema().names() if c != ROW)
        except pl.exceptions.PolarsError as exc:
            raise SourceError(
                f"source {name}: cannot read {path} as CSV ({type(exc).__name__}); check "
                f"`delimiter:` and `encoding:` at {pipeline.where('sources', name)}"
            ) from None
        repeating = {
            c for f, c in config.mapped_columns().items() if f in REPEATING_FIELDS and c in columns
        }
        first, spans = _line_layout(source, delimiter, config.quote_char, head, columns)
        frame = _scan(source, delimiter, config.quote_char, repeating, first=first, spans=spans)
        return RawSource(
            name,
            frame,
            columns,
            detail=f"encoding {encoding}, delimiter {delimiter!r}",
        )

    def describe(self, name: str, pipeline: Pipeline) -> dict:
        return describe_file(name, pipeline)


def _line_layout(
    source: Path | bytes,
    delimiter: str,
    quote_char: str | None,
    head: bytes,
    columns: tuple[str, ...],
) -> tuple[int, bool]:
    """(line of the first record, whether some record spans more than one line).

    A record can only span lines through a quoted line break: in a file without the quote
    character (most exports), none does, which one scan for that byte tells. Otherwise
    Polars counts the records once with quoting and once without (i.e. the lines), without
    parsing fields; only when they differ does `_scan` count the line breaks inside the
    values. Blank lines above the header (Polars skips them) and a header name holding a line
    break move the first record down.
    """
    blank_above = head.removeprefix(codecs.BOM_UTF8)[:1] in (b"\n", b"\r")
    # None or "": no quoting, every line break ends a record
    quoting = bool(quote_char) and _holds(source, (quote_char or "").encode())
    try:
        # One `collect` each: `pl.collect_all` (Polars 2.1) gives scans of one file that differ
        # only in `quote_char` the same result.
        records = _count(source, delimiter, quote_char) if quoting or blank_above else 0
        spans = quoting and records != _count(source, delimiter, None)
        leading = 0
        if blank_above:  # `records` counted them, and the header
            leading = records - _count(source, delimiter, quote_char, header=True) - 1
    except pl.exceptions.PolarsError:
        return 2, False  # unreadable: the read itself reports it
    return 2 + leading + sum(c.count("\n") for c in columns), spans


def _holds(source: Path | bytes, needle: bytes) -> bool:
    """Whether `needle` occurs in the file: one scan of the mapped file at memory speed,
    instead of the two record counts (each a pass of Polars' CSV line counter). A file that
    cannot be mapped (a pipe, a file system without mmap) may hold it: the counts decide."""
    if isinstance(source, bytes):
        return needle in source
    try:
        with source.open("rb") as handle:
            if os.fstat(handle.fileno()).st_size == 0:  # cannot be mapped, holds nothing
                return False
            with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as view:
                return view.find(needle) >= 0
    except (OSError, ValueError):
        return True


def _count(
    source: Path | bytes, delimiter: str, quote_char: str | None, *, header: bool = False
) -> int:
    """Records in the file (lines when `quote_char` is None); with `header`, after the header."""
    frame = pl.scan_csv(
        source, separator=delimiter, quote_char=quote_char, has_header=header, infer_schema=False
    )
    return frame.select(pl.len()).collect().item()


def _scan(
    source: Path | bytes,
    delimiter: str,
    quote_char: str | None,
    categorical: set[str],
    *,
    first: int = 2,
    spans: bool = False,
) -> pl.LazyFrame:
    """The file as text with `ROW`: `first` + the record's index, or where records can span
    lines (`spans`), that plus the line breaks inside the values of all records before it."""
    frame = pl.scan_csv(
        source,
        separator=delimiter,
        quote_char=quote_char,
        infer_schema=False,
        schema_overrides=dict.fromkeys(categorical, pl.Categorical),
        encoding="utf8",
        row_index_name=ROW,
        row_index_offset=first,
    )
    if not spans:
        return frame.with_columns(pl.col(ROW).cast(pl.Int64))
    # Vectorised, and only for files that need it: every column must then be read. Two steps:
    # one expression holding both the sum and its `cum_sum` is a third slower (Polars 2.1).
    breaks = f"{ROW}_breaks"
    frame = frame.with_columns(
        pl.sum_horizontal(
            pl.all().exclude(ROW).cast(pl.String).str.count_matches("\n", literal=True)
        ).alias(breaks)
    )
    ahead = pl.col(breaks).cast(pl.Int64)
    return frame.with_columns(
        (pl.col(ROW).cast(pl.Int64) + ahead.cum_sum() - ahead).alias(ROW)
    ).drop(breaks)
