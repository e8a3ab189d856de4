"""The DAKL writer: it can only produce files that pass the validator.

Format (RULES.md): UTF-8 without BOM, `;`, CRLF after every line including the last, empty
optional fields, Aanmaakdatum YYYYMMDDHHMM in Europe/Amsterdam time on every row. The bytes are
validated before the atomic rename, so an invalid file is never left behind.
"""

from __future__ import annotations

import io
import re
import unicodedata
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl

from dakl_etl.errors import DaklError, ExitCode, UsageError
from dakl_etl.outputs.atomic import PRIVATE, PRIVATE_DIR, atomic_output
from dakl_etl.protocol.fields import (
    COLUMNS,
    DATE_FORMAT,
    DATETIME_FORMAT,
    FIELD_BY_KEY,
    HEADER,
    SEPARATOR,
    TIMEZONE,
    YEAR_MAX,
    YEAR_MIN,
)
from dakl_etl.protocol.findings import Report
from dakl_etl.reference import Gemeenten
from dakl_etl.validation import validate_written

LINE_END = "\r\n"  # Decision (RULES.md): CRLF, Notepad's and Excel's default
FREE_TEXT_MAX = 60


class DeliveryRejected(DaklError):
    """The rows would not pass validation; nothing was written. `.report` says why."""

    exit_code = ExitCode.REJECTED

    def __init__(self, name: str, report: Report) -> None:
        self.report = report
        summary = ", ".join(
            f"{code} ×{n}" + _first_line(report, code)
            for code, n in sorted(report.error_counts.items())
            if n
        )
        super().__init__(
            f"{name} not written: {report.errors} validation error(s) ({summary}); "
            "fix the rows in the source or the mapping"
        )


def _first_line(report: Report, code: str) -> str:
    lines = [f.line for f in report.findings if f.code == code and f.line is not None]
    return f" from line {min(lines)}" if lines else ""


def dakl_file_name(year: int, free_text: str) -> str:
    """`DAKL_J{year}_{free text}.csv` with the free text made safe for F01/F02.

    Accents are dropped, anything but letters, digits and '-' becomes '_'. Raises UsageError
    when nothing usable is left.
    """
    if not isinstance(year, int) or not YEAR_MIN <= year <= YEAR_MAX:
        raise UsageError(
            f"reporting year {year!r} is not a four-digit year from {YEAR_MIN} to {YEAR_MAX}"
        )
    plain = unicodedata.normalize("NFKD", free_text or "")
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    safe = re.sub(r"[^A-Za-z0-9-]+", "_", plain).strip("_")[:FREE_TEXT_MAX].strip("_")
    if not safe:
        raise UsageError(
            f"file name free text {free_text!r} has no letters or digits left after removing "
            "forbidden characters; give e.g. the municipality's name"
        )
    return f"DAKL_J{year}_{safe}.csv"


def _aanmaakdatum(created_at: datetime) -> str:
    """YYYYMMDDHHMM in Dutch local time; a naive datetime is taken as Dutch local time."""
    zone = ZoneInfo(TIMEZONE)
    local = created_at.astimezone(zone) if created_at.tzinfo else created_at
    return local.strftime(DATETIME_FORMAT)


#: Dates spanning at most this many days are formatted by a table look-up (a row's date is
#: an index into the table of the days from the earliest to the latest).
_DATE_TABLE_DAYS = 1 << 16
_EPOCH = date(1970, 1, 1)


def _as_text(frame: pl.DataFrame, key: str) -> pl.Expr:
    col = pl.col(key)
    if FIELD_BY_KEY[key].kind == "date":
        col = _date_text(frame.get_column(key).cast(pl.Date))
    return col.cast(pl.String).fill_null("")


def _date_text(dates: pl.Series) -> pl.Expr:
    """`dates` as YYYYMMDD text. A file's dates are a few thousand distinct days on a million
    rows: each day is formatted once and looked up, instead of formatted on every row."""
    first, last = dates.min(), dates.max()
    if not (isinstance(first, date) and isinstance(last, date)) or (
        (last - first).days >= _DATE_TABLE_DAYS  # a table too big to be worth it
    ):
        return pl.lit(dates).dt.strftime(DATE_FORMAT)
    table = pl.date_range(first, last, eager=True).dt.strftime(DATE_FORMAT)
    offset = dates.cast(pl.Int32) - (first - _EPOCH).days
    return pl.lit(table).gather(pl.lit(offset))


def format_dakl(frame: pl.DataFrame, created_at: datetime) -> pl.DataFrame:
    """The rows as they will be written: `line` (from 2, after the header) + nine text columns.

    `frame` has `gemeentecode`, `bsn`, `type_opvang`, `reden`, `v_nummer` (str) and
    `datum_melding`, `startdatum`, `einddatum` (Date); nulls become empty fields.
    """
    keys = [k for k in COLUMNS if k != "aanmaakdatum"]
    missing = [k for k in keys if k not in frame.columns]
    if missing:
        raise ValueError(f"format_dakl: frame lacks column(s) {', '.join(missing)}")
    dates = [k for k in keys if FIELD_BY_KEY[k].kind == "date"]
    wrong = [k for k in dates if frame.schema[k] not in (pl.Date, pl.Datetime)]
    if wrong:
        raise ValueError(f"format_dakl: column(s) {', '.join(wrong)} must be Date")
    stamp = _aanmaakdatum(created_at)
    return frame.select(
        pl.int_range(2, pl.len() + 2, dtype=pl.Int64).alias("line"),
        pl.lit(stamp).alias("aanmaakdatum"),
        *(_as_text(frame, k).alias(k) for k in keys),
    )


def dakl_bytes(rows: pl.DataFrame) -> bytes:
    """Header and rows (as from `format_dakl`) in the exact DAKL byte format.

    Polars' CSV writer, never quoting: every value goes out as it is, as the validator reads
    it (a value that would need quotes is a finding there, not something to hide here).
    """
    buffer = io.BytesIO()
    buffer.write((HEADER + LINE_END).encode("utf-8"))
    rows.select(COLUMNS).write_csv(
        buffer,
        include_header=False,
        separator=SEPARATOR,
        line_terminator=LINE_END,
        quote_style="never",
        null_value="",
    )
    return buffer.getvalue()


def write_dakl(
    frame: pl.DataFrame,
    directory: str | Path,
    year: int,
    free_text: str,
    created_at: datetime,
    *,
    gemeenten: Gemeenten | None = None,
) -> Path:
    """Write the DAKL file of `year` into `directory` (mode 0600) and return its path.

    Raises DeliveryRejected, writing nothing, when the file would not validate.
    """
    name = dakl_file_name(year, free_text)
    rows = format_dakl(frame, created_at)
    data = dakl_bytes(rows)
    report = validate_written(rows, data, name, year=year, gemeenten=gemeenten, max_examples=5)
    if not report.accepted:
        raise DeliveryRejected(name, report)
    directory = Path(directory)
    target = directory / name
    try:
        directory.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
        with atomic_output(target, mode=PRIVATE) as handle:
            handle.write(data)
    except OSError as exc:
        raise UsageError(
            f"{target}: cannot write the DAKL file ({exc.strerror or type(exc).__name__}); "
            "check that the output directory exists, is writable and has space"
        ) from None
    return target
