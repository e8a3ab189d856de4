"""The library side of validation: read_dakl, validate_frame, validate_paths, robustness."""

from __future__ import annotations

import zipfile

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dakl_etl.errors import UsageError
from dakl_etl.protocol.fields import COLUMNS, HEADER
from dakl_etl.reference import load_gemeenten
from dakl_etl.validation import (
    read_dakl,
    validate_bytes,
    validate_file,
    validate_frame,
    validate_paths,
)
from dakl_etl.validation.render import render_json, render_text
from dakl_rows import NAME, base_row, base_rows, dakl

GEMEENTEN = load_gemeenten()


def test_read_dakl_keeps_text(tmp_path):
    rows = base_rows(2)
    rows[1]["v_nummer"] = "0012345678"
    path = tmp_path / NAME
    path.write_bytes(dakl(rows))
    frame = read_dakl(path)
    assert frame.columns == ["line", *COLUMNS]
    assert frame["gemeentecode"].to_list() == ["0363", "0363"]
    assert frame["v_nummer"].to_list() == ["", "0012345678"]
    assert frame["line"].to_list() == [2, 3]


@pytest.mark.parametrize(
    ("data", "expect"),
    [
        (dakl([*base_rows(1), "a;b"]), ":3: not a readable DAKL file (F05"),
        (dakl(base_rows(1)).replace(b"0363", b"\xe9", 1), "(F03"),
        (dakl(base_rows(1), header="a;b"), ":1: not a readable DAKL file (F04"),
    ],
)
def test_read_dakl_refuses_unreadable_files(tmp_path, data, expect):
    path = tmp_path / NAME
    path.write_bytes(data)
    with pytest.raises(UsageError, match=expect.replace("(", r"\(")):
        read_dakl(path)


def test_read_dakl_reads_files_with_row_errors(tmp_path):
    path = tmp_path / NAME
    path.write_bytes(dakl([base_row(0) | {"bsn": "12345678"}]))
    assert read_dakl(path)["bsn"].to_list() == ["12345678"]


def test_validate_frame_uses_given_lines():
    frame = pl.DataFrame([base_row(0), base_row(1) | {"type_opvang": "0202"}]).with_columns(
        line=pl.Series([10, 20])
    )
    report = validate_frame(frame, year=2024, gemeenten=GEMEENTEN, display_name="x")
    assert [(f.code, f.line) for f in report.findings] == [("R10", 20)]
    assert report.rows == 2 and report.rows_with_errors == 1 and report.file == "x"


def test_validate_frame_treats_null_as_empty():
    frame = pl.DataFrame([base_row(0)]).with_columns(
        line=pl.lit(2, pl.Int64),
        v_nummer=pl.lit(None, pl.String),
        reden=pl.lit(None, pl.String),
        einddatum=pl.lit(None, pl.String),
    )
    assert validate_frame(frame, year=2024, gemeenten=GEMEENTEN).findings == []


@pytest.mark.parametrize("batch", [1, 2, 3, 6, 7])
def test_validation_in_batches_finds_the_same(monkeypatch, batch):
    """Rows are judged in batches (`rows.BATCH_ROWS`), a last batch may be empty: the report
    is that of one batch, every finding on its line."""
    rows = [base_row(i) for i in range(6)]
    rows[1] |= {"bsn": "12345678"}
    rows[3] |= {"type_opvang": "0202", "gemeentecode": "9999"}
    rows[4] = rows[0]  # an exact duplicate (F09)
    rows[5] |= {"aanmaakdatum": "202504240901"}  # F08
    data = dakl(rows)
    whole = validate_bytes(data, NAME, year=2024, gemeenten=GEMEENTEN)
    monkeypatch.setattr("dakl_etl.validation.rows.BATCH_ROWS", batch)
    batched = validate_bytes(data, NAME, year=2024, gemeenten=GEMEENTEN)
    assert batched.to_dict() == whole.to_dict()
    assert {(f.code, f.line) for f in whole.findings} >= {("R05", 3), ("R04", 5), ("F08", 7)}


def test_validate_frame_empty_is_f07():
    frame = pl.DataFrame(schema={"line": pl.Int64, **{c: pl.String for c in COLUMNS}})
    report = validate_frame(frame, year=2024, gemeenten=GEMEENTEN)
    assert not report.accepted and report.counts == {"F07": 1}


