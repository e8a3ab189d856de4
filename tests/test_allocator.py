"""`dakl_etl.ALLOCATOR_SETTINGS`: what a process that imports dakl_etl before Polars runs with."""

import os
import subprocess
import sys

from dakl_etl import ALLOCATOR_SETTINGS

VARIABLE = "_RJEM_MALLOC_CONF"


def _environment_after(code: str, **env: str) -> str:
    base = {k: v for k, v in os.environ.items() if k != VARIABLE}
    done = subprocess.run(
        [sys.executable, "-c", f"{code}; import os; print(os.environ.get({VARIABLE!r}, ''))"],
        capture_output=True,
        text=True,
        env={**base, **env},
        check=True,
    )
    return done.stdout.strip()


def test_polars_imported_after_dakl_etl_runs_with_its_settings():
    # Polars appends a value already set to its own defaults: the last setting of a key wins
    seen = _environment_after("import dakl_etl, polars")
    assert seen.endswith("," + ALLOCATOR_SETTINGS)


def test_a_value_the_user_set_is_kept():
    assert _environment_after("import dakl_etl", **{VARIABLE: "narenas:2"}) == "narenas:2"
