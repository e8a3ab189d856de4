"""The nightly wrapper around the real run, on a copy of the sample pipeline (Python API)."""

from __future__ import annotations

import hashlib
import io
import shutil
from pathlib import Path

import pytest

from dakl_etl.api import run_pipeline
from dakl_etl.errors import ExitCode
from dakl_etl.pipeline import rundir
from dakl_etl.pipeline.logs import EventLog
from dakl_etl.pipeline.manifest import read_manifest, without_timing

ROOT = Path(__file__).resolve().parents[1]
NOW = "2025-04-24T09:00"


@pytest.fixture
def sample(tmp_path) -> Path:
    """pipelines/sample.yaml and data/sample/ copied, so a test may break a source."""
    (tmp_path / "pipelines").mkdir()
    shutil.copy(ROOT / "pipelines" / "sample.yaml", tmp_path / "pipelines" / "sample.yaml")
    shutil.copytree(ROOT / "data" / "sample", tmp_path / "data" / "sample")
    return tmp_path / "pipelines" / "sample.yaml"


def quiet_log() -> EventLog:
    return EventLog(log_format="json", stream=io.StringIO())


def snapshot(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in directory.iterdir()}


@pytest.mark.slow
def test_sample_nightly_delivers_then_a_vanished_source_exits_3(sample, tmp_path, monkeypatch):
    monkeypatch.delenv("MO_DATABASE_URL", raising=False)
    out = tmp_path / "out"
    first = run_pipeline(sample, out=out, now=NOW, log=quiet_log())
    assert first.exit_code == ExitCode.OK, first.message
    assert sorted(first.dakl) == [2023, 2024]
    manifest = read_manifest(first.run_dir)
    assert {i["source"] for i in manifest["inputs"]} == {
        "gemeente_zaken",
        "nachtregistratie",
        "mo_clienten",
    }
    assert all(i["rows"] > 0 for i in manifest["inputs"])
    assert manifest["pipeline"]["config_hash"]
    kinds = {o["kind"] for o in manifest["outputs"]}
    assert {"dakl", "rejects", "ledger"} <= kinds
    before = snapshot(first.run_dir)

    twin = run_pipeline(sample, out=tmp_path / "twin", now=NOW, log=quiet_log())
    assert without_timing(read_manifest(twin.run_dir)) == without_timing(manifest)

    again = run_pipeline(sample, out=out, now=NOW, log=quiet_log())
    assert again.exit_code == ExitCode.OK
    d2024 = again.diff["years"]["2024"]
    assert d2024["rows"]["unchanged"] == d2024["rows"]["old"] == d2024["rows"]["new"]

    (sample.parent.parent / "data" / "sample" / "gemeente_zaken.csv").unlink()
    gone = run_pipeline(sample, out=out, now=NOW, log=quiet_log())
    assert gone.exit_code == ExitCode.SOURCE, gone.message
    assert "gemeente_zaken" in gone.message
    assert rundir.latest_run(out) == again.run_dir.resolve()
    assert snapshot(first.run_dir) == before
    assert read_manifest(gone.run_dir)["status"] == "source-unreadable"


@pytest.mark.slow
def test_database_down_exits_3_and_keeps_latest(sample, tmp_path, monkeypatch):
    monkeypatch.delenv("MO_DATABASE_URL", raising=False)
    out = tmp_path / "out"
    good = run_pipeline(sample, out=out, now=NOW, log=quiet_log())
    assert good.exit_code == ExitCode.OK, good.message
    monkeypatch.setenv(
        "MO_DATABASE_URL", f"sqlite:///{tmp_path}/no-such-dir/mo.sqlite"
    )  # database gone
    down = run_pipeline(sample, out=out, now=NOW, log=quiet_log())
    assert down.exit_code == ExitCode.SOURCE, down.message
    assert "mo_clienten" in down.message
    assert rundir.latest_run(out) == good.run_dir.resolve()


