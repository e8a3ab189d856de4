"""Run directories, `latest`, pruning, the lock, the manifest and the event log, one by one."""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dakl_etl.errors import ExitCode, LockHeld
from dakl_etl.pipeline import rundir
from dakl_etl.pipeline.lock import RunLock
from dakl_etl.pipeline.logs import EventLog, scrub, scrub_value
from dakl_etl.pipeline.manifest import without_timing
from dakl_etl.pipeline.nightly import url_without_credentials
from synthetic import synthetic_bsns


def _complete(run: Path) -> Path:
    (run / "manifest.json").write_text("{}")
    return run


# -- run directories ---------------------------------------------------------------------


def test_run_dirs_are_private_unique_and_sorted(tmp_path):
    clock = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    first = rundir.new_run_dir(tmp_path, clock)
    second = rundir.new_run_dir(tmp_path, clock)  # same microsecond: still a new directory
    assert first.name == "20260102T030405.678901Z"
    assert second.name == "20260102T030405.678901Z-2"
    assert stat.S_IMODE(first.stat().st_mode) == 0o700
    assert rundir.run_dirs(tmp_path) == [first, second]


def test_latest_switches_atomically_and_relatively(tmp_path):
    a = _complete(rundir.new_run_dir(tmp_path))
    b = _complete(rundir.new_run_dir(tmp_path))
    assert rundir.latest_run(tmp_path) is None
    rundir.switch_latest(tmp_path, a)
    assert rundir.latest_run(tmp_path) == a.resolve()
    rundir.switch_latest(tmp_path, b)
    link = tmp_path / "latest"
    assert os.readlink(link) == os.path.join("runs", b.name)  # relative: OUT can be moved
    assert rundir.latest_run(tmp_path) == b.resolve()
    assert not list(tmp_path.glob(".latest*"))  # no temp link left behind


def test_latest_refuses_to_replace_a_real_directory(tmp_path):
    (tmp_path / "latest").mkdir()
    with pytest.raises(FileExistsError, match="not a symlink"):
        rundir.switch_latest(tmp_path, rundir.new_run_dir(tmp_path))


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 8), keep=st.integers(1, 5), latest_at=st.integers(0, 7))
def test_prune_keeps_newest_and_never_latest(tmp_path_factory, n, keep, latest_at):
    out = tmp_path_factory.mktemp("out")
    runs = [_complete(rundir.new_run_dir(out)) for _ in range(n)]
    latest = runs[min(latest_at, n - 1)]
    rundir.switch_latest(out, latest)
    removed = rundir.prune(out, keep)
    left = rundir.run_dirs(out)
    assert latest in left
    assert set(runs[-keep:]) <= set(left)
    assert len(left) == min(n, keep) + (latest not in runs[-keep:])
    assert set(removed) | set(left) == set(runs)


def test_prune_never_removes_latest_with_a_relative_out(tmp_path, monkeypatch):
    """`latest_run` resolves its path, `run_dirs` does not: a relative --out (the README's
    `--out out`) made them differ and pruning took `latest` for an ordinary old run."""
    monkeypatch.chdir(tmp_path)
    out = Path("out")
    runs = [_complete(rundir.new_run_dir(out)) for _ in range(3)]
    rundir.switch_latest(out, runs[0])  # e.g. the clock went back: latest sorts first
    assert rundir.prune(out, 1) == [runs[1]]
    assert rundir.latest_run(out) == runs[0].resolve() and runs[0].is_dir()


def test_interrupted_runs_are_removed_but_complete_ones_stay(tmp_path):
    done = _complete(rundir.new_run_dir(tmp_path))
    crashed = rundir.new_run_dir(tmp_path)
    (crashed / ".DAKL_J2024.csv.abc.tmp").write_text("half")
    current = rundir.new_run_dir(tmp_path)
    assert rundir.remove_interrupted(tmp_path, current) == [crashed]
    assert rundir.run_dirs(tmp_path) == [done, current]


# -- lock --------------------------------------------------------------------------------


def test_second_lock_names_the_holder(tmp_path):
    with RunLock(tmp_path), pytest.raises(LockHeld) as info:
        RunLock(tmp_path).acquire()
    message = str(info.value)
    assert f"pid {os.getpid()}" in message and "started 20" in message
    assert info.value.exit_code == ExitCode.LOCKED
    RunLock(tmp_path).acquire().release()  # released: free again, and not stale
    lock = RunLock(tmp_path).acquire()
    assert lock.stale is None
    lock.release()


