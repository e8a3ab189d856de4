"""Run directories under `OUT/runs/`, the `OUT/latest` pointer, and pruning.

A run writes only into its own new directory. `latest` is a relative symlink that is switched in
one `rename` (never removed first), and only after a delivery was accepted, so at every moment
it points at a complete, accepted run. Pruning never removes the run `latest` points to.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

from dakl_etl.outputs.atomic import PRIVATE_DIR, fsync_dir

RUNS = "runs"
LATEST = "latest"
MANIFEST = "manifest.json"
# 20261129T001800.123456Z, optionally -2, -3 … when two runs start in the same microsecond
RUN_NAME = re.compile(r"^\d{8}T\d{6}\.\d{6}Z(-\d+)?$")


def new_run_dir(out: Path, clock: datetime | None = None) -> Path:
    """Create `OUT/runs/<UTC wall-clock timestamp>/` (0700); names sort in start order."""
    runs = out / RUNS
    runs.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    stamp = (clock or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    for n in range(1, 1000):
        candidate = runs / (stamp if n == 1 else f"{stamp}-{n}")
        try:
            candidate.mkdir(mode=PRIVATE_DIR)
        except FileExistsError:
            continue
        os.chmod(candidate, PRIVATE_DIR)  # mkdir's mode is filtered by the umask
        fsync_dir(runs)
        return candidate
    raise RuntimeError(f"{runs}: could not create a unique run directory for {stamp}")


def run_dirs(out: Path) -> list[Path]:
    """All run directories, oldest first."""
    runs = out / RUNS
    if not runs.is_dir():
        return []
    return sorted(p for p in runs.iterdir() if p.is_dir() and RUN_NAME.match(p.name))


def latest_run(out: Path) -> Path | None:
    """The run `OUT/latest` points to (resolved: compare with `run.resolve()`), or None when
    there is none (or it is dangling)."""
    link = out / LATEST
    if not link.is_symlink():
        return None
    target = (out / os.readlink(link)).resolve()
    return target if target.is_dir() else None


def switch_latest(out: Path, run_dir: Path) -> None:
    """Point `OUT/latest` at `run_dir` atomically: new symlink under a temp name, then rename."""
    link = out / LATEST
    if link.exists() and not link.is_symlink():
        raise FileExistsError(f"{link} exists and is not a symlink; move it away")
    tmp = out / f".{LATEST}.{os.getpid()}.tmp"
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    tmp.symlink_to(os.path.relpath(run_dir, out))
    os.replace(tmp, link)
    fsync_dir(out)


def is_complete(run_dir: Path) -> bool:
    """A run is complete once its manifest is written: it is written last."""
    return (run_dir / MANIFEST).is_file()


def remove_interrupted(out: Path, current: Path | None = None) -> list[Path]:
    """Remove the remains of runs killed before they finished (no manifest). Call under the lock.

    Such a directory may hold temp files and a subset of the outputs; nothing refers to it.
    """
    spare = {latest_run(out), current.resolve() if current else None}
    return _remove(
        out, [run for run in run_dirs(out) if run.resolve() not in spare and not is_complete(run)]
    )


def prune(out: Path, keep: int) -> list[Path]:
    """Remove all but the `keep` newest runs; the run `latest` points to always stays."""
    if keep < 1:
        raise ValueError("keep must be at least 1")
    runs = run_dirs(out)
    protected = latest_run(out)
    return _remove(
        out, [run for run in runs[: max(len(runs) - keep, 0)] if run.resolve() != protected]
    )


def _remove(out: Path, runs: list[Path]) -> list[Path]:
    for run in runs:
        shutil.rmtree(run)
    if runs:
        fsync_dir(out / RUNS)
    return runs
