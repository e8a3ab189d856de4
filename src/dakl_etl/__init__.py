"""dakl-etl: raw shelter registrations in, DAKL files for CBS out.

The Python API for orchestrators (Airflow, Dagster, cron wrappers); the CLI is a thin layer
over it. Names are imported lazily so `import dakl_etl` stays cheap.
"""

from __future__ import annotations

import os
import sys

__version__ = "0.1.0"


def allocator_settings(cpus: int, platform: str = sys.platform) -> str:
    """The settings for Polars' allocator (jemalloc) on a machine with `cpus` CPUs.

    By default jemalloc gives freed memory back to the system after 0.5-1 s (Polars sets
    this on import), keeps a separate pool per thread and one more for blocks over 8 MB. A
    run allocates and frees gigabytes in waves, from several threads, mostly in large blocks,
    and every page given back or stranded in another pool is a new page the next step must
    fault in and zero. On the 10M-row benchmark (paired runs, 2 CPUs): freed memory kept for
    5 s, about 6 % less time; one pool per CPU, about 7 % less again; large blocks in those
    pools too, about 3 % less and 0.2-0.4 GB less peak memory; then one pool for all threads
    instead of one per CPU, 7-11 % less again (9 of 9 pairs) and 5-10 % fewer page faults.
    One pool serialises the threads' large allocations, so it is taken only where few threads
    share it (up to 4 CPUs); larger machines keep a pool per CPU (which needs Linux).
    """
    kept = "dirty_decay_ms:5000,muzzy_decay_ms:5000,oversize_threshold:0"
    if cpus <= 4:
        return kept + ",narenas:1"
    return kept + (",percpu_arena:percpu" if platform.startswith("linux") else "")


#: What this machine's processes run with. Polars reads the variable when it is first
#: imported, so it counts when `dakl_etl` comes first (the CLI, and any process started from
#: one that imported it); a value already set wins.
ALLOCATOR_SETTINGS = allocator_settings(
    len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
)
os.environ.setdefault("_RJEM_MALLOC_CONF", ALLOCATOR_SETTINGS)

_API = {
    "run_pipeline": "dakl_etl.api",
    "RunResult": "dakl_etl.api",
    "validate_file": "dakl_etl.api",
    "write_dakl": "dakl_etl.api",
    "check_pipeline": "dakl_etl.api",
    "build_report": "dakl_etl.api",
}

__all__ = ["__version__", *_API]


def __getattr__(name: str):
    if name in _API:
        import importlib

        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'dakl_etl' has no attribute {name!r}")
