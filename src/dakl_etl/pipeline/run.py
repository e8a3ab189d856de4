"""One run: sources → episodes → year files, validated, written with rejects and ledger.

`run_into` does the work inside a directory it is given and returns a `RunOutcome`; it never
exits the process. The nightly wrapper (run directories, lock, manifest) and the CLI call it.
Events go to `on_event(name, fields)` — counts and paths only, never a BSN or V-nummer.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from dakl_etl.config import Pipeline, load_pipeline
from dakl_etl.errors import ConfigError, DaklError, ExitCode, UsageError
from dakl_etl.outputs.atomic import PRIVATE, PRIVATE_DIR, write_bytes_atomic
from dakl_etl.outputs.ledger import ledger_file_name, write_ledger
from dakl_etl.outputs.rejects import rejects_file_name, write_rejects
from dakl_etl.outputs.writer import dakl_bytes, dakl_file_name, format_dakl
from dakl_etl.protocol.fields import TIMEZONE
from dakl_etl.protocol.findings import Report
from dakl_etl.reference import Gemeenten, ReferenceError, load_gemeenten
from dakl_etl.sources import input_size, read_source
from dakl_etl.transforms.delivery import Derived, Settings, SourcePart, combine, reduce_source
from dakl_etl.transforms.episodes import EpisodeSettings
from dakl_etl.transforms.ledger import unbalanced_sources
from dakl_etl.validation import validate_written

OnEvent = Callable[[str, dict], None]
NOW_FORMAT = "%Y-%m-%dT%H:%M"
MAX_CONFLICT_EXAMPLES = 20


class LedgerUnbalanced(DaklError):
    """Rows got lost or were counted twice between reading and writing: a bug, not the data."""

    exit_code = 70  # EX_SOFTWARE, as `cli.main` uses for internal errors


@dataclass
class RunOutcome:
    """What a run did. `exit_code` 0: delivered (warnings allowed); 1: blocked by errors."""

    exit_code: ExitCode
    years: list[int]
    now: dt.datetime
    directory: Path
    dry_run: bool
    dakl_paths: dict[int, Path] = field(default_factory=dict)  # written files (none when blocked)
    rows_per_year: dict[int, int] = field(default_factory=dict)
    reports: dict[int, Report] = field(default_factory=dict)  # final validation per year
    rejects_path: Path | None = None
    ledger_path: Path | None = None
    ledger: dict = field(default_factory=dict)
    source_rows: dict[str, int] = field(default_factory=dict)
    rejected_rows: int = 0
    excluded_rows: int = 0
    conflicts: int = 0
    #: open-vs-closed disagreements: source, line of the open registration, type, gemeente,
    #: masked BSN — enough to find the stale record
    conflict_examples: list[dict] = field(default_factory=list)
    #: earlier years asked for as a re-delivery in which no episode falls: no file (F07 asks
    #: for at least one data row), a warning, and the reporting year's file is not blocked
    empty_previous_years: list[int] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def delivered(self) -> bool:
        return self.exit_code == ExitCode.OK and not self.dry_run

    @property
    def errors(self) -> int:
        return sum(r.errors for r in self.reports.values())

    @property
    def warnings(self) -> int:
        return sum(r.warnings for r in self.reports.values())


def current_now() -> dt.datetime:
    """The moment of extraction: Dutch local time to the minute (Aanmaakdatum is local)."""
    return dt.datetime.now(ZoneInfo(TIMEZONE)).replace(second=0, microsecond=0, tzinfo=None)


def parse_now(text: str) -> dt.datetime:
    """`--now YYYY-MM-DDTHH:MM` → a naive local datetime (a UsageError names the format)."""
    try:
        return dt.datetime.strptime(text.strip(), NOW_FORMAT)
    except ValueError:
        raise UsageError(
            f"--now {text!r}: expected YYYY-MM-DDTHH:MM (local Dutch time), e.g. 2025-04-24T09:00"
        ) from None


def years_for(
    pipeline: Pipeline, *, year: int | None = None, with_previous_year: bool | None = None
) -> list[int]:
    """The reporting year (`--year` over the YAML) and, when asked, its previous year."""
    main = year if year is not None else pipeline.delivery.year
    previous = (
        pipeline.delivery.with_previous_year if with_previous_year is None else with_previous_year
    )
    return [main, main - 1] if previous else [main]


def episode_settings(pipeline: Pipeline) -> EpisodeSettings:
    ep = pipeline.episodes
    return EpisodeSettings(
        merge_gap_days=ep.merge_gap_days,
        merge_gap_days_by_type=dict(ep.merge_gap_days_by_type),
        end_date_precedence=tuple(ep.end_date_precedence),
    )


def load_reference(pipeline: Pipeline) -> Gemeenten:
    try:
        return load_gemeenten(pipeline.delivery.reference)
    except ReferenceError as exc:
        raise ConfigError(f"{pipeline.path}: delivery.reference: {exc}") from None


def run(
    path: str | Path,
    *,
    year: int | None = None,
    with_previous_year: bool | None = None,
    out: str | Path | None = None,
    now: dt.datetime | None = None,
    dry_run: bool = False,
    on_event: OnEvent | None = None,
) -> RunOutcome:
    """`dakl-etl run`: load the pipeline YAML, resolve years and output directory, run."""
    pipeline = load_pipeline(path)
    directory = Path(out) if out is not None else pipeline.delivery.output
    return run_into(
        pipeline,
        directory,
        years=years_for(pipeline, year=year, with_previous_year=with_previous_year),
        now=now or current_now(),
        dry_run=dry_run,
        on_event=on_event,
    )


def run_into(
    pipeline: Pipeline,
    directory: Path,
    *,
    years: list[int],
    now: dt.datetime,
    dry_run: bool = False,
    on_event: OnEvent | None = None,
) -> RunOutcome:
    """Extract, derive, validate and (unless blocked or `dry_run`) write into `directory`.

    Written: `DAKL_J{Y}_{free_text}.csv` per year (0600), the rejects file (0600; written
    while the year files are validated, as it does not depend on the verdict) and the ledger
    JSON, last. When the final validation finds an error in any year, no DAKL file is written
    (rejects and ledger are) and `exit_code` is 1. Raises `LedgerUnbalanced` — after writing the
    ledger for diagnosis — when a row got lost on the way; `SourceError`/`ConfigError` as the
    sources and reference raise them.
    """
    emit = on_event or (lambda _name, _fields: None)
    now = now.replace(second=0, microsecond=0)
    years = sorted(set(years), reverse=True)
    if not years:
        raise UsageError("no reporting year: set delivery.year in the pipeline or pass --year")
    free_text = pipeline.delivery.free_text
    directory = Path(directory)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    emit(
        "run_started",
        {
            "years": years,
            "now": now.strftime(NOW_FORMAT),
            "dry_run": dry_run,
            "sources": list(pipeline.sources),
        },
    )
    if not dry_run:  # before the work: a directory we cannot write to is found in a second
        with _writing(directory):
            directory.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    gemeenten = load_reference(pipeline)
    settings = Settings.of(
        pipeline.sources,
        years=years,
        now=now,
        settings=episode_settings(pipeline),
        invalid_bsn=pipeline.persons.invalid_bsn,
        # R04 as the final validation judges it: an episode goes into a year's file only when
        # its gemeentecode existed in that year; the others are withheld and accounted for
        gemeentecodes={y: gemeenten.codes_in_year(y) for y in years},
    )
    parts = _read_sources(pipeline, gemeenten, settings)
    timings["read_and_reduce_sources"] = time.perf_counter() - t0

    t = time.perf_counter()
    derived = combine(parts, settings)
    del parts
    timings["derive"] = time.perf_counter() - t
    timings.update({f"derive.{k}": v for k, v in derived.timings.items()})
    ledger = derived.ledger
    for name, entry in ledger["sources"].items():
        emit(
            "source_rows",
            {
                "source": name,
                "read": entry["read"],
                "delivered": entry["delivered"],
                "rejected": sum(entry["rejected"].values()),
                "excluded": entry["excluded"],
                "outside_years": entry["outside_years"],
            },
        )
    emit("episodes", {k: v for k, v in ledger["flow"].items() if not isinstance(v, dict)})
    for event in withheld_events(ledger):
        emit("withheld_r04", event)

    outcome = RunOutcome(
        exit_code=ExitCode.OK,
        years=years,
        now=now,
        directory=directory,
        dry_run=dry_run,
        ledger=ledger,
        rows_per_year={y: f.height for y, f in derived.years.items()},
        source_rows={n: e["read"] for n, e in ledger["sources"].items()},
        rejected_rows=sum(ledger["totals"]["rejected"].values()),
        excluded_rows=ledger["totals"]["excluded"],
        conflicts=ledger["flow"]["conflicts"],
        conflict_examples=conflict_examples(derived),
        timings=timings,
    )

    if not ledger["balanced"]:
        if not dry_run:
            with _writing(directory):
                outcome.ledger_path = write_ledger(ledger, directory / ledger_file_name(free_text))
        bad = ", ".join(unbalanced_sources(ledger)) or "totals"
        raise LedgerUnbalanced(
            f"the ledger does not balance ({bad}): rows were lost or counted twice between "
            "reading and writing. Nothing was delivered. This is a bug in dakl-etl; please "
            "report it with the ledger JSON (it holds counts only)."
        )

    # The final check is the validator itself on the exact bytes that will be written (what
    # `write_dakl` checks too), judged on the rows they were made of (`validate_written`);
    # those bytes are then written as they are, not formatted twice.
    t = time.perf_counter()
    files: dict[int, tuple[str, bytes]] = {}

    def checked(y: int) -> tuple[str, bytes, Report]:
        name = dakl_file_name(y, free_text)
        rows = format_dakl(derived.year_frame(y), now)
        data = dakl_bytes(rows)
        return name, data, validate_written(rows, data, name, year=y, gemeenten=gemeenten)

    outcome.empty_previous_years = [y for y in years[1:] if not outcome.rows_per_year[y]]
    for y in outcome.empty_previous_years:
        emit("empty_year", empty_year_event(y))
    filed = [y for y in years if y not in outcome.empty_previous_years]
    # The rejects file does not wait for the verdict: it is written while the year files are
    # validated, so its disk writes overlap the validation's work.
    with ThreadPoolExecutor(max_workers=1) as background:
        rejects_written = None
        if not dry_run:
            path = directory / rejects_file_name(free_text)
            rejects_written = background.submit(write_rejects, derived.rejects, path)
        for y, (name, data, report) in zip(filed, _side_by_side(checked, filed), strict=True):
            files[y] = (name, data)
            outcome.reports[y] = report
            emit(
                "validated",
                {
                    "year": y,
                    "rows": outcome.rows_per_year[y],
                    "errors": report.errors,
                    "warnings": report.warnings,
                    "counts": dict(report.counts),
                },
            )
        timings["validate"] = time.perf_counter() - t
        blocked = any(not r.accepted for r in outcome.reports.values())
        if blocked:
            outcome.exit_code = ExitCode.REJECTED

        if rejects_written is not None:
            t = time.perf_counter()  # the writing the run waits for, after validation
            with _writing(directory):
                rejected_rows = derived.rejects.height
                _write_outputs(
                    outcome, rejects_written, rejected_rows, files, free_text, blocked, emit
                )
            timings["write"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - t0
    emit(
        "run_finished",
        {
            "exit_code": int(outcome.exit_code),
            "seconds": round(timings["total"], 3),
            "files": len(outcome.dakl_paths),
        },
    )
    return outcome


def _side_by_side(work: Callable, items: list) -> list:
    """`work` on each item, two at a time, results in the order of `items`.

    Mapping a source and validating a year file are largely single-threaded (eager steps,
    Python between them); Polars releases the GIL, so two at a time keep both cores busy.
    The first exception in item order is raised, as a plain loop would.
    """
    if len(items) < 2:
        return [work(item) for item in items]
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(work, item) for item in items]
        return [f.result() for f in futures]


def _read_sources(pipeline: Pipeline, gemeenten: Gemeenten, settings: Settings) -> list:
    """Every source read and reduced (`reduce_source`), two side by side, in the pipeline's
    order; a source is reduced in the thread that read it.

    The largest file is read first and alone: Polars reads a CSV on every core, so a second
    source read beside it only slows it down, and its reduction takes longest. The others
    start as soon as its rows are in memory and are read and reduced while it is reduced
    (about 6 % off the 10M-row benchmark's reading phase). Sources without a file (a
    database) start together as before. The first failure in the order they start is raised.
    """
    names = list(pipeline.sources)
    sizes = [input_size(name, pipeline) for name in names]
    # largest first; ties (and databases, size 0) in the pipeline's order
    order = sorted(range(len(names)), key=lambda i: -sizes[i])
    first = order[0] if len(names) > 1 and max(sizes) > 0 else None
    loaded = threading.Event()
    if first is None:
        loaded.set()

    def read_and_reduce(position: int) -> SourcePart:
        leads = position == first
        if not leads:
            loaded.wait()
        on_loaded = loaded.set if leads else None
        try:
            # handed over, not held here: `reduce_source` lets go of it once it is prepared
            return reduce_source(
                position,
                read_source(names[position], pipeline, gemeenten=gemeenten, on_loaded=on_loaded),
                settings,
            )
        finally:
            if leads:
                loaded.set()  # also when reading failed: the others must not wait for ever

    parts = dict(zip(order, _side_by_side(read_and_reduce, order), strict=True))
    return [parts[position] for position in range(len(names))]


def _write_outputs(
    outcome: RunOutcome,
    rejects: Future[Path],
    rejected_rows: int,
    files: dict[int, tuple[str, bytes]],
    free_text: str,
    blocked: bool,
    emit: OnEvent,
) -> None:
    """The rejects file first (`rejects`: being written while the files were validated), then
    the DAKL files (unless blocked), the ledger last."""
    directory = outcome.directory
    outcome.rejects_path = rejects.result()
    emit("written", {"kind": "rejects", "path": str(outcome.rejects_path), "rows": rejected_rows})
    if not blocked:
        for y, (name, data) in files.items():
            path = write_bytes_atomic(directory / name, data, mode=PRIVATE)
            outcome.dakl_paths[y] = path
            emit(
                "written",
                {"kind": "dakl", "year": y, "path": str(path), "rows": outcome.rows_per_year[y]},
            )
    outcome.ledger_path = write_ledger(outcome.ledger, directory / ledger_file_name(free_text))
    emit("written", {"kind": "ledger", "path": str(outcome.ledger_path)})


@contextlib.contextmanager
def _writing(directory: Path) -> Iterator[None]:
    """An output directory that cannot be written is a usage problem with one clear line."""
    try:
        yield
    except OSError as exc:
        raise UsageError(
            f"{directory}: cannot write the delivery there ({exc.strerror or type(exc).__name__});"
            " choose a writable directory with --out or delivery.output"
        ) from None


def withheld_events(ledger: dict) -> list[dict]:
    """Warnings for rows kept out of a year's file because their gemeentecode did not exist in
    that year (R04): per year the file rows withheld, and the source rows in no file at all."""
    flow = ledger.get("flow", {})
    events = [
        {
            "level": "warning",
            "year": int(year),
            "rows": n,
            "message": f"J{year}: {n} row(s) withheld from the file: gemeentecode did not "
            f"exist in {year} (R04); map the old code under mappings.gemeente or update the "
            "reference list",
        }
        for year, n in flow.get("withheld_r04_rows_per_year", {}).items()
        if n
    ]
    rejected = ledger.get("totals", {}).get("rejected_after_registration", 0)
    if rejected:
        events.append(
            {
                "level": "warning",
                "rows": rejected,
                "episodes": flow.get("episodes_rejected_r04", 0),
                "message": f"{rejected} source row(s) in no file (R04): their gemeentecode did "
                "not exist in any year they fall in; listed in the rejects file",
            }
        )
    return events


#: Why a re-delivery year has no file (`RunOutcome.empty_previous_years`).
EMPTY_YEAR = (
    "no episode falls in {year}, so there is no re-delivery file for it (a DAKL file needs at "
    "least one data row, F07); the reporting year's file is not affected"
)


def empty_year_event(year: int) -> dict:
    """The warning for a re-delivery year without rows."""
    message = f"J{year}: " + EMPTY_YEAR.format(year=year)
    return {"level": "warning", "year": year, "message": message}


def conflict_examples(derived: Derived, limit: int = MAX_CONFLICT_EXAMPLES) -> list[dict]:
    """The first open-vs-closed disagreements, located by the open registration's source line."""
    return derived.conflicts.head(limit).to_dicts()
