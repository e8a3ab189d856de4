"""The protocol module: catalog vs RULES.md, elfproef vs python-stdnum, masking, schema, docs."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dakl_etl.protocol.bsn import elfproef, is_valid_bsn, pad_bsn
from dakl_etl.protocol.fields import (
    ACCEPTED_HEADER_NAMES,
    COLUMNS,
    FIELDS,
    HEADER,
    normalise_header_name,
)
from dakl_etl.protocol.privacy import mask, mask_expr
from dakl_etl.protocol.rules import RULES
from dakl_etl.protocol.schema import (
    ROW_RULES,
    RULES_BY_FIELD,
    Across,
    Context,
    field_finding,
    pandera_schema,
)
from dakl_etl.reference import load_gemeenten
from dakl_etl.validation import validate_frame
from synthetic import bsn_strategy, invalid_bsn, synthetic_bsns

REPO = Path(__file__).resolve().parents[1]
RULES_MD = REPO.parent / "shared" / "protocol" / "RULES.md"


def test_catalog_ids_equal_rules_md():
    if not RULES_MD.exists():
        pytest.skip(f"{RULES_MD} not present (CI keeps shared/ beside the clone)")
    text = RULES_MD.read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| ([FR]\d\d) \|", text, flags=re.MULTILINE))
    assert documented, "no rule ids found in RULES.md"
    assert set(RULES) == documented


def test_catalog_severities_match_rules_md():
    if not RULES_MD.exists():
        pytest.skip(f"{RULES_MD} not present")
    text = RULES_MD.read_text(encoding="utf-8")
    for rule_id, severity in re.findall(
        r"^\| ([FR]\d\d) \|.*\| (error|warning)[^|]*\|$", text, flags=re.MULTILINE
    ):
        assert RULES[rule_id].severity == severity, rule_id


def test_every_rule_has_title_and_hint():
    for rule in RULES.values():
        assert rule.title and rule.hint.endswith("."), rule.id
        assert (rule.level == "row") == rule.id.startswith("R")


def test_every_row_rule_is_in_a_field_chain():
    chained = {code for codes in RULES_BY_FIELD.values() for code in codes}
    assert chained == {r for r in RULES if r.startswith("R")}


def test_fields_and_header():
    assert [f.position for f in FIELDS] == list(range(1, 10))
    assert COLUMNS[2] == "bsn" and len(HEADER.split(";")) == 9
    for f, accepted in zip(FIELDS, ACCEPTED_HEADER_NAMES, strict=True):
        assert normalise_header_name(f.name) in accepted
        assert normalise_header_name(f.element) in accepted
    assert normalise_header_name("Reden Beëindiging") == normalise_header_name("RedenBeeindiging")
    assert normalise_header_name("v nummer") == normalise_header_name("V-nummer")


def test_docs_rules_md_is_current():
    generator = runpy.run_path(str(REPO / "docs" / "gen_rules.py"))
    current = (REPO / "docs" / "rules.md").read_text(encoding="utf-8")
    assert current == generator["render"](), "run: python docs/gen_rules.py"


# --- elfproef ------------------------------------------------------------------------------


def _elfproef_list(values: list[str | None]) -> list[bool]:
    return pl.DataFrame({"b": values}, schema={"b": pl.String}).select(elfproef("b"))["b"].to_list()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text("0123456789", min_size=9, max_size=9), min_size=1, max_size=50))
def test_elfproef_agrees_with_stdnum_on_nine_digits(values):
    assert _elfproef_list(values) == [is_valid_bsn(v) for v in values]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(bsn_strategy, bsn_strategy.map(invalid_bsn)), min_size=1, max_size=30))
def test_elfproef_agrees_with_stdnum_on_near_misses(values):
    assert _elfproef_list(values) == [is_valid_bsn(v) for v in values]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(min_size=0, max_size=12), min_size=1, max_size=30))
def test_elfproef_agrees_with_stdnum_on_any_text(values):
    assert _elfproef_list(values) == [is_valid_bsn(v) for v in values]


def test_elfproef_special_values():
    assert _elfproef_list(["000000000", "999999999", None, "", "4000000000", "123456782"]) == [
        False,
        False,
        False,
        False,
        False,
        True,
    ]


def test_pad_bsn_restores_lost_leading_zero():
    out = pl.DataFrame({"b": ["12345678", "123456782", "12a"]}).select(pad_bsn("b"))["b"]
    assert out.to_list() == ["012345678", "123456782", "12a"]


# --- masking -------------------------------------------------------------------------------


@given(st.text("0123456789", min_size=0, max_size=14))
def test_mask_keeps_only_last_three(value):
    masked = mask(value)
    assert len(masked) == len(value)
    assert masked[-3:] == (value[-3:] if len(value) > 3 else "*" * len(value))
    assert set(masked[:-3]) <= {"*"}
    assert pl.DataFrame({"v": [value]}).select(mask_expr("v"))["v"][0] == masked


# --- the pandera schema is the validator's rules ---------------------------------------------

BASE = {
    "aanmaakdatum": "202504240900",
    "gemeentecode": "0363",
    "bsn": synthetic_bsns(1)[0],
    "datum_melding": "20240101",
    "type_opvang": "0201",
    "startdatum": "20240102",
    "einddatum": "20240301",
    "reden": "19",
    "v_nummer": "",
}
VARIANTS = {
    "aanmaakdatum": ["202504240900", "", "2,02504E+11", "20250424090a", "202513011200"],
    "gemeentecode": ["0363", "", "363", " 0363", "0003"],
    "bsn": [BASE["bsn"], "", "12345678", "999999999", "123456789", "9123A5678"],
    "datum_melding": ["", "20240101", "20240110", "01-01-2024"],
    "type_opvang": ["0201", "0202", "", "02 01"],
    "startdatum": ["20240102", "", "20240231", "20250101", "2024-01-02"],
    "einddatum": ["", "20240301", "20231231", "20240101", "2024030"],
    "reden": ["", "19", "20", "1"],
    "v_nummer": ["", "1234567890", "123", "12345678901"],
}


def variant_rows(max_size: int) -> st.SearchStrategy[list[dict[str, str]]]:
    """Rows of DAKL fields, each value a variant that passes or fails a rule."""
    row = st.fixed_dictionaries({k: st.sampled_from(v) for k, v in VARIANTS.items()})
    return st.lists(row, min_size=1, max_size=max_size)


@settings(max_examples=25, deadline=None)
@given(variant_rows(8))
def test_pandera_schema_fails_exactly_where_the_validator_finds(rows):
    import pandera.polars as pa

    ctx = Context(year=2024, gemeentecodes=frozenset({"0363"}))
    frame = pl.DataFrame(rows, schema={c: pl.String for c in COLUMNS})
    expected = set()
    codes = frame.select(field_finding(k, ctx) for k in COLUMNS)
    for key in COLUMNS:
        for index, code in enumerate(codes[key].to_list()):
            if code is not None:
                expected.add((key, code, index))
    try:
        pandera_schema(ctx).validate(frame, lazy=True)
        failed = set()
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        failed = {
            (c, chk, int(i)) for c, chk, i in cases.select("column", "check", "index").iter_rows()
        }
    assert failed == expected


def test_own_field_steps_read_only_their_own_field():
    """What lets the validator judge them once per distinct value (`value_findings`)."""
    ctx = Context(year=2024, gemeentecodes=frozenset({"0363"}))
    for key, chain in ROW_RULES.items():
        for step in chain:
            if not isinstance(step, Across):
                code, condition = step
                assert set(condition(ctx).meta.root_names()) == {key}, (key, code)


@settings(max_examples=40, deadline=None)
@given(variant_rows(12))
def test_validator_judging_per_value_finds_what_the_whole_chain_finds(rows):
    """The validator judges own-field steps per distinct value and `Across` steps per row;
    the findings per rule are those of `field_finding` on every row."""
    gemeenten = load_gemeenten()
    ctx = Context(year=2024, gemeentecodes=gemeenten.codes_in_year(2024))
    frame = pl.DataFrame(rows, schema={c: pl.String for c in COLUMNS})
    codes = frame.select(field_finding(k, ctx) for k in COLUMNS)
    expected: dict[str, int] = {}
    for key in COLUMNS:
        for code in codes[key].drop_nulls().to_list():
            expected[code] = expected.get(code, 0) + 1
    lined = frame.with_columns(line=pl.int_range(2, frame.height + 2))
    report = validate_frame(lined, year=2024, gemeenten=gemeenten)
    found = {code: n for code, n in report.counts.items() if code.startswith("R")}
    assert found == expected
