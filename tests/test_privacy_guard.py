"""The privacy guard: no BSN or V-nummer outside the DAKL files, whatever a run writes.

The scanner (`privacy_scan.scan`) is tested first, so that its silence means something; then
the sample pipeline runs twice (JSON logs, then text logs with another `--now`), `dakl-etl diff`
compares the deliveries, and every byte of stdout, stderr and every file but the DAKL files is
scanned for the sample sources' BSNs and V-nummers.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from dakl_etl.pipeline.logs import EventLog
from privacy_scan import scan
from synthetic import synthetic_bsns

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "pipelines" / "sample.yaml"
DATA = ROOT / "data" / "sample"


# -- the scanner itself ------------------------------------------------------------------


def test_scanner_finds_a_planted_bsn_and_v_nummer(tmp_path):
    bsn, other = synthetic_bsns(2, seed=21)
    v_nummer = "1234567890"
    (tmp_path / "run.log").write_text(f'{{"event": "oops", "message": "client {bsn}"}}\n')
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "wide.txt").write_bytes(f"v={v_nummer}".encode("utf-16-le"))
    (tmp_path / "DAKL_J2024.csv").write_text(f"x;0363;{bsn};\n")  # allowed here
    (tmp_path / "ok.txt").write_text(f"masked ******{bsn[-3:]} and 1{other}9 (longer number)")
    leaks = scan(
        [bsn, other, v_nummer],
        roots=[tmp_path],
        blobs={"stderr": f"dakl-etl: row with {other} failed"},
    )
    found = {(Path(leak.where).name, leak.value) for leak in leaks}
    assert found == {
        ("run.log", "******" + bsn[-3:]),
        ("wide.txt", "*******890"),
        ("stderr", "******" + other[-3:]),
    }
    assert all(bsn not in str(leak) and other not in str(leak) for leak in leaks)


def test_scanner_catches_an_unmasked_log_line():
    """A deliberate unmasked line that bypasses the event log's scrubber is caught."""
    bsn = synthetic_bsns(1, seed=22)[0]
    stream = io.StringIO()
    log = EventLog(log_format="json", stream=stream)
    log.warning("bad_row", f"row with BSN {bsn}")  # scrubbed by the log
    assert scan([bsn], blobs={"log": stream.getvalue()}) == []
    stream.write(f"raw print of {bsn}\n")  # what a careless print() would do
    assert len(scan([bsn], blobs={"log": stream.getvalue()})) == 1


def test_scanner_refuses_an_empty_list():
    with pytest.raises(ValueError, match="nothing to scan"):
        scan([], blobs={"x": "y"})


# -- the sample pipeline, end to end -----------------------------------------------------


def sample_personal_numbers() -> set[str]:
    """Every BSN (also as Excel shows it, without its leading 0) and V-nummer of the sample."""
    values: list[str] = []
    case = pl.read_csv(
        DATA / "gemeente_zaken.csv", separator=";", infer_schema=False, encoding="utf8-lossy"
    )
    values += case["BSN"].drop_nulls().to_list() + case["V-nummer"].drop_nulls().to_list()
    nights = pl.read_excel(DATA / "nachtregistratie.xlsx", sheet_name="Bezetting")
    values += [str(v) for v in nights["BSN"].drop_nulls().to_list()]
    with sqlite3.connect(DATA / "mo_clienten.sqlite") as db:
        values += [
            str(v)
            for row in db.execute("SELECT bsn, v_nummer FROM clienten")
            for v in row
            if v is not None
        ]
    numbers = set()
    for value in values:
        value = value.strip()
        if re.fullmatch(r"\d{7,9}", value):
            numbers |= {value, value.zfill(9)}
        elif re.fullmatch(r"\d{10}", value):
            numbers.add(value)
    numbers.discard("999999999")  # "BSN unknown" is no one's number
    return numbers


def dakl(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dakl_etl", *args],
        capture_output=True,
        timeout=300,
        env={**os.environ, **(env or {})},
        cwd=ROOT,
    )


@pytest.mark.slow
def test_sample_run_writes_no_personal_number_outside_dakl_files(tmp_path):
    numbers = sample_personal_numbers()
    assert len(numbers) > 150  # the sample's people, V-nummers and Excel-damaged BSNs
    (tmp_path / "pipelines").mkdir()
    sample = Path(shutil.copy(SAMPLE, tmp_path / "pipelines" / "sample.yaml"))
    shutil.copytree(DATA, tmp_path / "data" / "sample")
    out = tmp_path / "out"
    first = dakl(
        "run", str(sample), "--out", str(out), "--now", "2025-04-24T09:00", "--log-format", "json"
    )
    assert first.returncode == 0, first.stderr.decode()
    # the next night, the case system lost ten records: the diff has rows and examples to show
    cases = tmp_path / "data" / "sample" / "gemeente_zaken.csv"
    lines = cases.read_bytes().splitlines(keepends=True)
    cases.write_bytes(b"".join(lines[:20] + lines[30:]))
    second = dakl(
        "run", str(sample), "--out", str(out), "--now", "2025-04-25T09:00", "--log-format", "text"
    )
    assert second.returncode == 0, second.stderr.decode()
    assert b"what changed in 2024 since run" in second.stdout
    runs = sorted((out / "runs").iterdir())
    assert len(runs) == 2
    old, new = (sorted(r.glob("DAKL_J2024_*.csv"))[0] for r in runs)
    diff_text = dakl("diff", str(old), str(new))
    diff_json = dakl("diff", "--format", "json", str(old), str(new))
    assert diff_text.returncode == 0 and diff_json.returncode == 0
    assert json.loads(diff_json.stdout)["examples"]  # masked examples were printed
    quiet = dakl("run", str(sample), "--out", str(out), "--now", "2025-04-25T09:00", "--quiet")
    assert quiet.returncode == 0

    # The scan must be able to see the numbers: they are in the DAKL files, and only there.
    in_dakl = scan(numbers, roots=[new], skip=re.compile("^$"))
    assert in_dakl, "the DAKL file should hold the sample's BSNs; is the number list right?"
    blobs = {
        f"{name}.{stream}": getattr(proc, stream)
        for name, proc in [
            ("run1", first),
            ("run2", second),
            ("diff", diff_text),
            ("diff-json", diff_json),
            ("run3", quiet),
        ]
        for stream in ("stdout", "stderr")
    }
    leaks = scan(numbers, roots=[out], blobs=blobs)
    assert leaks == [], "\n".join(map(str, leaks[:20]))


@pytest.mark.slow
def test_private_modes_of_a_sample_run(tmp_path):
    out = tmp_path / "out"
    done = dakl("run", str(SAMPLE), "--out", str(out), "--now", "2025-04-24T09:00", "--quiet")
    assert done.returncode == 0, done.stderr.decode()
    (run,) = (out / "runs").iterdir()
    assert run.stat().st_mode & 0o777 == 0o700
    assert (out / "runs").stat().st_mode & 0o777 == 0o700
    for path in run.iterdir():
        if path.name.startswith("DAKL_") or "rejects" in path.name:
            assert path.stat().st_mode & 0o777 == 0o600, path.name
