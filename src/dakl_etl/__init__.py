"""dakl-etl: raw shelter registrations in, DAKL files for CBS out.

The Python API for orchestrators (Airflow, Dagster, cron wrappers); the CLI is a thin layer
over it. Names are imported lazily so `import dakl_etl` stays cheap.
"""

from __future__ import annotations

__version__ = "0.1.0"

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
