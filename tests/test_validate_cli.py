"""`dakl-etl validate` end to end: exit codes, text and JSON, malformed input, masking."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from dakl_etl.cli import main
from dakl_rows import BSNS, base_rows, dakl
from synthetic import invalid_bsn

REPO = Path(__file__).resolve().parents[1]
SAMPLE_OK = REPO / "data" / "sample" / "DAKL_J2024_voorbeeld.csv"
SAMPLE_BAD = REPO / "data" / "sample" / "DAKL_J2024_fouten.csv"


def run(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    """Run the real console entry point in-process; (exit code, stdout, stderr)."""
    monkeypatch.setattr(sys, "argv", ["dakl-etl", "validate", *map(str, args)])
    with pytest.raises(SystemExit) as info:
        main()
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return int(info.value.code or 0), out, err


def write(tmp_path: Path, data: bytes, name: str = "DAKL_J2024_test.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_sample_valid_file_is_accepted(monkeypatch, capsys):
    code, out, _ = run(monkeypatch, capsys, SAMPLE_OK)
    assert code == 0
    assert out.splitlines()[0].endswith("accepted with 1 warning (12 rows, year 2024)")


def test_sample_with_excel_damage_is_rejected(monkeypatch, capsys):
    code, out, _ = run(monkeypatch, capsys, SAMPLE_BAD)
    assert code == 1
    assert "rejected: 9 errors in 7 rows" in out.splitlines()[0]
    for rule in ("R02", "R03", "R05", "R10", "R17", "R18", "R20", "F07"):
        assert f"  {rule} " in out
    assert out.index("errors:") < out.index("warnings:")
    assert "leading zeros lost (Excel?)" in out
    assert "dd-mm-yyyy" in out


def test_json_has_the_issue_shape(monkeypatch, capsys):
    code, out, _ = run(monkeypatch, capsys, "--format", "json", SAMPLE_BAD)
    assert code == 1
    doc = json.loads(out)
    assert isinstance(doc, dict)
    assert {"file", "year", "accepted", "rows", "findings"} <= set(doc)
    assert doc["year"] == 2024 and doc["accepted"] is False and doc["rows"] == 12
    finding = next(f for f in doc["findings"] if f["code"] == "R05")
    assert list(finding) == ["code", "severity", "line", "column", "field", "value", "message"]
    assert finding["line"] == 4 and finding["column"] == 3 and finding["field"] == "BSN"
    assert finding["value"].startswith("*****")
    empty = next(f for f in doc["findings"] if f["code"] == "F07")
    assert empty["column"] is None


def test_text_for_several_files_ends_with_a_count(monkeypatch, capsys):
    code, out, _ = run(monkeypatch, capsys, SAMPLE_OK, SAMPLE_BAD)
    assert code == 1
    assert out.rstrip().splitlines()[-1] == "2 files: 1 accepted, 1 rejected"


def test_json_array_for_several_files(monkeypatch, capsys):
    code, out, _ = run(monkeypatch, capsys, "--format", "json", SAMPLE_OK, SAMPLE_BAD)
    assert code == 1
    docs = json.loads(out)
    assert [d["accepted"] for d in docs] == [True, False]


def test_max_examples_caps_and_says_so(monkeypatch, capsys, tmp_path):
    rows = base_rows(5)
    for row in rows:
        row["gemeentecode"] = "363"
    path = write(tmp_path, dakl(rows))
    code, out, _ = run(monkeypatch, capsys, "--max-examples", "2", path)
    assert code == 1
    assert out.count("leading zeros lost") == 2
    assert "and 3 more" in out


def test_year_option_and_zip(monkeypatch, capsys, tmp_path):
    archive = tmp_path / "levering.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("map/DAKL_J2024_a.csv", dakl(base_rows()))
        z.writestr("__MACOSX/._DAKL_J2024_a.csv", b"junk")
        z.writestr("leesmij.pdf", b"%PDF")
    code, out, _ = run(monkeypatch, capsys, "--format", "json", archive)
    assert code == 0
    doc = json.loads(out)
    assert doc["file"].endswith("levering.zip:map/DAKL_J2024_a.csv") and doc["accepted"]
    code, out, _ = run(monkeypatch, capsys, "--year", "2023", archive)
    assert code == 1 and "F01" in out


@pytest.mark.parametrize(
    ("data", "expect"),
    [
        (b"", "the file is empty"),
        (random.Random(1).randbytes(20_000), "F03"),
        (dakl(base_rows()).replace(b"0363", b"03\xe963", 1), "not UTF-8"),
        (dakl(base_rows()).replace(b"0363", b"03\x0063", 1), "NUL"),
        (dakl([*base_rows(1), ";" * 9_999]), "10000 fields, expected 9"),
        (b"\x00" * 5000, "is this a DAKL text file"),
        (dakl(base_rows()).replace(b"\r\n", b"\r"), "CR only"),
    ],
    ids=["empty", "binary", "invalid-utf8", "nul", "10000-columns", "all-nul", "cr-only"],
)
def test_malformed_files_exit_1_with_a_clear_message(monkeypatch, capsys, tmp_path, data, expect):
    path = write(tmp_path, data)
    code, out, _ = run(monkeypatch, capsys, path)
    assert code == 1
    assert expect in out
    assert len(out) < 20_000  # examples are capped, not the whole file echoed


@pytest.mark.parametrize(
    ("make", "expect"),
    [
        (lambda p: p / "missing.csv", "no such file"),
        (lambda p: p, "is a directory"),
        (lambda p: write(p, b"not a zip", "x.zip"), "not a readable zip"),
        (lambda p: _zip(p, {"leesmij.pdf": b"%PDF"}), "holds no DAKL file"),
    ],
    ids=["missing", "directory", "bad-zip", "zip-without-dakl"],
)
def test_unusable_paths_exit_2_with_one_line(monkeypatch, capsys, tmp_path, make, expect):
    code, out, err = run(monkeypatch, capsys, make(tmp_path))
    assert code == 2
    assert out == ""
    assert expect in err and err.count("\n") == 1


def _zip(directory: Path, members: dict[str, bytes]) -> Path:
    path = directory / "levering.zip"
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def test_bad_reference_exits_2(monkeypatch, capsys, tmp_path):
    reference = write(tmp_path, b"code;naam\n0363;Amsterdam\n", "gemeenten.csv")
    code, _, err = run(monkeypatch, capsys, "--reference", reference, SAMPLE_OK)
    assert code == 2 and "--reference" in err and "gemeentecode" in err
    code, _, err = run(monkeypatch, capsys, "--reference", tmp_path / "nope.csv", SAMPLE_OK)
    assert code == 2 and "not found" in err


def test_own_reference_is_used(monkeypatch, capsys, tmp_path):
    reference = write(
        tmp_path,
        b"gemeentecode;gemeentenaam;provincie;geldig_vanaf;geldig_tot\n"
        b"0363;Amsterdam;Noord-Holland;1970-01-01;\n",
        "gemeenten.csv",
    )
    code, out, _ = run(monkeypatch, capsys, "--reference", reference, SAMPLE_OK)
    assert code == 1 and "R04" in out  # 0344, 0599, 0518 are not in this list


def test_usage_errors_exit_2(monkeypatch, capsys):
    code, _, err = run(monkeypatch, capsys, "--format", "xml", SAMPLE_OK)
    assert code == 2
    code, _, err = run(monkeypatch, capsys, "--year", "24", SAMPLE_OK)
    assert code == 2 and "four-digit" in err


def test_one_line_errors_are_scrubbed(monkeypatch, capsys, tmp_path):
    """A DaklError's text may quote the input: `main()` masks what looks like a BSN."""
    bsn = BSNS[0]
    code, _, err = run(monkeypatch, capsys, tmp_path / f"client_{bsn}.csv")
    assert code == 2 and "no such file" in err
    assert bsn not in err and f"******{bsn[-3:]}" in err


