"""A thin CLI over the library: parse arguments, call dakl_etl, print, exit with a code."""

from __future__ import annotations

import os
import sys

from dakl_etl.cli._app import app
from dakl_etl.errors import DaklError
from dakl_etl.pipeline.logs import scrub

# Each command lives in its own module and registers itself on `app` when imported.
from dakl_etl.cli import validate  # noqa: F401  isort: skip
from dakl_etl.cli import run  # noqa: F401  isort: skip
from dakl_etl.cli import diff  # noqa: F401  isort: skip
from dakl_etl.cli import check, preview, schema  # noqa: F401  isort: skip
from dakl_etl.cli import report  # noqa: F401  isort: skip

__all__ = ["app", "main"]


def main() -> None:
    """Console entry point: library errors become one clear line and their exit code."""
    try:
        app()  # standalone: usage errors print click's message and exit 2
    except DaklError as exc:
        print(f"dakl-etl: {scrub(str(exc))}", file=sys.stderr)  # a number from the input, too
        sys.exit(int(exc.exit_code))
    except SystemExit:
        raise
    except KeyboardInterrupt:
        print("dakl-etl: interrupted; nothing half-written was left behind", file=sys.stderr)
        sys.exit(130)
    except Exception as exc:  # a bug: say so without a traceback or values (they may be BSNs)
        if os.environ.get("DAKL_ETL_DEBUG"):
            raise
        print(
            f"dakl-etl: internal error ({type(exc).__name__}); this is a bug in dakl-etl. "
            "Rerun with DAKL_ETL_DEBUG=1 for the traceback (it may contain personal data).",
            file=sys.stderr,
        )
        sys.exit(70)
