"""Validating a DAKL file from its raw bytes: file rules on the lines, row rules on the fields.

The bytes are read once; lines and fields are Polars string columns, so every value stays text
(`0363` stays `0363`) and a 1M-row file is checked in about a second.
"""

from __future__ import annotations

import codecs
import re
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath

import polars as pl

from dakl_etl.errors import UsageError
from dakl_etl.protocol.fields import (
    ACCEPTED_HEADER_NAMES,
    COLUMNS,
    FIELDS,
    HEADER,
    N_FIELDS,
    SEPARATOR,
    normalise_header_name,
)
from dakl_etl.protocol.findings import Finding, Report
from dakl_etl.protocol.rules import Severity
from dakl_etl.reference import Gemeenten, ReferenceError, load_gemeenten
from dakl_etl.validation.filename import check_name, year_from_name
from dakl_etl.validation.messages import shown
from dakl_etl.validation.rows import as_text, check_rows, context, finish

BOM = b"\xef\xbb\xbf"
#: A first line that is data, not a header: an Aanmaakdatum's 12 digits in field 1.
_DATA_FIRST_FIELD = re.compile(FIELDS[0].regex)
_ZIP_JUNK = ("__MACOSX/", ".DS_Store")


def default_gemeenten() -> Gemeenten:
    try:
        return load_gemeenten()
    except ReferenceError as exc:
        raise UsageError(f"{exc}; reinstall dakl-etl or give --reference FILE") from None


def validate_bytes(
    data: bytes,
    name: str,
    *,
    year: int | None = None,
    gemeenten: Gemeenten | None = None,
    max_examples: int = 20,
    display_name: str | None = None,
) -> Report:
    """Validate the bytes of one DAKL file whose base name is `name`."""
    report, _ = _validate(data, name, year, gemeenten, max_examples, display_name, keep=False)
    return report


def validate_written(
    rows: pl.DataFrame,
    data: bytes,
    name: str,
    *,
    year: int,
    gemeenten: Gemeenten | None = None,
    max_examples: int = 20,
) -> Report:
    """`validate_bytes(data, name, ...)` for bytes a writer made of `rows` (`line` + the nine
    fields as text), without splitting them into lines and fields again.

    When the bytes are the header and one line per row, each line the row's values joined by
    `;` — which three counts of separators and line ends confirm: no value holds one, so every
    line has nine fields, no line is empty, and its fields are the row's values — the rules on
    encoding, header, field count and line ends have nothing to find, and the report is the
    file name's findings and the row rules judged on `rows` as they are. Otherwise (no rows, or
    a value holding a separator or line break) the bytes are validated as they are.
    """
    n = rows.height
    lines = n + 1  # the header and the rows
    head = HEADER.encode()
    # the line end the writer used, as after the header; CRLF counts as one break
    crlf = data.startswith(head + b"\r\n")
    plain = (
        n > 0
        and (crlf or data.startswith(head + b"\n"))
        and data.count(b"\n") == lines
        and data.count(b"\r") == (lines if crlf else 0)
        and data.count(SEPARATOR.encode()) == (N_FIELDS - 1) * lines
    )
    if not plain:
        return validate_bytes(data, name, year=year, gemeenten=gemeenten, max_examples=max_examples)
    report = Report(file=name, year=year, rows=n)
    _add(report, check_name(name, year))
    ctx = context(year, gemeenten or default_gemeenten())
    check_rows(as_text(rows).lazy(), report, ctx=ctx, max_examples=max_examples)
    return finish(report, max_examples)


