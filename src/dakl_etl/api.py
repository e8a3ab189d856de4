"""The Python API: what the CLI does, as functions an orchestrator can call.

`run_pipeline` is the nightly run (lock, run directory, manifest, diff, `latest`) for Airflow,
Dagster or a cron wrapper. It returns a `RunResult` and never exits the process: check
`result.exit_code` (0 delivered, 1 blocked, 2 configuration, 3 source unreadable, 4 locked).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from dakl_etl.errors import DaklError, UsageError
from dakl_etl.pipeline.logs import EventLog, LogFormat, scrub
from dakl_etl.pipeline.nightly import DEFAULT_KEEP, RunResult, nightly_run
from dakl_etl.protocol.fields import YEAR_MAX, YEAR_MIN
from dakl_etl.transforms.diff import DeliveryDiff, diff_deliveries

__all__ = ["RunResult", "diff_files", "run_pipeline"]  # + the names of _ELSEWHERE, lazily

# The other commands' library functions, loaded on first use (the report pulls in matplotlib).
_ELSEWHERE = {
    "validate_file": "dakl_etl.validation",
    "write_dakl": "dakl_etl.outputs.writer",
    "check_pipeline": "dakl_etl.sources.profile",
    "build_report": "dakl_etl.report",
}


def __getattr__(name: str) -> Any:
    if name in _ELSEWHERE:
        import importlib

        return getattr(importlib.import_module(_ELSEWHERE[name]), name)
    raise AttributeError(f"module 'dakl_etl.api' has no attribute {name!r}")


def run_pipeline(
    path: str | Path,
    *,
    year: int | None = None,
    with_previous_year: bool | None = None,
    out: str | Path | None = None,
    now: dt.datetime | str | None = None,
    dry_run: bool = False,
    keep_runs: int | None = None,
    log_format: LogFormat = "auto",
    quiet: bool = False,
    log: EventLog | None = None,
    produce: Any = None,
    outcome_text: Any = None,
) -> RunResult:
    """Run the pipeline YAML at `path` into `OUT/runs/<timestamp>/`; see `RunResult`.

    `out` defaults to the YAML's `delivery.output`; `now` (the moment of extraction, local
    Dutch time, a datetime or `YYYY-MM-DDTHH:MM`) to the clock; `keep_runs` to 30. Problems
    a person can fix (configuration, a source that cannot be read, the lock) come back as
    `exit_code` and `message`; only bugs raise.
    """
    from dakl_etl.pipeline import run as run_module

    log = log or EventLog(log_format=log_format, quiet=quiet)
    try:
        pipeline = run_module.load_pipeline(path)
        years = run_module.years_for(pipeline, year=year, with_previous_year=with_previous_year)
        for y in years:  # checked before any work, so a wrong year leaves no run behind
            if not YEAR_MIN <= y <= YEAR_MAX:
                raise UsageError(
                    f"reporting year {y} is outside {YEAR_MIN}-{YEAR_MAX}; give a four-digit "
                    "year with --year or delivery.year (the previous year counts too)"
                )
        if isinstance(now, str):
            now = run_module.parse_now(now)
        moment = now or run_module.current_now()
        directory = Path(out) if out is not None else pipeline.delivery.output
        return nightly_run(
            pipeline,
            directory,
            years=years,
            now=moment,
            produce=produce or run_module.run_into,
            keep=DEFAULT_KEEP if keep_runs is None else keep_runs,
            dry_run=dry_run,
            log=log,
            outcome_text=outcome_text,
        )
    except DaklError as exc:  # before the run started: nothing was written
        result = RunResult(exc.exit_code, scrub(str(exc)))  # as nightly_run's messages are
        log.summary(
            f"{result.status}: {result.message}",
            [],
            False,
            {"status": result.status, "exit_code": int(result.exit_code)},
        )
        return result


def diff_files(old: str | Path, new: str | Path, *, examples: int = 3) -> DeliveryDiff:
    """Compare two DAKL files (`dakl-etl diff OLD NEW`): rows and persons added/removed/changed."""
    from dakl_etl.pipeline.nightly import read_delivery

    return diff_deliveries(read_delivery(old), read_delivery(new), examples=examples)
