"""Whole nightly runs with a real producer: delivery, blocking, crashes, races, vanished sources.

The producer (`nightly_helpers.produce`) reads a CSV and writes DAKL, rejects and ledger files
through `atomic_output`, like the real run; subprocess tests run it with `nightly_helpers.py`.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import stat
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

from dakl_etl.errors import ExitCode
from dakl_etl.pipeline import rundir
from dakl_etl.pipeline.logs import EventLog
from dakl_etl.pipeline.manifest import TIMING_FIELDS, read_manifest, without_timing
from dakl_etl.pipeline.nightly import describe_from_config, nightly_run
from nightly_helpers import GATE_ENV, pipeline_for, produce, write_source
from synthetic import invalid_bsn, synthetic_bsns

HELPER = Path(__file__).parent / "nightly_helpers.py"
NOW = datetime(2025, 4, 24, 9, 0)
BSNS = synthetic_bsns(6, seed=11)


def rows(n: int = 4, *, end: str = "20241231", type_: str = "0301") -> list[tuple[str, ...]]:
    return [(b, "0363", type_, "20240105", end, "", "") for b in BSNS[:n]]


def run(out: Path, source: Path, **kw):
    log = kw.pop("log", None) or EventLog(log_format="json", stream=io.StringIO())
    kw.setdefault("reports", False)  # the report is tested once, below; it costs a validation
    kw.setdefault("produce", produce)
    return nightly_run(
        pipeline_for(source),
        out,
        years=[2024],
        now=NOW,
        log=log,
        describe=describe_from_config,
        **kw,
    )


def snapshot(directory: Path) -> dict[str, str]:
    return {
        str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def subprocess_run(out: Path, source: Path, env: dict | None = None, **kw):
    return subprocess.Popen(
        [sys.executable, str(HELPER), str(out), str(source), NOW.isoformat()],
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **kw,
    )


# -- in process --------------------------------------------------------------------------


def test_delivered_run_moves_latest_and_writes_a_manifest(tmp_path):
    source = write_source(
        tmp_path / "src.csv",
        [*rows(), (invalid_bsn(BSNS[5]), "0363", "0301", "20240101", "", "", "")],
    )
    out = tmp_path / "out"
    result = run(out, source, reports=True)
    assert result.exit_code == ExitCode.OK and result.delivered
    assert rundir.latest_run(out) == result.run_dir.resolve()
    assert stat.S_IMODE(result.run_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(result.dakl[2024].stat().st_mode) == 0o600
    manifest = read_manifest(result.run_dir)
    assert manifest["status"] == "delivered" and manifest["exit_code"] == 0
    assert manifest["accepted"] is True
    assert manifest["inputs"] == [
        {
            "source": "shelter",
            "kind": "csv",
            "path": str(source),
            "sha256": hashlib.sha256(source.read_bytes()).hexdigest(),
            "rows": 5,
        }
    ]
    outputs = {o["name"]: o for o in manifest["outputs"]}
    assert outputs["DAKL_J2024.csv"]["rows"] == 4 and outputs["DAKL_J2024.csv"]["year"] == 2024
    assert (
        outputs["DAKL_J2024.csv"]["sha256"]
        == hashlib.sha256(result.dakl[2024].read_bytes()).hexdigest()
    )
    assert outputs["rejects.csv"]["kind"] == "rejects"
    assert outputs["ledger.json"]["kind"] == "ledger"
    assert outputs["report_J2024.html"]["kind"] == "report"
    assert result.report_summaries and "DAKL_J2024.csv" in result.report_summaries[0]
    figures = manifest["reports"]["2024"]
    assert figures["file"] == "report_J2024.html" and figures["rows"] == 4
    assert figures["persons_bsn"] == 4 and isinstance(figures["signals"], list)
    assert manifest["ledger"]["totals"]["rejected"] == {"R06": 1}
    assert manifest["versions"]["polars"] and manifest["versions"]["python"]
    assert manifest["now"] == "2025-04-24T09:00:00"
    assert manifest["diff"] == {"against": None, "years": {"2024": None}}


def test_second_run_reports_what_changed_against_latest(tmp_path):
    out = tmp_path / "out"
    first = run(out, write_source(tmp_path / "a.csv", rows(4)))
    changed = [*rows(3)]  # BSNS[3] gone
    changed[0] = (BSNS[0], "0363", "0301", "20240105", "20240301", "19", "")  # ended
    changed.append((BSNS[4], "0518", "0201", "20240201", "20240202", "", ""))  # new person
    text = io.StringIO()
    second = run(
        out,
        write_source(tmp_path / "b.csv", changed),
        log=EventLog(log_format="text", stream=io.StringIO(), summary_stream=text),
    )
    diff = second.diff
    assert diff["against"] == first.run_dir.name
    d = diff["years"]["2024"]
    assert d["rows"] == {"added": 1, "removed": 1, "changed": 1, "unchanged": 2, "old": 4, "new": 4}
    assert d["persons"]["added"] == 1 and d["persons"]["removed"] == 1
    assert read_manifest(second.run_dir)["diff"] == diff
    summary = text.getvalue()
    assert f"since run {first.run_dir.name}" in summary and "+1 added" in summary
    assert BSNS[0] not in summary and f"******{BSNS[0][-3:]}" in summary


def test_blocked_run_leaves_latest_and_earlier_runs_alone(tmp_path):
    out = tmp_path / "out"
    good = run(out, write_source(tmp_path / "a.csv", rows()))
    before = snapshot(good.run_dir)
    blocked = run(out, write_source(tmp_path / "b.csv", rows(type_="0202")))
    assert blocked.exit_code == ExitCode.REJECTED and not blocked.delivered
    assert rundir.latest_run(out) == good.run_dir.resolve()
    assert snapshot(good.run_dir) == before
    assert read_manifest(blocked.run_dir)["status"] == "blocked"
    assert not list(blocked.run_dir.glob("DAKL_*"))
    assert "latest -> runs/" in blocked.message and "(unchanged)" in blocked.message


def test_vanished_source_exits_3_and_keeps_latest(tmp_path):
    out = tmp_path / "out"
    source = write_source(tmp_path / "a.csv", rows())
    good = run(out, source)
    before = snapshot(good.run_dir)
    source.unlink()
    gone = run(out, source)
    assert gone.exit_code == ExitCode.SOURCE
    assert "cannot be read" in gone.message
    assert rundir.latest_run(out) == good.run_dir.resolve() and snapshot(good.run_dir) == before
    manifest = read_manifest(gone.run_dir)
    assert manifest["status"] == "source-unreadable" and manifest["exit_code"] == 3
    assert "error" in manifest["inputs"][0]


def test_same_inputs_and_now_give_the_same_manifest_but_for_timing(tmp_path):
    source = write_source(tmp_path / "a.csv", rows())
    one = read_manifest(run(tmp_path / "out1", source).run_dir)
    two = read_manifest(run(tmp_path / "out2", source).run_dir)
    assert without_timing(one) == without_timing(two)
    differing = {k for k in one if one[k] != two[k]}
    assert differing and differing <= TIMING_FIELDS
    # and the check can fail: another --now changes the non-timing part
    other = nightly_run(
        pipeline_for(source),
        tmp_path / "out3",
        years=[2024],
        now=datetime(2025, 4, 25, 9, 0),
        produce=produce,
        describe=describe_from_config,
        log=EventLog(log_format="json", stream=io.StringIO()),
    )
    assert without_timing(read_manifest(other.run_dir)) != without_timing(one)


def test_pruning_keeps_latest(tmp_path):
    out = tmp_path / "out"
    source = write_source(tmp_path / "a.csv", rows())
    good = [run(out, source, keep=2) for _ in range(3)]
    assert rundir.run_dirs(out) == [g.run_dir for g in good[1:]]
    blocked = run(out, write_source(tmp_path / "b.csv", rows(type_="0202")), keep=2)
    assert rundir.latest_run(out) == good[-1].run_dir.resolve()
    # a blocked run prunes nothing: it never touches earlier runs
    assert rundir.run_dirs(out) == [good[1].run_dir, good[2].run_dir, blocked.run_dir]


def test_dry_run_writes_nothing(tmp_path):
    out = tmp_path / "out"
    result = run(out, write_source(tmp_path / "a.csv", rows()), dry_run=True)
    assert result.exit_code == ExitCode.OK and result.run_dir is None
    assert not out.exists() or not list(out.rglob("*"))
    assert result.message.startswith("dry run:")


def test_dry_run_says_when_the_real_run_could_not_write(tmp_path):
    out = tmp_path / "out"
    out.write_text("a file, not a directory")
    result = run(out, write_source(tmp_path / "a.csv", rows()), dry_run=True)
    assert result.exit_code == ExitCode.CONFIG
    assert "is not a directory" in result.message


# -- subprocesses: crash and race --------------------------------------------------------


@pytest.mark.parametrize("point", ["before-rename", "before-manifest", "before-latest"])
def test_sigkill_while_writing_leaves_latest_intact_and_next_run_recovers(tmp_path, point):
    out = tmp_path / "out"
    first = subprocess_run(out, write_source(tmp_path / "a.csv", rows(4)))
    assert first.wait(60) == 0, first.stderr.read()
    latest = rundir.latest_run(out)
    before = snapshot(latest)

    source = write_source(tmp_path / "b.csv", rows(6))
    killed = subprocess_run(out, source, env={"DAKL_ETL_FAULT": point})
    assert killed.wait(60) == -signal.SIGKILL
    assert rundir.latest_run(out) == latest and snapshot(latest) == before
    # a file with a DAKL name outside `latest` can only be whole (renamed after its fsync)
    left = {p: p.read_bytes() for p in out.rglob("DAKL_*") if p.parent.resolve() != latest}
    lock_text = (out / ".lock").read_text()
    assert str(killed.pid) in lock_text  # the killed run's pid is left behind: a stale lock

    after = subprocess_run(out, source)
    _stdout, stderr = after.communicate(timeout=60)
    assert after.returncode == 0, stderr
    events = [json.loads(line) for line in stderr.decode().splitlines()]
    stale = [e for e in events if e["event"] == "stale_lock"]
    assert stale and f"pid {killed.pid}" in stale[0]["message"]
    assert rundir.latest_run(out) != latest
    for data in left.values():  # same source and --now: byte-identical to the new delivery
        assert data == (rundir.latest_run(out) / "DAKL_J2024.csv").read_bytes()
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]  # no stray temp files
    assert all(rundir.is_complete(r) for r in rundir.run_dirs(out))


def test_two_runs_at_once_one_delivers_the_other_exits_4(tmp_path):
    out = tmp_path / "out"
    source = write_source(tmp_path / "a.csv", rows())
    gate = tmp_path / "gate"
    procs = [subprocess_run(out, source, env={GATE_ENV: str(gate)}) for _ in range(2)]
    try:
        deadline = time.monotonic() + 60
        while all(p.poll() is None for p in procs) and time.monotonic() < deadline:
            time.sleep(0.05)
        loser = next(p for p in procs if p.poll() is not None)
        gate.touch()  # let the lock holder finish
        winner = next(p for p in procs if p is not loser)
        assert winner.wait(60) == 0
    finally:
        gate.touch()
        for p in procs:
            p.kill() if p.poll() is None else None
    assert loser.returncode == ExitCode.LOCKED
    message = json.loads(loser.stderr.read().decode().splitlines()[0])["message"]
    assert f"pid {winner.pid}" in message and "started" in message
    runs = rundir.run_dirs(out)
    assert len(runs) == 1 and rundir.latest_run(out) == runs[0].resolve()
    assert read_manifest(runs[0])["status"] == "delivered"


def test_a_bug_in_the_run_is_recorded_without_values_and_keeps_latest(tmp_path, monkeypatch):
    monkeypatch.delenv("DAKL_ETL_DEBUG", raising=False)
    out = tmp_path / "out"
    source = write_source(tmp_path / "a.csv", rows())
    good = run(out, source)

    def broken(*_args, **_kwargs):
        raise KeyError(BSNS[0])  # a library error whose text holds a value

    stream = io.StringIO()
    result = nightly_run(
        pipeline_for(source),
        out,
        years=[2024],
        now=NOW,
        produce=broken,
        log=EventLog(log_format="json", stream=stream),
        describe=describe_from_config,
    )
    assert result.exit_code == 70 and "KeyError" in result.message
    assert rundir.latest_run(out) == good.run_dir.resolve()
    manifest_text = (result.run_dir / "manifest.json").read_text()
    assert json.loads(manifest_text)["status"] == "internal-error"
    assert BSNS[0] not in manifest_text + stream.getvalue() + result.message


def test_unusable_output_directory_is_exit_2_before_any_work(tmp_path):
    source = write_source(tmp_path / "a.csv", rows())
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert run(afile, source).exit_code == ExitCode.CONFIG
    out = tmp_path / "out"
    (out / "latest").mkdir(parents=True)  # someone made a real directory there
    result = run(out, source)
    assert result.exit_code == ExitCode.CONFIG and "not the symlink" in result.message
    assert not (out / "runs").exists()
    runs_file = tmp_path / "runs-file"
    (runs_file / "runs").parent.mkdir()
    (runs_file / "runs").write_text("x")  # was an internal error (FileExistsError), exit 70
    result = run(runs_file, source)
    assert result.exit_code == ExitCode.CONFIG and "runs-file/runs: exists" in result.message
    if os.geteuid() != 0:  # root may write anywhere
        locked = tmp_path / "readonly"
        locked.mkdir(mode=0o500)
        assert run(locked, source).exit_code == ExitCode.CONFIG


# -- property: any sequence of nights keeps the invariants -------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    nights=st.lists(st.sampled_from(["ok", "blocked", "gone", "bug"]), min_size=1, max_size=6),
    keep=st.integers(1, 3),
)
def test_any_sequence_of_nights_keeps_latest_accepted_and_earlier_runs_intact(
    tmp_path_factory, nights, keep
):
    base = tmp_path_factory.mktemp("nights")
    out = base / "out"
    good = write_source(base / "good.csv", rows())
    blocked = write_source(base / "blocked.csv", rows(type_="0202"))

    def broken(*_a, **_k):
        raise RuntimeError("bug")

    expected_latest, latest_files = None, None
    for night in nights:
        before = {r: snapshot(r) for r in rundir.run_dirs(out)}
        source = {"ok": good, "blocked": blocked, "gone": base / "missing.csv", "bug": good}[night]
        result = run(out, source, keep=keep, **({"produce": broken} if night == "bug" else {}))
        expected = {
            "ok": ExitCode.OK,
            "blocked": ExitCode.REJECTED,
            "gone": ExitCode.SOURCE,
            "bug": 70,
        }[night]
        assert result.exit_code == expected
        runs = rundir.run_dirs(out)
        assert all(rundir.is_complete(r) for r in runs)
        if night == "ok":
            expected_latest, latest_files = result.run_dir.resolve(), snapshot(result.run_dir)
            assert len(runs) <= keep
        else:  # a failed night touches nothing that was there before
            assert all(snapshot(r) == files for r, files in before.items())
        assert rundir.latest_run(out) == expected_latest
        if expected_latest:
            assert snapshot(expected_latest) == latest_files


def test_summary_quotes_big_counts_unmasked_but_never_a_bsn(tmp_path):
    """A 12-million-row run says 12000000, not *****000; a BSN in a warning stays masked."""
    source = write_source(tmp_path / "a.csv", rows())
    for log_format in ("text", "json"):
        err, out = io.StringIO(), io.StringIO()
        log = EventLog(log_format=log_format, stream=err, summary_stream=out)
        log.warning("odd", f"source row with BSN {BSNS[5]}", rows=12000000)
        result = run(tmp_path / f"out-{log_format}", source, log=log)
        assert result.ok
        text = err.getvalue() + out.getvalue()
        assert BSNS[5] not in text and f"******{BSNS[5][-3:]}" in text
        assert "12000000" in text and "*****000" not in text
        assert f"{result.rows[2024]} rows" in text