def _validate(
    data: bytes,
    name: str,
    year: int | None,
    gemeenten: Gemeenten | None,
    max_examples: int,
    display_name: str | None,
    *,
    keep: bool,
) -> tuple[Report, pl.DataFrame | None]:
    """The report, and with `keep` the rows as text when the file is readable as DAKL."""
    gemeenten = gemeenten or default_gemeenten()
    report = Report(file=display_name or name, year=None, rows=0)
    _add(report, check_name(name, year))
    year = year if year is not None else year_from_name(name)
    report.year = year
    if year is None:
        _note(
            report,
            "F01",
            "warning",
            "no reporting year in the file name and none given (--year): "
            "R04's year, R12 and R15 were not judged",
        )
    if not data:
        _note(report, "F07", "error", "the file is empty: no header and no data rows")
        return finish(report, max_examples), None

    lines = _lines(data, report, max_examples)
    good = _split(lines, report, max_examples)
    del lines
    rows = None
    if keep and _unreadable(report) is None:
        rows = as_text(_fields(good.lazy()).collect())
    _check_lines(good, report, context(year, gemeenten), max_examples, rows)
    return finish(report, max_examples), rows


def _unreadable(report: Report) -> Finding | None:
    """The first finding that makes a file unreadable as DAKL rows (encoding, header, fields)."""
    for code in ("F03", "F04", "F05"):
        if report.error_counts[code]:
            return next(f for f in report.findings if f.code == code and f.severity == "error")
    return None


def _add(report: Report, findings: list[Finding]) -> None:
    """Add findings that arrive one by one (`finish` applies the cap)."""
    for f in findings:
        report.add(f.code, f.severity, 1, [f])


def _note(
    report: Report, code: str, severity: Severity, message: str, *, line: int | None = None
) -> None:
    _add(report, [Finding(code, severity, message, line=line)])


def _utf8(data: bytes, report: Report) -> tuple[bytes, bool]:
    """The bytes without BOM, with undecodable bytes replaced by U+FFFD; True if there were any."""
    if data.startswith(BOM):
        _note(
            report,
            "F03",
            "warning",
            "the file starts with a UTF-8 byte-order mark (BOM, Excel's 'CSV UTF-8'); "
            "accepted, but better saved without",
            line=1,
        )
        data = data[len(BOM) :]
    if _is_utf8(data):
        return data, False
    return data.decode("utf-8", errors="replace").encode("utf-8"), True


def _is_utf8(data: bytes, chunk: int = 1 << 22) -> bool:
    """Strict UTF-8 check in 4 MB steps, so no second copy of a big file is made."""
    if data.isascii():  # one vectorised scan; most DAKL files hold digits and `;` only
        return True
    chunk = max(chunk, 4)  # a step always ends within 3 bytes of a whole character
    view = memoryview(data)
    position = 0
    try:
        while len(data) - position > chunk:
            _, used = codecs.utf_8_decode(view[position : position + chunk], "strict", False)
            position += used
        codecs.utf_8_decode(view[position:], "strict", True)
    except UnicodeDecodeError:
        return False
    return True


def _lines(data: bytes, report: Report, max_examples: int) -> pl.DataFrame:
    """Physical lines (endings removed) with their 1-based number; F03, F06 and F07 judged."""
    data, damaged = _utf8(data, report)
    lines = pl.read_lines(data, name="text", row_index_name="line", row_index_offset=1)
    lines = lines.with_columns(pl.col("line").cast(pl.Int64))
    if damaged:
        bad = lines.filter(pl.col("text").str.contains("\ufffd", literal=True))["line"]
        examples = [
            Finding(
                "F03",
                "error",
                "line has bytes that are not UTF-8 (saved as ANSI/Windows-1252?); save the "
                "file as UTF-8",
                line=int(n),
            )
            for n in bad.head(max_examples)
        ]
        report.add("F03", "error", max(bad.len(), 1), examples)
    _check_line_endings(data, lines.height, report)
    blank = lines.filter(pl.col("text").str.contains(r"^\s*$"))
    if blank.height:
        examples = [
            Finding("F07", "error", "empty line", line=int(n))
            for n in blank["line"].head(max_examples)
        ]
        report.add("F07", "error", blank.height, examples)
        lines = lines.filter(~pl.col("text").str.contains(r"^\s*$"))
    return lines


