"""Errors a person can act on, each with the exit code it ends a command with.

Terminal vs transient (STYLE §10): a config or input error is final; a source that cannot be
read (database down, file gone) may succeed on the next try.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0  # delivered / accepted (warnings allowed)
    REJECTED = 1  # blocked by validation errors
    CONFIG = 2  # configuration, usage or input problem
    SOURCE = 3  # a source could not be read
    LOCKED = 4  # another run holds the lock


class DaklError(Exception):
    """Base: `str(error)` is the whole message, already free of personal data."""

    exit_code: ExitCode = ExitCode.CONFIG
    transient = False


class UsageError(DaklError):
    """Bad arguments or an input path that cannot be used (missing, directory, unreadable)."""


class ConfigError(DaklError):
    """The pipeline YAML is wrong: message carries file:line:column and the key path."""


class SourceError(DaklError):
    """A source could not be read (file gone, database down, query error)."""

    exit_code = ExitCode.SOURCE
    transient = True


class LockHeld(DaklError):
    exit_code = ExitCode.LOCKED
    transient = True
