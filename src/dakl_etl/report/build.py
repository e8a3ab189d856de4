"""Build the delivery report of one DAKL file: the validator's verdict plus figures and signals."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from dakl_etl.errors import UsageError
from dakl_etl.protocol.fields import COLUMNS, DATETIME_FORMAT
from dakl_etl.protocol.findings import Report
from dakl_etl.reference import Gemeenten, ReferenceError, load_gemeenten
from dakl_etl.report import figures as fig
from dakl_etl.report.signals import Signal, Thresholds, evaluate
from dakl_etl.validation import read_dakl, validate_and_read
from dakl_etl.validation.filename import year_from_name


@dataclass(frozen=True)
class Delivery:
    """Figures of one delivery file."""

    file: str  # file name only: paths can name people's home directories
    year: int
    year_from_data: bool  # the year was taken from the start dates, not the name or caller
    figures: fig.Figures
    #: False when the file's structure (F03/F04/F05) keeps its rows from being read
    readable: bool = True
    #: Aanmaakdatum bestand (the most common one), how CBS tells deliveries apart
    created: dt.datetime | None = None


@dataclass(frozen=True)
class DeliveryReport:
    """Everything the report shows; aggregates only, no BSN or V-nummer in any field."""

    now: Delivery
    validation: Report
    previous: Delivery | None
    signals: list[Signal]
    thresholds: Thresholds
    gemeente_names: dict[str, str] = field(default_factory=dict)
    small_count_threshold: int = 5

    @property
    def accepted(self) -> bool:
        return self.validation.accepted

    @property
    def previous_figures(self) -> fig.Figures | None:
        """What to compare with: None without a previous delivery, or when it cannot be read
        (its empty figures would show every figure as a change)."""
        return self.previous.figures if self.previous and self.previous.readable else None

    @property
    def fired(self) -> list[Signal]:
        return [s for s in self.signals if s.fired]

    def to_dict(self) -> dict:
        """The same figures for machines (JSON): aggregates only, small counts not suppressed.

        The validator's findings are left out (their values may be masked BSNs); rule counts stay.
        """
        v = self.validation
        return {
            "accepted": self.accepted,
            "validation": {
                "errors": v.errors,
                "warnings": v.warnings,
                "rows_with_errors": v.rows_with_errors,
                "counts": dict(sorted(v.counts.items())),
            },
            "now": _delivery_dict(self.now),
            "previous": _delivery_dict(self.previous) if self.previous else None,
            "signals": [dataclasses.asdict(s) for s in self.signals],
            "thresholds": dataclasses.asdict(self.thresholds),
        }


def _delivery_dict(d: Delivery) -> dict:
    f = d.figures
    return {
        "file": d.file,
        "year": d.year,
        "year_from_data": d.year_from_data,
        "readable": d.readable,
        "created": d.created.isoformat() if d.created else None,
        "key": f.key.as_dict(),
        "per_type": f.per_type.to_dicts(),
        "per_gemeente": f.per_gemeente.to_dicts(),
        "per_month": f.per_month.to_dicts(),
        "lengths": f.lengths.to_dicts(),
        "length_median": f.length_median,
        "waiting": f.waiting.to_dicts(),
        "waiting_median": f.waiting_median,
        "reden": f.reden.to_dicts(),
    }


def year_from_data(frame: pl.DataFrame) -> int:
    """The reporting year when nothing names it: the latest start date (R12: none lies after)."""
    latest = frame.select(
        pl.col("startdatum").str.slice(0, 4).cast(pl.Int32, strict=False).max()
    ).item()
    return int(latest) if latest else dt.date.today().year


def created_at(frame: pl.DataFrame) -> dt.datetime | None:
    """The file's Aanmaakdatum: the most common valid value (F08 flags the others)."""
    moments = frame.select(
        pl.col("aanmaakdatum").str.to_datetime(DATETIME_FORMAT, strict=False).drop_nulls()
    ).to_series()
    if moments.is_empty():
        return None
    return moments.mode().sort()[0]


def _check_input(path: Path, what: str) -> Path:
    if not path.exists():
        raise UsageError(f"{path}: {what} not found; give the path of a DAKL file")
    if path.is_dir():
        raise UsageError(f"{path}: {what} is a directory; give the path of a DAKL file")
    return path


def _read(path: Path) -> pl.DataFrame | None:
    """The rows of a delivery, None when its structure (F03/F04/F05) keeps them from being read."""
    try:
        return read_dakl(path)
    except UsageError:
        return None


def _delivery(path: Path, frame: pl.DataFrame | None, year: int | None) -> Delivery:
    readable = frame is not None
    if frame is None:
        # The verdict names the structural findings; the figures stay empty rather than wrong.
        frame = pl.DataFrame(schema=dict.fromkeys(COLUMNS, pl.String))
    guessed = year is None
    resolved = year_from_data(frame) if year is None else year
    return Delivery(
        path.name, resolved, guessed, fig.compute(frame, resolved), readable, created_at(frame)
    )


def build_report(
    dakl_path: str | Path,
    *,
    previous: str | Path | None = None,
    year: int | None = None,
    gemeenten: Gemeenten | None = None,
    small_count_threshold: int = 5,
    thresholds: Thresholds | None = None,
    max_examples: int = 20,
) -> DeliveryReport:
    """Validate `dakl_path`, compute its figures and the plausibility signals.

    `previous` is an earlier delivery (last year's, or the one being corrected) to compare
    with; its year comes from its name, else from its start dates.
    """

    path = _check_input(Path(dakl_path), "DAKL file")
    previous_path = _check_input(Path(previous), "previous delivery") if previous else None
    if gemeenten is None:
        try:
            gemeenten = load_gemeenten()
        except ReferenceError as exc:
            raise UsageError(str(exc)) from exc
    # One read of the file serves both the verdict and the figures.
    verdict, frame = validate_and_read(
        path, year=year, gemeenten=gemeenten, max_examples=max_examples
    )
    now = _delivery(path, frame, year or verdict.year)
    del frame
    before = None
    if previous_path is not None:
        year_before = year_from_name(previous_path.name)
        before = _delivery(previous_path, _read(previous_path), year_before)
    t = thresholds or Thresholds()
    codes = set(now.figures.per_gemeente["gemeentecode"].to_list())
    if before is not None:
        codes |= set(before.figures.per_gemeente["gemeentecode"].to_list())
    names = gemeenten.frame.filter(pl.col("gemeentecode").is_in(sorted(codes)))
    # A code can have had several names over time; the latest one is what people know.
    names = names.sort("geldig_vanaf").unique("gemeentecode", keep="last")
    return DeliveryReport(
        now=now,
        validation=verdict,
        previous=before,
        # An unreadable previous delivery cannot be compared with: those signals stay unjudged.
        signals=evaluate(now.figures, before.figures if before and before.readable else None, t),
        thresholds=t,
        gemeente_names=dict(zip(names["gemeentecode"], names["gemeentenaam"], strict=True)),
        small_count_threshold=small_count_threshold,
    )


def write_text_atomic(path: str | Path, text: str, mode: int = 0o644) -> Path:
    """Write `text` whole or not at all (temp file in the same directory, fsync, rename).

    The report is a sibling layer of `outputs`, so it cannot use `outputs.atomic`; the page holds
    no personal data, hence readable mode 0644.
    """
    target = Path(path)
    if target.is_dir():
        raise UsageError(f"{target}: is a directory; give a file name for the report (-o)")
    if not target.parent.is_dir():
        raise UsageError(f"{target.parent}: directory does not exist; create it or choose -o")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return target