def test_a_run_that_finds_the_lock_just_taken_waits_for_the_holders_pid(tmp_path):
    """The holder takes the lock, then writes its pid: a run arriving in between waits for
    the pid instead of saying it is unknown."""
    import fcntl
    import threading

    fd = os.open(tmp_path / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    later = threading.Timer(
        0.2, lambda: os.pwrite(fd, b'{"pid": 4242, "started": "2025-04-24T01:30:00"}\n', 0)
    )
    later.start()
    try:
        with pytest.raises(LockHeld, match="pid 4242, started 2025-04-24"):
            RunLock(tmp_path).acquire()
    finally:
        later.join()
        os.close(fd)


def test_lock_held_by_another_process(tmp_path):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys,time; from dakl_etl.pipeline.lock import RunLock;"
            f"l=RunLock({str(tmp_path)!r}).acquire(); print('locked', flush=True); time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(LockHeld, match=f"pid {holder.pid}"):
            RunLock(tmp_path).acquire()
    finally:
        holder.kill()
        holder.wait()
    # the holder died without releasing: its pid is still in the file, the flock is gone
    lock = RunLock(tmp_path).acquire()
    try:
        assert lock.stale["pid"] == holder.pid
        assert "no longer running" in lock.stale_warning()
        assert f"pid {holder.pid}" in lock.stale_warning()
    finally:
        lock.release()


# -- manifest helpers --------------------------------------------------------------------


def test_url_without_credentials():
    shown = url_without_credentials("postgresql+psycopg://dakl:geheim@db.example:5432/opvang")
    assert "geheim" not in shown and "dakl@" not in shown
    assert shown.endswith("db.example:5432/opvang")
    assert url_without_credentials("not a url") == "not a url://…"


def test_url_without_credentials_drops_the_user_name_too():
    shown = url_without_credentials("postgresql+psycopg://dakl:geheim@db.example:5432/opvang")
    assert "dakl" not in shown and "***" not in shown  # was postgresql+psycopg://dakl:***@…
    assert shown == "postgresql+psycopg://db.example:5432/opvang"


def test_without_timing_drops_only_timing():
    manifest = {"run_id": "x", "started_at": 1, "duration_s": 2, "now": "n", "outputs": []}
    assert without_timing(manifest) == {"now": "n", "outputs": []}


# -- event log ---------------------------------------------------------------------------


@settings(max_examples=50)
@given(
    bsn=st.sampled_from(synthetic_bsns(50, seed=3)),
    v=st.from_regex(r"\A\d{10}\Z"),
    before=st.sampled_from(["", "bsn=", "x ", "(", "'"]),
    after=st.sampled_from(["", " ", ")"]),
)
def test_scrub_masks_every_bsn_and_v_nummer(bsn, v, before, after):
    text = scrub(f"{before}{bsn}{after} and {v}")
    assert bsn not in text and v not in text
    assert f"******{bsn[-3:]}" in text


def test_scrub_leaves_dates_codes_and_aanmaakdatum():
    text = "start 20240101 code 0363 type 0301 made 202504240900 rows 1234567"
    assert scrub(text) == text


def test_scrub_value_masks_nested_strings_and_personal_ints_but_not_counts():
    bsn = synthetic_bsns(1, seed=9)[0]
    cleaned = scrub_value(
        {
            "a": [{"bsn": int(bsn)}, {"b": f"x{bsn}"}],
            "rows": 123456789,
            "f": 0.5,
            "invalid_bsn_rows": 3,
            "persons_bsn": 120,
        }
    )
    assert bsn not in json.dumps(cleaned)
    assert cleaned["rows"] == 123456789 and cleaned["f"] == 0.5
    assert cleaned["invalid_bsn_rows"] == 3 and cleaned["persons_bsn"] == 120  # counts


def test_unknown_bsn_constant_in_a_rule_title_is_not_mangled():
    """999999999 is the protocol's "BSN unknown", no one's number: R07's title stays readable."""
    from dakl_etl.protocol.rules import RULES

    title = f"warning R07 ×9: {RULES['R07'].title}"
    assert "999999999" in title and scrub(title) == title
    assert scrub_value({"message": title, "bsn": "999999999"}) == {
        "message": title,
        "bsn": "999999999",
    }
    # ... while numbers of its shape that are someone's are still masked
    bsn = synthetic_bsns(1, seed=5)[0]
    assert scrub(f"999999999 {bsn} 9999999990 0999999999") == (
        f"999999999 ******{bsn[-3:]} *******990 *******999"
    )


def test_counts_are_never_masked_but_bsn_shaped_strings_always_are():
    bsn = synthetic_bsns(1, seed=6)[0]
    counts = {"rows": 12000000, "persons_bsn": 111, "read": 123456789}
    assert scrub_value(counts) == counts
    # a count the caller quotes in a text stays; the same digits with a leading zero, under a
    # personal key, or any other BSN-shaped string are masked
    assert scrub("rows: 12000000", counts.values()) == "rows: 12000000"
    assert scrub("rows: 12000000") == "rows: *****000"
    assert scrub("012000000", counts.values()) == "******000"
    assert scrub_value({"bsn": "12000000"}, counts=counts.values()) == {"bsn": "*****000"}
    assert scrub_value({"v": bsn}, counts=[12000000]) == {"v": f"******{bsn[-3:]}"}
    for log_format in ("text", "json"):
        err, out = io.StringIO(), io.StringIO()
        log = EventLog(log_format=log_format, stream=err, summary_stream=out)
        log("source_rows", {"source": "s", "read": 12000000, "persons_bsn": 111})
        log.warning("odd", f"{bsn} in 12000000 rows", bsn=int(bsn))
        log.summary(
            "delivered (12000001 rows)",
            ["ledger 12000002"],
            True,
            {"n": 12000001},
            counts=[12000002],
        )
        text = err.getvalue() + out.getvalue()
        assert bsn not in text and "12000000" in text and "12000001" in text
        assert "*****000" not in text and "*****001" not in text
        if log_format == "text":
            assert "12000002" in text and "persons_bsn=111" in text
        else:
            assert '"persons_bsn": 111' in text


def test_json_lines_have_time_level_event_and_are_scrubbed():
    bsn = synthetic_bsns(1, seed=4)[0]
    stream = io.StringIO()
    log = EventLog(log_format="json", stream=stream)
    log("source_rows", {"source": "shelter", "read": 12})
    log.warning("odd", f"value {bsn} looks odd", source="shelter")
    log.summary("delivered", ["detail"], True, {"status": "delivered"})
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [r["event"] for r in records] == ["source_rows", "odd", "summary"]
    assert all({"time", "level", "event"} <= set(r) for r in records)
    assert records[0]["read"] == 12 and records[1]["level"] == "warning"
    assert bsn not in stream.getvalue()


def test_quiet_text_shows_only_problems_and_verdict():
    err, out = io.StringIO(), io.StringIO()
    log = EventLog(log_format="text", quiet=True, stream=err, summary_stream=out)
    log("source_rows", {"source": "shelter", "read": 12})
    log.warning("stale_lock", "took over the lock")
    log.summary("delivered: DAKL_J2024.csv", ["a detail line"], True, {})
    assert err.getvalue() == "warning: took over the lock\n"
    assert out.getvalue() == "delivered: DAKL_J2024.csv\n"


def test_text_log_shows_events_and_details():
    err, out = io.StringIO(), io.StringIO()
    log = EventLog(log_format="text", stream=err, summary_stream=out)
    log("source_rows", {"source": "shelter", "read": 12})
    log.summary("delivered", ["a detail line"], True, {})
    assert "[shelter] source rows (read=12)" in err.getvalue()
    assert out.getvalue() == "a detail line\ndelivered\n"


def test_terminal_gets_a_progress_display(tmp_path):
    class Tty(io.StringIO):
        def isatty(self):
            return True

    err = Tty()
    log = EventLog(stream=err, summary_stream=io.StringIO())
    assert not log.json
    log("run_started", {"sources": ["shelter", "beds"]})
    log("source_rows", {"source": "shelter", "read": 40})
    log("source_rows", {"source": "beds", "read": 7})
    log("validated", {"year": 2024})  # info: the display and the summary say it
    log.warning("odd", "something odd")
    log.close()
    shown = err.getvalue()
    assert "shelter" in shown and "40 rows" in shown and "7 rows" in shown
    assert "validated" not in shown and "warning: something odd" in shown


def test_unknown_log_format_is_refused():
    with pytest.raises(ValueError, match="auto, text, json"):
        EventLog(log_format="xml")
