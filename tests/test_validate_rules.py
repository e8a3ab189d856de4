"""Every rule of RULES.md planted once: the validator must report exactly that rule, there.

Each case starts from a file that passes (checked below), plants one defect and expects the
one finding of the most specific rule on the right line and column, and no other error.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dakl_etl.protocol.fields import FIELD_BY_KEY, HEADER
from dakl_etl.protocol.rules import RULES
from dakl_etl.reference import load_gemeenten
from dakl_etl.validation import validate_bytes
from dakl_rows import BSNS, NAME, YEAR, base_row, base_rows, dakl
from synthetic import invalid_bsn


@dataclass
class Case:
    id: str  # what is planted, for the test id
    code: str  # the rule that must fire
    data: bytes
    line: int | None  # None: a finding about the whole file
    column: int | None = None
    name: str = NAME
    severity: str = "error"
    also: set[str] = field(default_factory=set)  # other codes that legitimately fire too
    year: int | None = None


def _with(line_index: int, **fields: str) -> bytes:
    """The base file with `fields` changed in data row `line_index` (line = index + 2)."""
    rows = base_rows()
    rows[line_index].update(fields)
    return dakl(rows)


def col(key: str) -> int:
    return FIELD_BY_KEY[key].position


GOOD = dakl(base_rows())
LATIN1_HEADER = HEADER.encode("cp1252") + b"\r\n" + GOOD.split(b"\r\n", 1)[1]
MIXED = GOOD.replace(b"\r\n", b"\n", 3)  # lines 1-3 LF, then CRLF
_parts = GOOD.split(b"\r\n")
MIXED_LF_LATER = (
    b"\r\n".join(_parts[:5]) + b"\n" + b"\r\n".join(_parts[5:])
)  # line 5 LF  # lines 1-3 LF, rest CRLF

CASES = [
    Case("name shape", "F01", GOOD, None, name="dakl_j2024_test.csv"),
    Case("name without year", "F01", GOOD, None, name="DAKL_2024.csv", severity="error"),
    Case("name second dot", "F02", GOOD, None, name="DAKL_J2024_v1.2.csv"),
    Case("name forbidden char", "F02", GOOD, None, name="DAKL_J2024_a;b.csv"),
    Case("not utf-8", "F03", LATIN1_HEADER, 1),
    Case("bom", "F03", b"\xef\xbb\xbf" + GOOD, 1, severity="warning"),
    Case("header 8 columns", "F04", GOOD.replace(b";V-nummer", b"", 1), 1),
    Case("header missing", "F04", dakl(base_rows(), header=None), 1),
    Case("header names", "F04", GOOD.replace(b"BSN", b"Klantnummer", 1), 1, 3, severity="warning"),
    Case(
        "trailing semicolon", "F05", dakl([*base_rows(2), ";".join(base_row(2).values()) + ";"]), 4
    ),
    Case("comma separator", "F05", dakl([*base_rows(2), ",".join(base_row(2).values())]), 4),
    Case("mixed endings", "F06", MIXED, 4, severity="warning"),
    Case("mixed endings crlf first", "F06", MIXED_LF_LATER, 5, severity="warning"),
    Case("no final break", "F06", dakl(base_rows(), final_break=False), 6, severity="warning"),
    Case("empty line", "F07", dakl([*base_rows(2), "", base_row(3)]), 4),
    Case("blank line at end", "F07", GOOD + b"\r\n", 7),
    Case("no data rows", "F07", dakl([]), None),
    Case("empty file", "F07", b"", None),
    Case(
        "aanmaakdatum differs", "F08", _with(2, aanmaakdatum="202504241000"), 4, col("aanmaakdatum")
    ),
    Case("duplicate row", "F09", dakl([*base_rows(3), base_row(1)]), 5, severity="warning"),
    Case(
        "aanmaakdatum invalid", "R01", _with(1, aanmaakdatum="202513011200"), 3, col("aanmaakdatum")
    ),
    Case(
        "aanmaakdatum 11 digits",
        "R01",
        _with(1, aanmaakdatum="20250424090"),
        3,
        col("aanmaakdatum"),
    ),
    Case(
        "aanmaakdatum scientific",
        "R02",
        _with(1, aanmaakdatum="2,02504E+11"),
        3,
        col("aanmaakdatum"),
    ),
    Case("gemeentecode lost zero", "R03", _with(0, gemeentecode="363"), 2, col("gemeentecode")),
    Case("gemeentecode ended", "R04", _with(0, gemeentecode="0003"), 2, col("gemeentecode")),
    Case("gemeentecode unknown", "R04", _with(0, gemeentecode="9999"), 2, col("gemeentecode")),
    Case("bsn 8 digits", "R05", _with(3, bsn="12345678"), 5, col("bsn")),
    Case("bsn elfproef", "R06", _with(3, bsn=invalid_bsn(BSNS[3])), 5, col("bsn")),
    Case("bsn zeros", "R06", _with(3, bsn="000000000"), 5, col("bsn")),
    Case(
        "bsn unknown no v-nummer",
        "R07",
        _with(0, bsn="999999999"),
        2,
        col("bsn"),
        severity="warning",
    ),
    Case(
        "datum melding format",
        "R08",
        _with(0, datum_melding="01-01-2024"),
        2,
        col("datum_melding"),
        severity="warning",
    ),
    Case(
        "datum melding impossible",
        "R08",
        _with(0, datum_melding="20240230"),
        2,
        col("datum_melding"),
        severity="warning",
    ),
    Case(
        "datum melding after start",
        "R09",
        _with(0, datum_melding="20240105"),
        2,
        col("datum_melding"),
        severity="warning",
    ),
    Case("type 0202", "R10", _with(4, type_opvang="0202"), 6, col("type_opvang")),
    Case("startdatum impossible", "R11", _with(4, startdatum="20240231"), 6, col("startdatum")),
    Case("startdatum dd-mm-yyyy", "R20", _with(4, startdatum="02-01-2024"), 6, col("startdatum")),
    Case(
        "startdatum after year",
        "R12",
        _with(4, startdatum="20250101", datum_melding="", einddatum="20250201"),
        6,
        col("startdatum"),
    ),
    Case("einddatum impossible", "R13", _with(1, einddatum="20241301"), 3, col("einddatum")),
    Case("einddatum before start", "R14", _with(1, einddatum="20240101"), 3, col("einddatum")),
    Case(
        "einddatum before year",
        "R15",
        _with(1, datum_melding="", startdatum="20230101", einddatum="20231231"),
        3,
        col("einddatum"),
    ),
    Case("reden unknown", "R16", _with(1, reden="20"), 3, col("reden")),
    Case("reden without einddatum", "R17", _with(1, einddatum=""), 3, col("reden")),
    Case("v-nummer short", "R18", _with(1, v_nummer="12345"), 3, col("v_nummer")),
    Case("required empty", "R19", _with(1, type_opvang=""), 3, col("type_opvang")),
    Case("line of semicolons", "R19", dakl([*base_rows(1), ";" * 8]), 3, col("aanmaakdatum")),
    Case("space", "R20", _with(1, gemeentecode=" 363"), 3, col("gemeentecode")),
    Case("quotes", "R20", _with(1, gemeentecode='"0363"'), 3, col("gemeentecode")),
    Case("decimal point", "R20", _with(1, bsn=BSNS[1] + ".0"), 3, col("bsn")),
    Case("letter", "R20", _with(1, bsn="9123A5678"), 3, col("bsn")),
    Case("reden with space", "R20", _with(1, reden="19 "), 3, col("reden")),
]


@pytest.fixture(scope="module")
def gemeenten():
    return load_gemeenten()


def test_base_file_passes_clean(gemeenten):
    report = validate_bytes(GOOD, NAME, gemeenten=gemeenten)
    assert report.accepted, report.findings
    assert report.findings == []
    assert report.rows == 5
    assert report.year == YEAR


def test_every_rule_is_planted():
    assert {c.code for c in CASES} == set(RULES)


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.code}-{c.id}")
def test_planted_violation_is_found(case: Case, gemeenten):
    report = validate_bytes(case.data, case.name, year=case.year, gemeenten=gemeenten)
    hits = [f for f in report.findings if f.code == case.code and f.severity == case.severity]
    assert hits, f"{case.code} not reported; got {[(f.code, f.line) for f in report.findings]}"
    assert hits[0].line == case.line
    if case.column is not None:
        assert hits[0].column == case.column
    other_errors = {f.code for f in report.findings if f.severity == "error"} - {case.code}
    if case.code == "F01" and case.name == "DAKL_2024.csv":
        other_errors -= {"F01"}
    assert other_errors <= case.also, f"unexpected errors {other_errors}"
    assert report.accepted == (case.severity == "warning" and not other_errors)


def test_one_finding_per_defect(gemeenten):
    """RULES.md precedence: an empty required field is R19 only, scientific notation R02 only."""
    report = validate_bytes(_with(0, aanmaakdatum="2.02E+11", bsn=""), NAME, gemeenten=gemeenten)
    by_column = {(f.line, f.column): f.code for f in report.findings}
    assert by_column == {(2, 1): "R02", (2, 3): "R19"}
    assert report.counts == {"R02": 1, "R19": 1}
    assert report.rows_with_errors == 1


def test_invalid_aanmaakdatum_gets_no_f08(gemeenten):
    report = validate_bytes(_with(0, aanmaakdatum="202513011200"), NAME, gemeenten=gemeenten)
    assert "F08" not in report.counts


def test_f08_points_at_rows_differing_from_the_most_common(gemeenten):
    rows = base_rows(5)
    rows[0]["aanmaakdatum"] = rows[1]["aanmaakdatum"] = "202504241000"
    report = validate_bytes(dakl(rows), NAME, gemeenten=gemeenten)
    assert sorted(f.line for f in report.findings if f.code == "F08") == [2, 3]


def test_duplicates_of_unknown_bsn_are_not_flagged(gemeenten):
    row = base_row(0) | {"bsn": "999999999", "v_nummer": "1234567890"}
    report = validate_bytes(dakl([row, row, row]), NAME, gemeenten=gemeenten)
    assert report.findings == []


def test_no_year_is_said_once_and_year_rules_are_not_judged(gemeenten):
    data = _with(0, startdatum="20300101", datum_melding="", einddatum="")
    data = data.replace(b";19;", b";;", 1)
    report = validate_bytes(data, "export.csv", gemeenten=gemeenten)
    warnings = [f for f in report.findings if f.code == "F01" and f.severity == "warning"]
    assert len(warnings) == 1 and "not judged" in warnings[0].message
    assert "R12" not in report.counts
    assert report.year is None


def test_year_argument_overrides_and_must_match_name(gemeenten):
    report = validate_bytes(GOOD, NAME, year=2023, gemeenten=gemeenten)
    assert any(f.code == "F01" and "2023" in f.message for f in report.findings)


def test_gemeentecode_valid_in_part_of_the_year(gemeenten):
    """A code that existed on at least one day of the year passes R04 (Appingedam until 2021)."""
    report = validate_bytes(_with(0, gemeentecode="0003"), "DAKL_J2020_x.csv", gemeenten=gemeenten)
    assert "R04" not in report.counts


def test_counts_complete_when_examples_are_capped(gemeenten):
    rows = [base_row(i) | {"gemeentecode": "363"} for i in range(12)]
    report = validate_bytes(dakl(rows), NAME, gemeenten=gemeenten, max_examples=3)
    assert report.counts["R03"] == 12
    assert len([f for f in report.findings if f.code == "R03"]) == 3
    assert report.truncated["R03"] == 9
    assert report.errors == 12 and not report.accepted


def test_zero_examples_keep_verdict(gemeenten):
    report = validate_bytes(b"\xef\xbb\xbf" + GOOD, NAME, gemeenten=gemeenten, max_examples=0)
    assert report.accepted and report.warnings == 1 and report.findings == []


def test_messages_never_show_a_full_bsn(gemeenten):
    bad = invalid_bsn(BSNS[0])
    rows = base_rows(3)
    rows[0]["bsn"] = bad
    rows[1]["gemeentecode"] = BSNS[1]  # a BSN shifted into another column
    rows[2]["v_nummer"] = "123456789"
    report = validate_bytes(dakl(rows), NAME, gemeenten=gemeenten)
    text = repr(report.to_dict())
    for secret in (bad, BSNS[1], "123456789"):
        assert secret not in text
    assert "******" + bad[-3:] in text


@given(st.sampled_from(list(FIELD_BY_KEY)), st.text("0123456789", min_size=8, max_size=14))
def test_long_digit_runs_are_masked_in_every_field(key, digits):
    from dakl_etl.validation.messages import shown

    spec = FIELD_BY_KEY[key]
    value = shown(key, f" {digits}")
    assert digits not in value
    exact_date = spec.kind in ("date", "datetime") and len(digits) == spec.width
    assert (shown(key, digits) == digits) == (exact_date and key not in ("bsn", "v_nummer"))
