"""The DAKL writer: exact bytes, safe names, atomic and private, never an invalid file."""

from __future__ import annotations

import datetime as dt
import os
import stat
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dakl_etl.errors import DaklError, ExitCode, UsageError
from dakl_etl.outputs.writer import (
    DeliveryRejected,
    dakl_bytes,
    dakl_file_name,
    format_dakl,
    write_dakl,
)
from dakl_etl.protocol.fields import COLUMNS, HEADER
from dakl_etl.reference import load_gemeenten
from dakl_etl.validation import read_dakl, validate_file
from dakl_etl.validation.filename import check_name
from synthetic import invalid_bsn, synthetic_bsns

BSNS = synthetic_bsns(4, seed=3)
CREATED = dt.datetime(2025, 4, 24, 9, 0)


def frame(**overrides) -> pl.DataFrame:
    data = {
        "gemeentecode": ["0363", "0344", "0363"],
        "bsn": [BSNS[0], BSNS[1], "999999999"],
        "datum_melding": [dt.date(2024, 1, 1), None, None],
        "type_opvang": ["0201", "0301", "0203"],
        "startdatum": [dt.date(2024, 1, 2), dt.date(2023, 11, 5), dt.date(2024, 6, 1)],
        "einddatum": [dt.date(2024, 3, 1), dt.date(2024, 12, 31), None],
        "reden": ["19", None, None],
        "v_nummer": [None, None, "1234567890"],
    }
    data.update(overrides)
    return pl.DataFrame(
        data,
        schema_overrides={
            "datum_melding": pl.Date,
            "startdatum": pl.Date,
            "einddatum": pl.Date,
        },
    )


@pytest.fixture(scope="module")
def gemeenten():
    return load_gemeenten()


def test_exact_bytes(tmp_path, gemeenten):
    path = write_dakl(frame(), tmp_path, 2024, "Amsterdam", CREATED, gemeenten=gemeenten)
    assert path.name == "DAKL_J2024_Amsterdam.csv"
    expected = (
        f"{HEADER}\r\n"
        f"202504240900;0363;{BSNS[0]};20240101;0201;20240102;20240301;19;\r\n"
        f"202504240900;0344;{BSNS[1]};;0301;20231105;20241231;;\r\n"
        "202504240900;0363;999999999;;0203;20240601;;;1234567890\r\n"
    ).encode()
    assert path.read_bytes() == expected
    assert not path.read_bytes().startswith(b"\xef\xbb\xbf")


def test_file_is_private_and_no_temp_left(tmp_path, gemeenten):
    path = write_dakl(frame(), tmp_path / "out", 2024, "x", CREATED, gemeenten=gemeenten)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert os.listdir(path.parent) == [path.name]


def test_written_file_validates_and_reads_back(tmp_path, gemeenten):
    path = write_dakl(frame(), tmp_path, 2024, "x", CREATED, gemeenten=gemeenten)
    report = validate_file(path, gemeenten=gemeenten)
    assert report.accepted and report.errors == 0
    back = read_dakl(path)
    assert back.columns == ["line", *COLUMNS]
    assert back["line"].to_list() == [2, 3, 4]
    assert back["gemeentecode"].to_list() == ["0363", "0344", "0363"]
    assert back["v_nummer"].to_list() == ["", "", "1234567890"]


@pytest.mark.parametrize(
    ("overrides", "code", "line"),
    [
        ({"bsn": [invalid_bsn(BSNS[0]), BSNS[1], "999999999"]}, "R06", 2),
        ({"type_opvang": ["0202", "0301", "0203"]}, "R10", 2),
        ({"gemeentecode": ["0363", "0003", "0363"]}, "R04", 3),
        (
            {"startdatum": [dt.date(2025, 1, 2), dt.date(2023, 11, 5), dt.date(2024, 6, 1)]},
            "R12",
            2,
        ),
        ({"reden": ["19", None, "19"]}, "R17", 4),
    ],
)
def test_invalid_rows_are_refused_and_nothing_written(tmp_path, gemeenten, overrides, code, line):
    target = tmp_path / "out"
    target.mkdir()
    existing = target / "DAKL_J2024_x.csv"
    existing.write_bytes(b"previous delivery")
    with pytest.raises(DeliveryRejected) as info:
        write_dakl(frame(**overrides), target, 2024, "x", CREATED, gemeenten=gemeenten)
    assert info.value.exit_code == ExitCode.REJECTED
    assert isinstance(info.value, DaklError)
    assert code in info.value.report.error_counts
    assert code in str(info.value) and f"line {line}" in str(info.value)
    for bsn in BSNS:
        assert bsn not in str(info.value)
    assert os.listdir(target) == [existing.name]
    assert existing.read_bytes() == b"previous delivery"


