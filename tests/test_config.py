"""The pipeline YAML: loading, and config mistakes named at file:line:column with the key path."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dakl_etl.config import load_pipeline
from dakl_etl.config.models import Delivery
from dakl_etl.config.schema import pipeline_json_schema_text
from dakl_etl.errors import ConfigError, ExitCode

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "pipelines" / "sample.yaml"

MINIMAL = """\
delivery:
  free_text: regio
  year: 2024
  output: out
mappings:
  type_opvang:
    Nachtopvang: "0201"
sources:
  zaken:
    kind: csv
    path: zaken.csv
    columns:
      bsn: BSN
      gemeente: Gemeente
      type_opvang: Voorziening
      startdatum: Begin
"""


def write(tmp_path: Path, text: str, name: str = "p.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def error_of(path: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_pipeline(path)
    assert caught.value.exit_code == ExitCode.CONFIG
    return str(caught.value)


def located(message: str, path: Path, line: int, column: int, key: str) -> None:
    assert message.startswith(f"{path}:{line}:{column}: {key}:"), message


def test_sample_pipeline_loads_with_its_settings() -> None:
    pipeline = load_pipeline(SAMPLE)
    assert pipeline.delivery.year == 2024
    assert pipeline.delivery.free_text == "regioVoorbeeld"
    assert pipeline.delivery.output == (ROOT / "out").resolve()
    assert pipeline.delivery.reference is None
    assert list(pipeline.sources) == ["gemeente_zaken", "nachtregistratie", "mo_clienten"]
    assert pipeline.persons.invalid_bsn == "reject"
    assert pipeline.gap_days_for("0201") == 1
    assert pipeline.gap_days_for("0301") == 0
    assert pipeline.episodes.end_date_precedence == ["mo_clienten"]
    assert pipeline.path == SAMPLE
    assert re.fullmatch(r"[0-9a-f]{64}", pipeline.config_hash)


def test_relative_sqlite_url_is_resolved_against_the_yaml(monkeypatch) -> None:
    monkeypatch.delenv("MO_DATABASE_URL", raising=False)
    url = load_pipeline(SAMPLE).sources["mo_clienten"].url
    assert url == f"sqlite:///{ROOT / 'data' / 'sample' / 'mo_clienten.sqlite'}"


def test_env_var_overrides_the_default(monkeypatch) -> None:
    monkeypatch.setenv("MO_DATABASE_URL", "postgresql://mo@db.example/mo")
    assert load_pipeline(SAMPLE).sources["mo_clienten"].url == "postgresql://mo@db.example/mo"


def test_config_hash_ignores_comments_but_not_content(tmp_path) -> None:
    a = load_pipeline(write(tmp_path, MINIMAL, "a.yaml"))
    b = load_pipeline(write(tmp_path, "# a comment\n" + MINIMAL, "b.yaml"))
    c = load_pipeline(write(tmp_path, MINIMAL.replace("2024", "2023"), "c.yaml"))
    assert a.config_hash == b.config_hash != c.config_hash


def test_unquoted_code_with_leading_zero_stays_text(tmp_path) -> None:
    pipeline = load_pipeline(write(tmp_path, MINIMAL.replace('"0201"', "0201")))
    assert pipeline.mappings.type_opvang == {"Nachtopvang": "0201"}


# --- config mistakes: each names file:line:column and the key path ---------------------------


def test_misspelt_key_says_did_you_mean(tmp_path) -> None:
    path = write(tmp_path, MINIMAL.replace("  free_text:", "  free_txt:"))
    message = error_of(path)
    located(message, path, 2, 3, "delivery.free_txt")
    assert "unknown key" in message
    assert "did you mean 'free_text'?" in message


def test_misspelt_key_deep_in_a_source(tmp_path) -> None:
    path = write(tmp_path, MINIMAL.replace("      startdatum: Begin", "      startdatun: Begin"))
    message = error_of(path)
    located(message, path, 16, 7, "sources.zaken.columns.startdatun")
    assert "did you mean 'startdatum'?" in message


def test_wrong_type(tmp_path) -> None:
    path = write(tmp_path, MINIMAL.replace("year: 2024", "year: twenty"))
    message = error_of(path)
    located(message, path, 3, 9, "delivery.year")
    assert "integer" in message and "'twenty'" in message


def test_unknown_source_kind(tmp_path) -> None:
    path = write(tmp_path, MINIMAL.replace("kind: csv", "kind: xlsx"))
    message = error_of(path)
    located(message, path, 10, 11, "sources.zaken.kind")
    assert "unknown source kind 'xlsx'" in message
    assert "csv, excel, parquet, sql" in message
    assert "did you mean 'excel'?" in message


def test_mapping_to_a_code_not_in_the_protocol(tmp_path) -> None:
    path = write(tmp_path, MINIMAL.replace('"0201"', '"0202"'))
    message = error_of(path)
    located(message, path, 7, 5, "mappings.type_opvang.Nachtopvang")
    assert "'0202' is not a TypeOpvang code" in message


@pytest.mark.parametrize("code", ["363", "٠٣٦٣"], ids=["three-digits", "arabic-indic"])
def test_gemeente_mapping_needs_four_ascii_digits(tmp_path, code) -> None:
    mapping = f'  gemeente: {{Zeist: "{code}"}}\nsources:'
    path = write(tmp_path, MINIMAL.replace("sources:", mapping))
    message = error_of(path)
    located(message, path, 8, 14, "mappings.gemeente.Zeist")
    assert f"'{code}' is not a 4-digit gemeentecode" in message


def test_validator_message_is_ours_without_pydantic_prefix(tmp_path) -> None:
    path = write(tmp_path, MINIMAL + "    constants: {reden: '05'}\n")
    message = error_of(path)
    located(message, path, 17, 24, "sources.zaken.constants.reden")
    assert message.endswith(
        ": '05' is not a Reden beëindiging code; expected one of 02, 19, 21, 22, 23, 99"
    )


def test_env_var_not_set(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("DAKL_TEST_UNSET_VAR", raising=False)
    path = write(tmp_path, MINIMAL.replace("path: zaken.csv", "path: ${DAKL_TEST_UNSET_VAR}"))
    message = error_of(path)
    located(message, path, 11, 11, "sources.zaken.path")
    assert "environment variable DAKL_TEST_UNSET_VAR is not set" in message


def test_missing_column_in_the_source(tmp_path) -> None:
    from dakl_etl.reference import load_gemeenten
    from dakl_etl.sources import read_source

    (tmp_path / "zaken.csv").write_text("BSN;Gemeente;Voorziening;Begindatum\n", encoding="utf-8")
    path = write(tmp_path, MINIMAL)
    with pytest.raises(ConfigError) as caught:
        read_source("zaken", load_pipeline(path), gemeenten=load_gemeenten())
    message = str(caught.value)
    located(message, path, 16, 7, "sources.zaken.columns.startdatum")
    assert "column 'Begin' is not in source zaken" in message
    assert "did you mean 'Begindatum'?" in message


def test_literal_password_is_refused(tmp_path) -> None:
    text = MINIMAL.replace(
        "    kind: csv\n    path: zaken.csv",
        "    kind: sql\n    url: postgresql://mo:geheim@db/mo\n    table: verblijven",
    )
    path = write(tmp_path, text)
    message = error_of(path)
    located(message, path, 11, 10, "sources.zaken.url")
    assert "environment variable" in message
    assert "geheim" not in message


def test_literal_password_in_an_env_default_is_refused(tmp_path) -> None:
    text = MINIMAL.replace(
        "    kind: csv\n    path: zaken.csv",
        "    kind: sql\n    url: ${DB_URL:-postgresql://mo:geheim@db/mo}\n    table: verblijven",
    )
    message = error_of(write(tmp_path, text))
    assert "sources.zaken.url: a password written in the pipeline file is refused" in message
    assert "geheim" not in message


def test_password_from_env_var_is_fine(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("DAKL_TEST_PW", "geheim")
    text = MINIMAL.replace(
        "    kind: csv\n    path: zaken.csv",
        "    kind: sql\n    url: postgresql://mo:${DAKL_TEST_PW}@db/mo\n    table: verblijven",
    )
    assert load_pipeline(write(tmp_path, text)).sources["zaken"].url.endswith("geheim@db/mo")


def test_missing_required_key(tmp_path) -> None:
    path = write(tmp_path, MINIMAL.replace("  year: 2024\n", ""))
    message = error_of(path)
    # Points at the mapping that lacks the key.
    assert message.startswith(f"{path}:1:1: delivery.year: required key missing"), message


def test_cross_field_rule_points_at_the_key(tmp_path) -> None:
    text = MINIMAL.replace(
        "sources:\n  zaken:", "episodes:\n  end_date_precedence: [zaak]\nsources:\n  zaken:"
    )
    path = write(tmp_path, text)
    message = error_of(path)
    located(message, path, 9, 25, "episodes.end_date_precedence.0")
    assert "'zaak' is not a source" in message


def test_wrong_literal_suggests_the_option(tmp_path) -> None:
    path = write(
        tmp_path, MINIMAL.replace("    path: zaken.csv", "    path: zaken.csv\n    encoding: utf8")
    )
    message = error_of(path)
    located(message, path, 12, 15, "sources.zaken.encoding")
    assert "did you mean 'utf-8'?" in message


def test_free_text_with_forbidden_characters(tmp_path) -> None:
    path = write(tmp_path, MINIMAL.replace("free_text: regio", "free_text: regio.v2"))
    message = error_of(path)
    located(message, path, 2, 14, "delivery.free_text")
    assert "F02" in message


def test_yaml_syntax_error_has_a_position(tmp_path) -> None:
    path = write(tmp_path, MINIMAL.replace("  year: 2024", "  year: [2024"))
    assert re.match(rf"{re.escape(str(path))}:\d+:\d+: YAML syntax", error_of(path))


def test_missing_pipeline_file(tmp_path) -> None:
    assert "pipeline file not found" in error_of(tmp_path / "nope.yaml")


@settings(max_examples=40, deadline=None)
@given(
    key=st.sampled_from(["free_text", "with_previous_year", "output", "reference"]), data=st.data()
)
def test_any_one_letter_typo_of_a_key_gets_did_you_mean(tmp_path_factory, key, data) -> None:
    position = data.draw(st.integers(0, len(key) - 1))
    typo = key[:position] + key[position + 1 :]
    if typo in Delivery.model_fields:
        return
    tmp = tmp_path_factory.mktemp("typo")
    text = MINIMAL.replace("  output: out", f"  output: out\n  {typo}: x")
    message = error_of(write(tmp, text))
    assert f"delivery.{typo}: unknown key" in message
    assert f"did you mean '{key}'?" in message


def test_schema_document_is_current() -> None:
    """docs/pipeline.schema.json is generated: `dakl-etl schema -o docs/pipeline.schema.json`."""
    current = (ROOT / "docs" / "pipeline.schema.json").read_text(encoding="utf-8")
    assert current == pipeline_json_schema_text()
    schema = json.loads(current)
    assert set(schema["properties"]) >= {"delivery", "sources", "mappings", "episodes"}


def test_sample_yamls_carry_the_schema_comment() -> None:
    for path in (ROOT / "pipelines").glob("*.yaml"):
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first == "# yaml-language-server: $schema=../docs/pipeline.schema.json", path


@pytest.mark.parametrize(
    ("pattern", "why"),
    [("%d-%m-%Q", "unknown %Q"), ("d-m-Y", "not a strftime date pattern")],
    ids=["unknown-directive", "no-directive"],
)
def test_date_pattern_typo_is_named_where_it_stands(tmp_path, pattern, why) -> None:
    path = write(tmp_path, MINIMAL + f"    dates: {{startdatum: ['%d-%m-%Y', '{pattern}']}}\n")
    message = error_of(path)
    located(message, path, 17, 38, "sources.zaken.dates.startdatum.1")
    assert why in message and "'%d-%m-%Y'" in message


def test_sample_date_patterns_are_accepted() -> None:
    assert load_pipeline(SAMPLE).sources["gemeente_zaken"].dates == {"default": ["%d-%m-%Y"]}
