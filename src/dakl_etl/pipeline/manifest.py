"""`manifest.json`: what a run read, with which tool, what it wrote and what it found.

Counts, hashes, versions and masked examples only: no personal data. The keys are sorted and
everything that depends on the clock is under `TIMING_FIELDS`, so two runs of the same inputs
with the same `--now` give manifests that differ only there.
"""

from __future__ import annotations

import importlib.metadata
import json
import platform
from pathlib import Path
from typing import Any

from dakl_etl.outputs.atomic import write_bytes_atomic

MANIFEST_VERSION = 1
#: Fields that differ between two runs of the same inputs; everything else must not.
TIMING_FIELDS = frozenset(
    {"run_id", "run_dir", "started_at", "finished_at", "duration_s", "timings", "warnings"}
)
LIBRARIES = (
    "polars",
    "pandera",
    "pydantic",
    "python-stdnum",
    "sqlalchemy",
    "fastexcel",
    "ruamel.yaml",
    "typer",
    "rich",
    "connectorx",
    "psycopg",
    "pymysql",
    "pyarrow",
)


def versions() -> dict[str, str | None]:
    """dakl-etl, Python and the libraries that shape the output; None when not installed."""
    found: dict[str, str | None] = {
        "dakl-etl": _version("dakl-etl"),
        "python": platform.python_version(),
    }
    for name in LIBRARIES:
        found[name] = _version(name)
    return found


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def write_manifest(run_dir: Path, manifest: dict[str, Any]) -> Path:
    """Write `manifest.json` atomically (0600: it sits beside files with BSNs, in a 0700 dir)."""
    data = json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False, default=str)
    return write_bytes_atomic(run_dir / "manifest.json", (data + "\n").encode(), mode=0o600)


def read_manifest(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))


def without_timing(manifest: dict[str, Any]) -> dict[str, Any]:
    """The part of a manifest that is a function of inputs, config, versions and `--now`."""
    return {k: v for k, v in manifest.items() if k not in TIMING_FIELDS}
