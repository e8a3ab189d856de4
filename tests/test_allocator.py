"""`dakl_etl.ALLOCATOR_SETTINGS`: what a process that imports dakl_etl before Polars runs with."""

import os
import subprocess
import sys

from dakl_etl import ALLOCATOR_SETTINGS, allocator_settings

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


def test_few_cpus_share_one_pool():
    assert allocator_settings(1).endswith(",narenas:1")
    assert allocator_settings(4, "darwin").endswith(",narenas:1")


def test_more_cpus_keep_a_pool_per_cpu_where_the_system_has_them():
    assert allocator_settings(16, "linux").endswith(",percpu_arena:percpu")
    assert (
        allocator_settings(16, "darwin")
        == "dirty_decay_ms:5000,muzzy_decay_ms:5000,oversize_threshold:0"
    )


def test_the_settings_are_those_of_this_machine():
    assert allocator_settings(len(os.sched_getaffinity(0))) == ALLOCATOR_SETTINGS
