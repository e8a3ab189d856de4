"""Fault injection for crash tests: `DAKL_ETL_FAULT=<point>` kills the process at that point.

Only tests set the variable. The kill is SIGKILL (no cleanup, no `finally`), which is what a
power cut or the OOM killer does to a nightly run; the tests then show that nothing half-written
is left and that the next run recovers. Points: `before-rename` (an output file is written and
fsynced but not yet renamed; `before-rename:DAKL_` only for files named DAKL_…),
`before-manifest` and `before-latest` (in the nightly wrapper).
"""

from __future__ import annotations

import os
import signal

ENV = "DAKL_ETL_FAULT"


def fault_point(name: str, target: str = "") -> None:
    """Kill this process now when `DAKL_ETL_FAULT` names this point; otherwise do nothing.

    `DAKL_ETL_FAULT=before-rename:DAKL_` narrows a point to targets whose name starts with
    `DAKL_` (the first DAKL file rather than the first file of any kind).
    """
    wanted = os.environ.get(ENV)
    if not wanted:
        return
    point, _, prefix = wanted.partition(":")
    if point == name and target.startswith(prefix):
        os.kill(os.getpid(), signal.SIGKILL)