def test_configuration_error_exits_2_and_writes_nothing(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("delivery:\n  year: 2024\n  output: out\nsources: {}\n")
    log = EventLog(log_format="json", stream=io.StringIO())
    result = run_pipeline(bad, out=tmp_path / "out", now=NOW, log=log)
    assert result.exit_code == ExitCode.CONFIG
    assert str(bad) in result.message
    assert not (tmp_path / "out").exists()
    assert '"event": "summary"' in log.stream.getvalue()


def test_configuration_error_message_is_scrubbed_like_a_run_message(tmp_path):
    """`RunResult.message` of an early error was the raw text; a run's own was scrubbed."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("delivery:\n  year: 2024\n  output: out\n  x123456782: 1\nsources: {}\n")
    result = run_pipeline(bad, out=tmp_path / "out", now=NOW, log=quiet_log())
    assert result.exit_code == ExitCode.CONFIG and "x******782" in result.message
    assert "123456782" not in result.message


def test_bad_now_is_a_usage_error(sample, tmp_path):
    result = run_pipeline(sample, out=tmp_path / "out", now="yesterday", log=quiet_log())
    assert result.exit_code == ExitCode.CONFIG and "YYYY-MM-DDTHH:MM" in result.message


@pytest.mark.parametrize(("year", "previous"), [(99, False), (2101, False), (2000, True)])
def test_year_outside_the_range_is_refused_before_any_work(sample, tmp_path, year, previous):
    """`--year 99` used to run the whole pipeline and leave a failed run directory behind."""
    out = tmp_path / "out"
    result = run_pipeline(
        sample, out=out, year=year, with_previous_year=previous, now=NOW, log=quiet_log()
    )
    assert result.exit_code == ExitCode.CONFIG and "outside 2000-2100" in result.message
    assert result.run_dir is None and not out.exists()


def _api_run(sample: Path, out: Path, now: str, fault: str | None = None):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("DAKL_ETL_FAULT", "MO_DATABASE_URL")}
    if fault:
        env["DAKL_ETL_FAULT"] = fault
    code = (
        "import sys, dakl_etl; r = dakl_etl.run_pipeline(sys.argv[1], out=sys.argv[2], "
        "now=sys.argv[3], log_format='json'); sys.exit(int(r.exit_code))"
    )
    return subprocess.run(
        [sys.executable, "-c", code, str(sample), str(out), now],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


@pytest.mark.slow
def test_sample_killed_while_writing_a_dakl_file(sample, tmp_path):
    """SIGKILL with the first DAKL file written and fsynced under its temp name."""
    import signal

    out = tmp_path / "out"
    assert _api_run(sample, out, NOW).returncode == 0
    latest = rundir.latest_run(out)
    before = snapshot(latest)
    killed = _api_run(sample, out, "2025-04-25T09:00", fault="before-rename:DAKL_")
    assert killed.returncode == -signal.SIGKILL
    assert rundir.latest_run(out) == latest and snapshot(latest) == before
    (crashed,) = [r for r in rundir.run_dirs(out) if r.resolve() != latest]
    assert not list(crashed.glob("DAKL_*"))  # the DAKL file never got its name
    assert list(crashed.glob(".DAKL_*.tmp"))  # it died in between, as intended

    after = _api_run(sample, out, "2025-04-25T09:00")
    assert after.returncode == 0, after.stderr
    assert "took over the lock of an interrupted run" in after.stderr
    assert "removed the remains of an interrupted run" in after.stderr
    assert not crashed.exists()
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]
    assert rundir.latest_run(out) != latest and snapshot(latest) == before


@pytest.mark.slow
def test_readme_run_command_with_a_relative_out(sample, monkeypatch):
    """The README's first command, as a user types it: relative --out, from the repo root."""
    import os
    import subprocess
    import sys

    monkeypatch.chdir(sample.parents[1])
    env = {k: v for k, v in os.environ.items() if k not in ("DAKL_ETL_FAULT", "MO_DATABASE_URL")}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "dakl_etl",
            "run",
            "pipelines/sample.yaml",
            "--out",
            "out",
            "--now",
            NOW,
            "--log-format",
            "text",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "internal error" not in done.stderr + done.stdout
    assert "latest -> runs/" in done.stdout + done.stderr
    assert sorted(p.name for p in Path("out/latest").glob("DAKL_J*.csv")) == [
        "DAKL_J2023_regioVoorbeeld.csv",
        "DAKL_J2024_regioVoorbeeld.csv",
    ]