def _check_line_endings(data: bytes, n_lines: int, report: Report) -> None:
    """F06 from the raw bytes: cheap counts, a search only when the endings are mixed.

    `n_lines`: the lines `pl.read_lines` split `data` into, at every LF; one more than the
    LFs when the last line has none.
    """
    n_lf = n_lines - (0 if not data or data.endswith(b"\n") else 1)
    if n_lf == 0 and b"\r" in data:
        _note(
            report,
            "F06",
            "warning",
            "the line breaks are CR only (old Mac format), so the file reads as one line; "
            "save it with CRLF or LF line breaks",
            line=1,
        )
        return
    if not data.endswith(b"\n"):
        _note(report, "F06", "warning", "the last line has no line break after it", line=n_lines)
    n_crlf = data.count(b"\r\n")
    if 0 < n_crlf < n_lf:
        first = data.find(b"\n")
        first_crlf = first > 0 and data[first - 1] == ord("\r")
        if first_crlf:
            other = re.search(b"(?<!\r)\n", data)
            position = other.start() if other else len(data)
        else:
            position = data.find(b"\r\n")
        kinds = ("LF", "CRLF")
        differ = n_lf - n_crlf if first_crlf else n_crlf
        _note(
            report,
            "F06",
            "warning",
            f"mixed line endings: this line ends with {kinds[not first_crlf]} where "
            f"line 1 ends with {kinds[first_crlf]} ({differ} lines differ)",
            line=data.count(b"\n", 0, position) + 1,
        )


def _split(lines: pl.DataFrame, report: Report, max_examples: int) -> pl.DataFrame:
    """Header check (F04), field count (F05), and the data rows split into nine text fields."""
    counted = lines.with_columns(seps=pl.col("text").str.count_matches(SEPARATOR, literal=True))
    first_is_line_1 = counted.height > 0 and counted["line"][0] == 1
    data = counted.slice(1) if first_is_line_1 else counted  # lines are in order, each once
    if first_is_line_1:
        header = counted.row(0, named=True)
        if _check_header(header["text"], header["seps"], report):
            data = counted  # no header: line 1 is data and judged as such
    report.rows = data.height

    wrong = data.filter(pl.col("seps") != N_FIELDS - 1)
    if wrong.height:
        examples = [
            Finding("F05", "error", _field_count_message(text, seps), line=int(line))
            for line, text, seps in wrong.head(max_examples)
            .select("line", "text", "seps")
            .iter_rows()
        ]
        report.add("F05", "error", wrong.height, examples)
        report.rows_with_errors += wrong.height
    if data.height == 0:
        _note(report, "F07", "error", "the file has no data rows")
    good = data.filter(pl.col("seps") == N_FIELDS - 1) if wrong.height else data
    return good.select("line", "text")


def _fields(lines: pl.LazyFrame) -> pl.LazyFrame:
    """`line` + the nine fields as text, from lines that have exactly nine."""
    return lines.select(
        "line",
        pl.col("text")
        .str.split_exact(SEPARATOR, N_FIELDS - 1)
        .struct.rename_fields(list(COLUMNS))
        .alias("_fields"),
    ).unnest("_fields")


def _check_lines(
    good: pl.DataFrame, report: Report, ctx, max_examples: int, rows: pl.DataFrame | None = None
) -> None:
    """Row rules on well-formed data lines; F08 and F09 read cheap views of the lines.

    `rows`: the lines already split into fields, when the caller needs them anyway.
    """
    if good.height == 0:
        return
    text = pl.col("text")
    aanmaakdatum = good.lazy().select(
        "line", text.str.slice(0, text.str.find(SEPARATOR, literal=True)).alias("aanmaakdatum")
    )
    # Hashes of whole lines, sorted, find duplicate candidates in little memory (a hash table
    # over a million rows costs far more); rows.py then compares the candidates exactly.
    hashes = good.select(text.hash())["text"]
    in_order = hashes.sort()
    repeated = in_order.filter(in_order == in_order.shift(1)).unique()
    candidates = _fields(good.lazy().filter(hashes.is_in(repeated.implode()))).collect()
    check_rows(
        rows.lazy() if rows is not None else _fields(good.lazy()),
        report,
        ctx=ctx,
        max_examples=max_examples,
        aanmaakdatum=aanmaakdatum,
        duplicates=candidates,
    )


