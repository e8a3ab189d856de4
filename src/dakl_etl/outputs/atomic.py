"""Outputs appear whole or not at all: temp file in the same directory, fsync, rename."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from dakl_etl.faults import fault_point

PRIVATE = 0o600  # files that hold BSNs (DAKL files, their temp files)
PRIVATE_DIR = 0o700


@contextlib.contextmanager
def atomic_output(path: str | Path, mode: int = PRIVATE) -> Iterator[BinaryIO]:
    """Yield a binary file; on clean exit it is fsynced and renamed onto `path`.

    The temp file is created with `mode` from the start (never world-readable for a moment);
    on any exception it is removed and `path` is left as it was.
    """
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        fault_point("before-rename", target.name)  # crash tests only (dakl_etl.faults)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_dir(target.parent)


def write_bytes_atomic(path: str | Path, data: bytes, mode: int = 0o644) -> Path:
    with atomic_output(path, mode) as handle:
        handle.write(data)
    return Path(path)


def fsync_dir(directory: str | Path) -> None:
    """Make a rename durable: fsync the directory entry."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
