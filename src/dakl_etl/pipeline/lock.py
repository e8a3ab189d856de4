"""One run per output directory at a time: an exclusive `flock` on `OUT/.lock`.

The kernel releases a `flock` when its holder dies, however it dies (SIGKILL included), so a
lock can never be held by a dead process. What a dead run does leave is its pid and start time
in the file: the next run sees them, takes over with a warning, and the operator learns that a
run was interrupted.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import time
from datetime import UTC, datetime
from pathlib import Path

from dakl_etl.errors import LockHeld

LOCK_NAME = ".lock"


class RunLock:
    """`with RunLock(out) as lock:`; raises `LockHeld` (exit 4) naming the holder."""

    def __init__(self, out: str | Path) -> None:
        self.path = Path(out) / LOCK_NAME
        self.stale: dict | None = None  # what an interrupted earlier run left in the file
        self._fd: int | None = None

    def acquire(self) -> RunLock:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder_of_held_lock(fd)
            os.close(fd)
            raise LockHeld(
                f"{self.path}: another dakl-etl run holds the lock ({describe_holder(holder)}); "
                "wait until it has finished, or stop that process if it hangs"
            ) from None
        holder = _read_holder(fd)
        if holder:
            self.stale = holder
        me = {
            "pid": os.getpid(),
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
            "host": socket.gethostname(),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(me) + "\n").encode(), 0)
        os.fsync(fd)
        self._fd = fd
        return self

    def release(self) -> None:
        """Clear the holder info and unlock; the file stays (deleting it would race)."""
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, 0)
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None

    def stale_warning(self) -> str | None:
        if not self.stale:
            return None
        state = (
            "still running but no longer holding the lock"
            if pid_alive(self.stale.get("pid"))
            else "no longer running"
        )
        return (
            f"{self.path}: took over the lock of an interrupted run "
            f"({describe_holder(self.stale)}, {state})"
        )

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


#: How long a run that finds the lock held waits for the holder to write its pid: the holder
#: takes the lock first and writes after, so a run starting a moment later may find it empty.
HOLDER_WAIT_SECONDS = 1.0


def _holder_of_held_lock(fd: int) -> dict:
    deadline = time.monotonic() + HOLDER_WAIT_SECONDS
    holder = _read_holder(fd)
    while "pid" not in holder and time.monotonic() < deadline:
        time.sleep(0.02)
        holder = _read_holder(fd)
    return holder


def _read_holder(fd: int) -> dict:
    raw = os.pread(fd, 4096, 0)
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        return {"raw": raw[:80].decode("ascii", "replace").strip()}
    return data if isinstance(data, dict) else {}


def describe_holder(holder: dict) -> str:
    if not holder:
        return "pid unknown: it has not written its pid yet"
    if "pid" not in holder:
        return f"unreadable lock file content {holder.get('raw', '')!r}"
    where = f" on {holder['host']}" if holder.get("host") else ""
    return f"pid {holder['pid']}{where}, started {holder.get('started', 'at an unknown time')}"


def pid_alive(pid: object) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
