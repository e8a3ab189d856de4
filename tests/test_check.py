"""`dakl-etl check`, `preview` and `schema`: the engineer's loop, through the real entry point."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from dakl_etl.cli import app, main
from dakl_etl.config import load_pipeline
from dakl_etl.reference import load_gemeenten
from dakl_etl.sources.profile import check_pipeline, safe

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "pipelines" / "sample.yaml"


def run(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    """`dakl-etl ARGS` through `main()`: exit code, stdout, stderr."""
    monkeypatch.setattr(sys, "argv", ["dakl-etl", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err


@pytest.fixture(autouse=True)
def _no_env_database(monkeypatch):
    monkeypatch.delenv("MO_DATABASE_URL", raising=False)


def test_check_reports_the_planted_defects_with_counts_and_lines(monkeypatch, capsys) -> None:
    code, out, err = run(monkeypatch, capsys, "check", str(SAMPLE))
    assert code == 0, err
    assert "source gemeente_zaken (csv, encoding cp1252, delimiter ';'): 218 rows" in out
    assert "unmapped label [R10] in Voorziening 'Crisisopvang': 2×" in out
    assert "line 215, line 216" in out
    assert "unparseable date [R11] in Begindatum: 1×" in out
    assert "line 217 (31-02-2024)" in out
    assert re.search(
        r"BSN fails the elfproef \(rejected by the run\) \[R06\] in BSN: 1×\n"
        r"\s+line 218 \(\*{6}\d{3}\)",
        out,
    )
    assert re.search(r"BSN repaired .* in BSN: 1×\n\s+line 219 \(\*{6}\d{3}\)", out)
    assert "gemeentecode repaired (leading zeros restored) in Gemeentecode: 1×" in out
    assert "type_opvang: Beschermd wonen" in out and "type_opvang: Housing First" in out
    assert "can run: yes" in out


def test_check_never_shows_a_bsn_unmasked(monkeypatch, capsys) -> None:
    _, text, _ = run(monkeypatch, capsys, "check", str(SAMPLE))
    _, as_json, _ = run(monkeypatch, capsys, "check", str(SAMPLE), "--format", "json")
    as_json = as_json.replace(json.loads(as_json)["config_hash"], "")
    for out in (text, as_json):
        assert not re.search(r"(?<!\d)\d{8,10}(?!\d)", out.replace("999999999", ""))


def test_check_json_is_the_same_profile(monkeypatch, capsys) -> None:
    code, out, _ = run(
        monkeypatch, capsys, "check", str(SAMPLE), "--format", "json", "--source", "gemeente_zaken"
    )
    data = json.loads(out)
    assert code == 0 and data["can_run"] is True
    (zaken,) = data["sources"]
    assert zaken["name"] == "gemeente_zaken" and zaken["rows"] == 218
    assert zaken["rejects"] == {"R10": 2, "R11": 1}
    unmapped = [f for f in zaken["findings"] if f["what"] == "unmapped label"]
    assert unmapped == [
        {
            "what": "unmapped label",
            "field": "Voorziening",
            "count": 2,
            "rule": "R10",
            "label": "Crisisopvang",
            "examples": [{"line": 215, "value": ""}, {"line": 216, "value": ""}],
            "more": 0,
        }
    ]


def test_strict_check_blocks_on_defects(monkeypatch, capsys) -> None:
    code, out, _ = run(monkeypatch, capsys, "check", str(SAMPLE), "--strict")
    assert code == 1
    assert "BLOCKS THE RUN: (strict) unmapped label in Voorziening: 2×" in out
    assert "can run: no" in out


def test_config_error_exits_2_with_one_located_line(monkeypatch, capsys, tmp_path) -> None:
    broken = tmp_path / "p.yaml"
    broken.write_text(
        SAMPLE.read_text(encoding="utf-8").replace("  year: 2024", "  yaer: 2024"), encoding="utf-8"
    )
    code, out, err = run(monkeypatch, capsys, "check", str(broken))
    assert code == 2 and out == ""
    assert err.startswith(f"dakl-etl: {broken}:7:3: delivery.yaer: unknown key")
    assert "did you mean 'year'?" in err
    assert "Traceback" not in err


def test_unreadable_source_blocks_the_run(monkeypatch, capsys, tmp_path) -> None:
    moved = tmp_path / "p.yaml"
    moved.write_text(SAMPLE.read_text(encoding="utf-8"), encoding="utf-8")  # relative paths break
    code, out, err = run(monkeypatch, capsys, "check", str(moved), "--source", "gemeente_zaken")
    assert code == 1, err
    assert "source gemeente_zaken (csv): CANNOT BE READ — source gemeente_zaken: file" in out
    assert "can run: no" in out


def test_a_source_with_no_deliverable_row_blocks(tmp_path) -> None:
    text = SAMPLE.read_text(encoding="utf-8").replace(
        'default: ["%d-%m-%Y"]', 'default: ["%Y/%m/%d"]'
    )
    text = text.replace("../data/sample", str(ROOT / "data" / "sample"))
    (tmp_path / "p.yaml").write_text(text, encoding="utf-8")
    result = check_pipeline(
        load_pipeline(tmp_path / "p.yaml"), gemeenten=load_gemeenten(), only="gemeente_zaken"
    )
    assert result.blocked and result.exit_code == 1
    (profile,) = result.sources
    assert profile.deliverable == 0
    assert any(f.what == "unparseable date" and f.count >= 200 for f in profile.findings)


def test_unknown_source_name(monkeypatch, capsys) -> None:
    code, _, err = run(monkeypatch, capsys, "check", str(SAMPLE), "--source", "nope")
    assert code == 2
    assert "no source 'nope'; sources: gemeente_zaken, nachtregistratie, mo_clienten" in err


def test_preview_shows_masked_rows_beside_their_lines(monkeypatch, capsys) -> None:
    code, out, _ = run(
        monkeypatch,
        capsys,
        "preview",
        str(SAMPLE),
        "--source",
        "gemeente_zaken",
        "--rows",
        "10",
        "--problems",
    )
    assert code == 0
    assert "source_row" in out.splitlines()[1]
    assert "Crisisopvang" in out and "R10" in out and "31-02-2024" in out
    assert not re.search(r"(?<!\d)\d{9,10}(?!\d)", out)
    assert re.search(r"\*{6}\d{3}", out)


def test_preview_masks_a_client_id_that_is_a_bsn(tmp_path) -> None:
    from dakl_etl.sources import preview

    (tmp_path / "s.csv").write_text("Id;Gem;Type;Begin\n123456782;0363;0201;2024-01-02\n")
    (tmp_path / "p.yaml").write_text(
        "delivery: {year: 2024, output: out}\n"
        "sources:\n"
        "  s: {kind: csv, path: s.csv, columns: {client_id: Id, gemeente: Gem,"
        " type_opvang: Type, startdatum: Begin}}\n"
    )
    pipeline = load_pipeline(tmp_path / "p.yaml")
    frame = preview("s", pipeline, gemeenten=load_gemeenten())
    assert frame["client_id"].to_list() == ["******782"]


def test_schema_prints_the_json_schema(monkeypatch, capsys, tmp_path) -> None:
    code, out, _ = run(monkeypatch, capsys, "schema")
    assert code == 0
    assert json.loads(out)["title"] == "dakl-etl pipeline"
    code, _, _ = run(monkeypatch, capsys, "schema", "-o", str(tmp_path / "s.json"))
    assert (tmp_path / "s.json").read_text(encoding="utf-8") == out


def test_every_command_and_option_has_help_text() -> None:
    import typer.main

    group = typer.main.get_command(app)
    for name in ("check", "preview", "schema"):
        command = group.commands[name]
        assert command.help, name
        for param in command.params:
            if param.param_type_name == "option":
                assert param.help, f"{name} {param.name}"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("Crisisopvang", "Crisisopvang"),
        ("31-02-2024", "31-02-2024"),
        ("123456782", "******782"),
        ("zaak 1234567890", "zaak *******890"),
    ],
)
def test_values_that_may_be_personal_are_masked(value, shown) -> None:
    assert safe(value) == shown


def test_a_code_that_did_not_exist_in_a_reporting_year_is_a_warning(tmp_path) -> None:
    # 0501 Brielle merged into 1992 Voorne aan Zee on 1 January 2023 (shipped reference list)
    (tmp_path / "zaken.csv").write_text(
        "BSN;Gemeente;Voorziening;Begindatum\n"
        "900000004;0501;0301;2024-02-01\n"
        "900000016;0363;0301;2024-02-01\n"
        "900000028;0501;0301;2024-03-01\n",
        encoding="utf-8",
    )
    (tmp_path / "p.yaml").write_text(
        "delivery: {free_text: t, year: 2024, with_previous_year: true, output: out}\n"
        "sources:\n"
        "  zaken:\n"
        "    kind: csv\n"
        "    path: zaken.csv\n"
        "    columns: {bsn: BSN, gemeente: Gemeente, type_opvang: Voorziening,"
        " startdatum: Begindatum}\n",
        encoding="utf-8",
    )
    result = check_pipeline(load_pipeline(tmp_path / "p.yaml"), gemeenten=load_gemeenten())
    (profile,) = result.sources
    stale = [f for f in profile.findings if f.rule == "R04"]
    assert [(f.label, f.count, [e.line for e in f.examples]) for f in stale] == [
        ("0501", 2, [2, 4]),
        ("0501", 2, [2, 4]),
    ]
    assert "withheld from J2024" in stale[0].what and "withheld from J2023" in stale[1].what
    assert profile.deliverable == 3 and not result.blocked  # a warning: the run delivers the rest
    assert check_pipeline(
        load_pipeline(tmp_path / "p.yaml"), gemeenten=load_gemeenten(), strict=True
    ).blocked