def test_year_limits_are_the_pipelines(monkeypatch, capsys):
    """One range for --year, delivery.year and the writer: protocol.fields.YEAR_MIN/MAX."""
    from dakl_etl.protocol.fields import YEAR_MAX, YEAR_MIN

    for year in (YEAR_MIN - 1, YEAR_MAX + 1):
        code, _, err = run(monkeypatch, capsys, "--year", str(year), SAMPLE_OK)
        assert code == 2 and f"from {YEAR_MIN} to {YEAR_MAX}" in err
    code, _, _ = run(monkeypatch, capsys, "--year", "2024", SAMPLE_OK)
    assert code == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        # Arabic-Indic digits: `\d{4}` took them for a gemeentecode
        ("\u0660\u0663\u0666\u0663;Amsterdam;Noord-Holland;1970-01-01;\n", ":2: reference row"),
        (None, "is a directory"),
    ],
)
def test_unusable_reference_list_is_one_line(monkeypatch, capsys, tmp_path, content, message):
    reference = tmp_path
    if content is not None:
        head = "gemeentecode;gemeentenaam;provincie;geldig_vanaf;geldig_tot\n"
        reference = write(tmp_path, (head + content).encode(), "gemeenten.csv")
    code, _, err = run(monkeypatch, capsys, "--reference", reference, SAMPLE_OK)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_no_bsn_or_v_nummer_in_any_output(monkeypatch, capsys, tmp_path):
    rows = base_rows(3)
    rows[0]["bsn"] = invalid_bsn(BSNS[0])
    rows[1]["v_nummer"] = "123456789"
    rows[2]["gemeentecode"] = BSNS[2]
    path = write(tmp_path, dakl(rows))
    secrets = (rows[0]["bsn"], "123456789", BSNS[2], BSNS[1])
    for fmt in ("text", "json"):
        code, out, err = run(monkeypatch, capsys, "--format", fmt, path)
        assert code == 1
        for secret in secrets:
            assert secret not in out + err


def test_help_texts_exist():
    from typer.main import get_command

    from dakl_etl.cli import app

    command = get_command(app).commands["validate"]
    assert command.help
    for param in command.params:
        if param.name != "paths":
            assert param.help, param.name


@pytest.mark.slow
def test_python_m_entry_point_without_traceback(tmp_path):
    path = write(tmp_path, b"\xff\xfe garbage \x00\x01")
    result = subprocess.run(
        [sys.executable, "-m", "dakl_etl", "validate", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "F03" in result.stdout