def test_validate_paths_expands_zips_and_keeps_order(tmp_path):
    good = tmp_path / NAME
    good.write_bytes(dakl(base_rows()))
    archive = tmp_path / "both.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("DAKL_J2024_a.csv", dakl(base_rows()))
        z.writestr("DAKL_J2023_b.txt", dakl(base_rows()))
    reports = validate_paths([good, archive], gemeenten=GEMEENTEN)
    assert [r.file.rsplit("/", 1)[-1] for r in reports] == [
        NAME,
        "both.zip:DAKL_J2024_a.csv",
        "both.zip:DAKL_J2023_b.txt",
    ]
    assert [r.year for r in reports] == [2024, 2024, 2023]
    assert not reports[2].accepted  # 2024 dates in the 2023 file: R12
    with pytest.raises(UsageError, match="2 DAKL files"):
        validate_file(archive, gemeenten=GEMEENTEN)


def test_validate_paths_checks_all_paths_first(tmp_path):
    good = tmp_path / NAME
    good.write_bytes(dakl(base_rows()))
    with pytest.raises(UsageError, match=r"missing\.csv: no such file"):
        validate_paths([good, tmp_path / "missing.csv"], gemeenten=GEMEENTEN)


def test_unreadable_file_is_usage_error(tmp_path):
    path = tmp_path / NAME
    path.write_bytes(dakl(base_rows()))
    path.chmod(0)
    try:
        if path.read_bytes():  # root can read anyway: nothing to test then
            pytest.skip("running as root: permissions are not enforced")
    except PermissionError:
        with pytest.raises(UsageError, match="cannot read"):
            validate_file(path, gemeenten=GEMEENTEN)


def test_renderings_of_an_accepted_file():
    report = validate_bytes(dakl(base_rows()), NAME, gemeenten=GEMEENTEN)
    assert render_text(report).startswith(f"{NAME}: accepted (5 rows, year 2024)")
    assert '"accepted": true' in render_json(report)


lines_strategy = st.lists(
    st.one_of(
        st.just(HEADER),
        st.sampled_from([";".join(base_row(i).values()) for i in range(3)]),
        st.text(alphabet=st.sampled_from('0123456789;; \t"E+,.-aé\x00\r'), max_size=40),
    ),
    max_size=12,
)


@settings(max_examples=150, deadline=None)
@given(lines_strategy, st.sampled_from(["\n", "\r\n"]), st.booleans())
def test_any_text_file_is_judged_and_every_line_accounted_for(lines, eol, final):
    data = (eol.join(lines) + (eol if final and lines else "")).encode("utf-8")
    report = validate_bytes(data, NAME, gemeenten=GEMEENTEN)
    physical = data.replace(b"\r\n", b"\n").split(b"\n")
    if physical and physical[-1] == b"":
        physical = physical[:-1]
    blank = sum(1 for line in physical if not line.decode().strip())
    header = (
        1 if physical and physical[0].decode().strip() and not report_has_no_header(report) else 0
    )
    assert report.rows == len(physical) - blank - header
    assert report.counts.get("F07", 0) >= min(blank, 1)
    assert report.accepted == (report.errors == 0)


def report_has_no_header(report) -> bool:
    return any(f.code == "F04" and f.message.startswith("header missing") for f in report.findings)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=400))
def test_any_bytes_give_a_report_not_an_exception(data):
    report = validate_bytes(data, NAME, gemeenten=GEMEENTEN)
    assert report.rows >= 0
    if data:
        assert report.findings or report.accepted


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                b"A",
                b"\xc3\xa9",
                b"\xe2\x82\xac",
                b"\xf0\x9f\x98\x80",
                b"\xff",
                b"\xc3",
                b"\n",
                b"\x80",
            ]
        ),
        max_size=30,
    ).map(b"".join),
    st.integers(1, 9),
)
def test_chunked_utf8_check_agrees_with_decode(data, chunk):
    from dakl_etl.validation.files import _is_utf8

    try:
        data.decode("utf-8")
        expected = True
    except UnicodeDecodeError:
        expected = False
    assert _is_utf8(data, chunk) == expected


def test_validate_and_read_matches_the_two_calls(tmp_path):
    from dakl_etl.validation import validate_and_read

    rows = base_rows(4)
    rows[1]["bsn"] = "12345678"
    rows[2]["aanmaakdatum"] = "202504241000"
    path = tmp_path / NAME
    path.write_bytes(dakl([*rows, rows[0]]))
    report, frame = validate_and_read(path, gemeenten=GEMEENTEN)
    alone = validate_file(path, gemeenten=GEMEENTEN)
    assert report.to_dict() == alone.to_dict()
    assert {"R05", "F08", "F09"} <= set(report.counts)
    assert frame is not None and frame.equals(read_dakl(path))


def test_validate_and_read_gives_no_frame_for_unreadable_files(tmp_path):
    from dakl_etl.validation import validate_and_read

    path = tmp_path / NAME
    path.write_bytes(dakl([*base_rows(1), "a;b"]))
    report, frame = validate_and_read(path, gemeenten=GEMEENTEN)
    assert frame is None and "F05" in report.error_counts