def test_empty_frame_is_refused(tmp_path, gemeenten):
    with pytest.raises(DeliveryRejected, match="F07"):
        write_dakl(frame().head(0), tmp_path, 2024, "x", CREATED, gemeenten=gemeenten)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("created", "stamp"),
    [
        (dt.datetime(2025, 4, 24, 9, 0), "202504240900"),  # naive: Dutch local time
        (dt.datetime(2024, 12, 31, 23, 30, tzinfo=dt.UTC), "202501010030"),  # winter +1
        (dt.datetime(2025, 7, 1, 8, 5, tzinfo=dt.UTC), "202507011005"),  # summer +2
        (dt.datetime(2025, 7, 1, 10, 5, tzinfo=ZoneInfo("Europe/Amsterdam")), "202507011005"),
    ],
)
def test_aanmaakdatum_in_amsterdam_time(created, stamp):
    rows = format_dakl(frame(), created)
    assert rows["aanmaakdatum"].unique().to_list() == [stamp]


def test_format_dakl_shape():
    rows = format_dakl(frame(), CREATED)
    assert rows.columns == ["line", *COLUMNS]
    assert rows.schema["line"] == pl.Int64
    assert all(rows.schema[c] == pl.String for c in COLUMNS)
    assert rows["einddatum"].to_list() == ["20240301", "20241231", ""]


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.dates()), min_size=0, max_size=20),
    st.sampled_from([pl.Date, pl.Datetime("us")]),
)
def test_dates_are_formatted_as_strftime_does(days, dtype):
    """Dates go out by a table look-up (one entry per day of the file's range), or by
    strftime when the range is too wide: the text of Polars' strftime either way, nulls
    empty."""
    base = frame().head(1)
    rows = pl.concat([base] * len(days)) if days else base.clear()
    rows = rows.with_columns(pl.Series("startdatum", days, dtype=pl.Date).cast(dtype))
    expected = pl.Series(days, dtype=pl.Date).dt.strftime("%Y%m%d").fill_null("").to_list()
    assert format_dakl(rows, CREATED)["startdatum"].to_list() == expected


def test_format_dakl_needs_dates():
    with pytest.raises(ValueError, match="must be Date"):
        format_dakl(frame().with_columns(pl.col("startdatum").cast(pl.String)), CREATED)


def test_dakl_bytes_is_the_same_in_parts_and_whole():
    rows = format_dakl(pl.concat([frame()] * 4000), CREATED)
    big = dakl_bytes(rows)
    small = b"".join(
        dakl_bytes(rows.slice(i, 3000)).split(b"\r\n", 1)[1] for i in range(0, rows.height, 3000)
    )
    assert big == (HEADER + "\r\n").encode() + small


@pytest.mark.parametrize(
    ("free_text", "name"),
    [
        ("Amsterdam", "DAKL_J2024_Amsterdam.csv"),
        ("Gemeente 's-Hertogenbosch / regio", "DAKL_J2024_Gemeente_s-Hertogenbosch_regio.csv"),
        ("Súdwest-Fryslân", "DAKL_J2024_Sudwest-Fryslan.csv"),
        ("v1.2;final*", "DAKL_J2024_v1_2_final.csv"),
    ],
)
def test_dakl_file_name(free_text, name):
    assert dakl_file_name(2024, free_text) == name


@pytest.mark.parametrize("free_text", ["", "...", " / ", "***"])
def test_dakl_file_name_refuses_empty(free_text):
    with pytest.raises(UsageError, match="free text"):
        dakl_file_name(2024, free_text)


@settings(max_examples=200)
@given(st.text(max_size=80), st.integers(2000, 2099))
def test_dakl_file_name_always_passes_f01_f02(free_text, year):
    try:
        name = dakl_file_name(year, free_text)
    except UsageError:
        return
    assert check_name(name, year) == []


def test_unwritable_directory_is_a_clear_error(tmp_path, gemeenten):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(UsageError, match="cannot write the DAKL file"):
        write_dakl(frame(), blocker / "out", 2024, "x", CREATED, gemeenten=gemeenten)