def _field_count_message(text: str, seps: int) -> str:
    fields = seps + 1
    if seps == N_FIELDS and text.endswith(SEPARATOR):
        return f"{fields} fields, expected {N_FIELDS}: remove the ';' after the last field"
    if seps == 0 and ("," in text or "\t" in text):
        sep = "','" if "," in text else "a tab"
        return f"no ';' on this line: the separator seems to be {sep}; use ';'"
    return f"{fields} fields, expected {N_FIELDS} (8 semicolons)"


def _check_header(text: str, seps: int, report: Report) -> bool:
    """F04 on line 1; True when line 1 is data (header missing)."""
    if _DATA_FIRST_FIELD.fullmatch(text.split(SEPARATOR, 1)[0]):
        _note(
            report,
            "F04",
            "error",
            "header missing: line 1 holds data; put the header "
            f"'{FIELDS[0].name};…;{FIELDS[-1].name}' above it",
            line=1,
        )
        return True
    if seps != N_FIELDS - 1:
        binary = "\x00" in text or "\ufffd" in text
        _note(
            report,
            "F04",
            "error",
            f"the header has {seps + 1} columns, expected {N_FIELDS} (8 semicolons)"
            + ("; it holds binary bytes: is this a DAKL text file?" if binary else ""),
            line=1,
        )
        return False
    names = text.split(SEPARATOR)
    found = []
    for spec, name, accepted in zip(FIELDS, names, ACCEPTED_HEADER_NAMES, strict=True):
        if normalise_header_name(name) not in accepted:
            value = shown(spec.key, name) if any(c.isdigit() for c in name) else name
            found.append(
                Finding(
                    "F04",
                    "warning",
                    f"header column {spec.position} is '{value}', expected '{spec.name}' "
                    "(CBS reads by position; check the column order)",
                    line=1,
                    column=spec.position,
                    field=spec.name,
                    value=value,
                )
            )
    _add(report, found)
    return False


# --- files, zips, paths -------------------------------------------------------------------


def _check_path(path: Path) -> None:
    if not path.exists():
        raise UsageError(f"{path}: no such file")
    if path.is_dir():
        raise UsageError(f"{path} is a directory; give a DAKL file (.csv/.txt) or a .zip")


def _read(path: Path) -> bytes:
    _check_path(path)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read ({exc.strerror or type(exc).__name__})") from None


#: A 1M-row DAKL file is about 60 MB; this only stops zip bombs (members are read in memory).
MAX_ZIP_MEMBER_BYTES = 2 * 2**30


