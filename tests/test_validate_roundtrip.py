"""Round trips as properties: what the writer writes, the validator accepts; one planted
violation in a written file is rejected with that rule id on that line."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dakl_etl.outputs.writer import dakl_bytes, dakl_file_name, format_dakl, write_dakl
from dakl_etl.protocol.codes import REDEN_BEEINDIGING, TYPE_OPVANG, UNKNOWN_BSN
from dakl_etl.protocol.fields import COLUMNS, FIELD_BY_KEY
from dakl_etl.protocol.rules import RULES
from dakl_etl.reference import load_gemeenten
from dakl_etl.validation import read_dakl, validate_bytes, validate_file, validate_written
from synthetic import bsn_strategy, invalid_bsn, v_nummer_strategy

GEMEENTEN = load_gemeenten()
YEARS = (2023, 2024, 2025)
CODES = {y: sorted(GEMEENTEN.codes_in_year(y)) for y in YEARS}


@st.composite
def episode(draw, year: int) -> dict:
    """One row within the rules of `year`'s file."""
    first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    start = draw(st.dates(dt.date(year - 3, 1, 1), last))
    ended = draw(st.sampled_from(["open", "closed", "unknown"]))
    if ended == "open":
        end = last
    elif ended == "closed":
        end = draw(st.dates(max(start, first), dt.date(year + 1, 6, 30)))
    else:
        end = None
    unknown = draw(st.booleans())
    return {
        "gemeentecode": draw(st.sampled_from(CODES[year])),
        "bsn": UNKNOWN_BSN if unknown else draw(bsn_strategy),
        "datum_melding": draw(st.none() | st.dates(start - dt.timedelta(days=400), start)),
        "type_opvang": draw(st.sampled_from(list(TYPE_OPVANG))),
        "startdatum": start,
        "einddatum": end,
        "reden": draw(st.sampled_from(list(REDEN_BEEINDIGING))) if ended == "closed" else None,
        "v_nummer": draw(st.none() | v_nummer_strategy),
    }


@st.composite
def delivery(draw) -> tuple[int, pl.DataFrame]:
    year = draw(st.sampled_from(YEARS))
    rows = draw(st.lists(episode(year), min_size=1, max_size=12))
    schema = {
        "datum_melding": pl.Date,
        "startdatum": pl.Date,
        "einddatum": pl.Date,
        "reden": pl.String,
        "v_nummer": pl.String,
    }
    return year, pl.DataFrame(rows, schema_overrides=schema)


