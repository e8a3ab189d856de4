"""Argument checks that several commands share: `--year` and `--reference`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from dakl_etl.errors import UsageError
from dakl_etl.protocol.fields import YEAR_MAX, YEAR_MIN
from dakl_etl.reference import Gemeenten, ReferenceError, load_gemeenten


def year_option() -> Any:
    return typer.Option(
        None, "--year", help="Reporting year; default: the year in the file name (DAKL_J<year>)."
    )


def reference_option() -> Any:
    return typer.Option(
        None,
        "--reference",
        help="A newer municipality list (CSV like config/reference/gemeenten.csv).",
    )


def check_year(year: int | None) -> None:
    """`--year` is absent or a reporting year dakl-etl knows (`protocol.fields.YEAR_MIN..MAX`)."""
    if year is not None and not YEAR_MIN <= year <= YEAR_MAX:
        raise UsageError(
            f"--year {year}: give a four-digit reporting year from {YEAR_MIN} to {YEAR_MAX}, "
            "e.g. 2024"
        )


def gemeenten_from(reference: Path | None) -> Gemeenten:
    """The municipality list of `--reference`, else the shipped one; a bad file is exit 2."""
    try:
        return load_gemeenten(reference)
    except ReferenceError as exc:
        raise UsageError(f"--reference: {exc}") from None