def _zip_members(path: Path) -> Iterator[tuple[str, bytes]]:
    """(member name, bytes) of the DAKL files in a zip; UsageError when there are none."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = [
                m
                for m in archive.infolist()
                if not m.is_dir()
                and not any(j in m.filename for j in _ZIP_JUNK)
                and not PurePosixPath(m.filename).name.startswith(".")
            ]
            dakl = [
                m
                for m in members
                if PurePosixPath(m.filename).suffix.lower() in (".csv", ".txt")
                or PurePosixPath(m.filename).name.upper().startswith("DAKL")
            ]
            if not dakl:
                raise UsageError(
                    f"{path}: the zip holds no DAKL file (.csv/.txt); "
                    f"members: {', '.join(m.filename for m in members[:5]) or 'none'}"
                )
            too_big = [m for m in dakl if m.file_size > MAX_ZIP_MEMBER_BYTES]
            if too_big:
                raise UsageError(
                    f"{path}: member {too_big[0].filename} unpacks to "
                    f"{too_big[0].file_size / 2**30:.1f} GiB, over the "
                    f"{MAX_ZIP_MEMBER_BYTES // 2**30} GiB a DAKL file can reasonably have; "
                    "validate the unpacked file instead"
                )
            for member in dakl:
                yield member.filename, archive.read(member)
    except zipfile.BadZipFile:
        raise UsageError(f"{path}: not a readable zip file") from None
    except RuntimeError as exc:  # encrypted members
        raise UsageError(
            f"{path}: cannot read the zip ({exc}); zip it without a password"
        ) from None
    except (OSError, EOFError, zipfile.LargeZipFile, NotImplementedError) as exc:
        raise UsageError(f"{path}: cannot read the zip ({type(exc).__name__})") from None


def _is_zip(path: Path) -> bool:
    return path.suffix.lower() == ".zip"


def validate_file(
    path: str | Path,
    *,
    year: int | None = None,
    gemeenten: Gemeenten | None = None,
    max_examples: int = 20,
    display_name: str | None = None,
) -> Report:
    """Validate one DAKL file (or a zip holding exactly one). Raises UsageError when unusable."""
    path = Path(path)
    if _is_zip(path):
        reports = validate_paths([path], year=year, gemeenten=gemeenten, max_examples=max_examples)
        if len(reports) != 1:
            raise UsageError(f"{path}: the zip holds {len(reports)} DAKL files; use validate_paths")
        return reports[0]
    data = _read(path)
    return validate_bytes(
        data,
        path.name,
        year=year,
        gemeenten=gemeenten,
        max_examples=max_examples,
        display_name=display_name or str(path),
    )


def validate_paths(
    paths: Iterable[str | Path],
    *,
    year: int | None = None,
    gemeenten: Gemeenten | None = None,
    max_examples: int = 20,
    display_name: str | None = None,
) -> list[Report]:
    """One report per DAKL file; a `.zip` gives one per DAKL member. All paths are checked
    for existence first, so a typo in the last one fails before any work is done."""
    paths = [Path(p) for p in paths]
    for path in paths:
        _check_path(path)
    gemeenten = gemeenten or default_gemeenten()
    reports: list[Report] = []
    for path in paths:
        if _is_zip(path):
            for member, data in _zip_members(path):
                reports.append(
                    validate_bytes(
                        data,
                        PurePosixPath(member).name,
                        year=year,
                        gemeenten=gemeenten,
                        max_examples=max_examples,
                        display_name=f"{path}:{member}",
                    )
                )
        else:
            reports.append(
                validate_file(
                    path,
                    year=year,
                    gemeenten=gemeenten,
                    max_examples=max_examples,
                    display_name=display_name if len(paths) == 1 else None,
                )
            )
    return reports


def read_dakl(path: str | Path) -> pl.DataFrame:
    """The rows of a well-formed DAKL file: `line` + the nine fields as text (never inferred).

    Raises UsageError when the file cannot be read as DAKL (not UTF-8, no header, a line
    without 9 fields); row-rule findings (a bad BSN, a wrong date) do not stop reading.
    """
    path = Path(path)
    data = _read(path)
    report = Report(file=str(path), year=None, rows=0)
    lines = _lines(data, report, 1)
    good = _split(lines, report, 1)
    problem = _unreadable(report)
    if problem is not None:
        at = f":{problem.line}" if problem.line else ""
        raise UsageError(
            f"{path}{at}: not a readable DAKL file ({problem.code}: {problem.message}); "
            f"run 'dakl-etl validate {path}' for all findings"
        )
    return as_text(_fields(good.lazy()).collect())


def validate_and_read(
    path: str | Path,
    *,
    year: int | None = None,
    gemeenten: Gemeenten | None = None,
    max_examples: int = 20,
    display_name: str | None = None,
) -> tuple[Report, pl.DataFrame | None]:
    """`validate_file` and `read_dakl` in one pass over the file.

    The frame is None when the file is not readable as DAKL rows (F03, F04 or F05 errors).
    """
    path = Path(path)
    data = _read(path)
    return _validate(
        data, path.name, year, gemeenten, max_examples, display_name or str(path), keep=True
    )