created = st.datetimes(
    dt.datetime(2020, 1, 1), dt.datetime(2030, 12, 31), timezones=st.just(dt.UTC)
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(delivery(), created)
def test_written_files_are_accepted(tmp_path, data, created_at):
    year, frame = data
    path = write_dakl(frame, tmp_path, year, "gemeente", created_at, gemeenten=GEMEENTEN)
    report = validate_file(path, gemeenten=GEMEENTEN)
    assert report.accepted, [(f.code, f.line) for f in report.findings]
    assert report.rows == frame.height
    assert {f.code for f in report.findings} <= {"R07", "F09"}  # only the allowed warnings
    assert read_dakl(path).height == frame.height


Plant = Callable[[dict, int], dict]

# rule id -> how to make one row break exactly that rule (fields as text, row as written)
PLANTS: dict[str, Plant] = {
    "R01": lambda r, y: r | {"aanmaakdatum": r["aanmaakdatum"][:8] + "2460"},
    "R02": lambda r, y: r | {"aanmaakdatum": "2,02504E+11"},
    "R03": lambda r, y: r | {"gemeentecode": r["gemeentecode"][1:]},
    "R04": lambda r, y: r | {"gemeentecode": "0000"},
    "R05": lambda r, y: r | {"bsn": r["bsn"][1:]},
    "R06": lambda r, y: (
        r | {"bsn": invalid_bsn(r["bsn"]) if r["bsn"] != UNKNOWN_BSN else "123456789"}
    ),
    "R10": lambda r, y: r | {"type_opvang": "0202"},
    "R11": lambda r, y: r | {"startdatum": f"{y}0230"},
    "R12": lambda r, y: (
        r | {"startdatum": f"{y + 1}0101", "einddatum": "", "reden": "", "datum_melding": ""}
    ),
    "R13": lambda r, y: r | {"einddatum": f"{y}1301"},
    "R14": lambda r, y: (
        r | {"startdatum": f"{y}0601", "einddatum": f"{y}0531", "datum_melding": ""}
    ),
    "R15": lambda r, y: (
        r | {"startdatum": f"{y - 2}0101", "einddatum": f"{y - 1}1231", "datum_melding": ""}
    ),
    "R16": lambda r, y: r | {"reden": "01", "einddatum": f"{y}1231"},
    "R17": lambda r, y: r | {"reden": "19", "einddatum": ""},
    "R18": lambda r, y: r | {"v_nummer": "12345"},
    "R19": lambda r, y: r | {"type_opvang": ""},
    "R20": lambda r, y: r | {"gemeentecode": f" {r['gemeentecode']}"},
    "F08": lambda r, y: r | {"aanmaakdatum": "200001010000"},
}


def test_every_error_row_rule_can_be_planted():
    row_errors = {r.id for r in RULES.values() if r.level == "row" and r.severity == "error"}
    assert row_errors <= set(PLANTS)


@settings(max_examples=120, deadline=None)
@given(delivery(), st.sampled_from(sorted(PLANTS)), st.data())
def test_one_planted_violation_is_rejected_on_its_line(data, code, choose):
    year, frame = data
    rows = format_dakl(frame, dt.datetime(2025, 4, 24, 9, 0))
    if code == "F08" and rows.height < 3:  # a "most common" value needs a majority
        rows = pl.concat([rows] * 3).with_columns(line=pl.int_range(2, pl.len() + 2))
    index = choose.draw(st.integers(0, rows.height - 1))
    planted = _replaced(rows, index, PLANTS[code](rows.row(index, named=True), year))
    report = validate_bytes(dakl_bytes(planted), dakl_file_name(year, "x"), gemeenten=GEMEENTEN)
    assert not report.accepted
    hits = [f for f in report.findings if f.code == code]
    assert [f.line for f in hits] == [index + 2]
    assert set(report.error_counts) == {code}


def _replaced(rows: pl.DataFrame, index: int, row: dict) -> pl.DataFrame:
    """`rows` with the row at `index` replaced by `row`."""
    return pl.concat(
        [rows.slice(0, index), pl.DataFrame([row], schema=rows.schema), rows.slice(index + 1)]
    )


#: Values that break a written line apart: a separator or a line break inside a field.
BREAKERS = (";", "\n", "\r", "\r\n")


@settings(max_examples=150, deadline=None)
@given(
    delivery(),
    st.sampled_from([None, *sorted(PLANTS)]),
    st.none() | st.sampled_from(BREAKERS),
    st.integers(1, 5),
    st.data(),
)
def test_written_rows_are_judged_as_their_bytes(data, code, breaker, examples, choose):
    """`validate_written` on the rows a file is made of reports what `validate_bytes` reports
    on its bytes: clean, with a planted row violation, with a value that breaks its line apart
    (those bytes are read as they are) — or with all of them."""
    year, frame = data
    rows = format_dakl(frame, dt.datetime(2025, 4, 24, 9, 0))
    if code is not None:
        index = choose.draw(st.integers(0, rows.height - 1))
        rows = _replaced(rows, index, PLANTS[code](rows.row(index, named=True), year))
    if breaker is not None:
        index = choose.draw(st.integers(0, rows.height - 1))
        row = rows.row(index, named=True)
        key = choose.draw(st.sampled_from([k for k in row if k != "line"]))
        at = choose.draw(st.integers(0, len(row[key])))
        rows = _replaced(rows, index, row | {key: row[key][:at] + breaker + row[key][at:]})
    written = dakl_bytes(rows)
    name = choose.draw(st.sampled_from([dakl_file_name(year, "x"), dakl_file_name(year + 1, "x")]))
    expected = validate_bytes(written, name, year=year, gemeenten=GEMEENTEN, max_examples=examples)
    judged = validate_written(
        rows, written, name, year=year, gemeenten=GEMEENTEN, max_examples=examples
    )
    assert judged == expected


def test_written_rows_without_rows_are_judged_as_their_bytes():
    kinds = {k: FIELD_BY_KEY[k].kind for k in COLUMNS if k != "aanmaakdatum"}
    empty = pl.DataFrame(
        schema={k: pl.Date if kind == "date" else pl.String for k, kind in kinds.items()}
    )
    rows = format_dakl(empty, dt.datetime(2025, 4, 24, 9, 0))
    written = dakl_bytes(rows)
    name = dakl_file_name(2024, "x")
    judged = validate_written(rows, written, name, year=2024, gemeenten=GEMEENTEN)
    assert judged == validate_bytes(written, name, year=2024, gemeenten=GEMEENTEN)
    assert not judged.accepted and judged.error_counts["F07"] == 1


@pytest.mark.parametrize("year", YEARS)
def test_reference_years_are_nonempty(year):
    assert len(CODES[year]) > 300


def _plant_in_bytes(data: bytes, code: str, k: int) -> tuple[bytes, int]:
    """Plant a file-level defect on data line k (0-based); returns (bytes, expected line)."""
    lines = data.split(b"\r\n")[:-1]  # header + rows, the final CRLF removed
    at = k + 1  # index in `lines` of data row k
    if code == "F03":
        lines[at] = lines[at][:13] + b"\xe9" + lines[at][13:]  # a Latin-1 byte
    elif code == "F05":
        lines[at] += b";"
    elif code == "F07":
        lines.insert(at + 1, b"")
        return b"\r\n".join(lines) + b"\r\n", at + 2
    elif code == "F06":  # this one line ends in LF, all others in CRLF
        return b"".join(t + (b"\n" if i == at else b"\r\n") for i, t in enumerate(lines)), at + 1
    return b"\r\n".join(lines) + b"\r\n", at + 1


@settings(max_examples=80, deadline=None)
@given(delivery(), st.sampled_from(["F03", "F05", "F06", "F07"]), st.data())
def test_one_planted_file_defect_is_found_on_its_line(data, code, choose):
    year, frame = data
    written = dakl_bytes(format_dakl(frame, dt.datetime(2025, 4, 24, 9, 0)))
    k = choose.draw(st.integers(0, frame.height - 1))
    planted, line = _plant_in_bytes(written, code, k)
    report = validate_bytes(planted, dakl_file_name(year, "x"), gemeenten=GEMEENTEN)
    hits = [f for f in report.findings if f.code == code]
    assert [f.line for f in hits] == [line], [(f.code, f.line) for f in report.findings]
    assert report.accepted == (code == "F06")
    # A non-UTF-8 byte inside a field also makes that value non-digits (R20).
    expected = {"F03": {"F03", "R20"}, "F05": {"F05"}, "F06": set(), "F07": {"F07"}}[code]
    assert set(report.error_counts) == expected


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([b"a;1", b"", b"\r", b"\n", b"\r\n", b"\xc3\xa9"]), max_size=12))
def test_line_breaks_are_counted_from_the_lines_as_from_the_bytes(parts):
    """F06 takes the number of LFs from `pl.read_lines`' lines (`files._check_line_endings`):
    one per line, less one when the last line has none — as counting the bytes gives."""
    data = b"".join(parts)
    lines = pl.read_lines(data, name="text").height
    assert lines - (0 if not data or data.endswith(b"\n") else 1) == data.count(b"\n")
