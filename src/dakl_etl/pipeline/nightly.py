"""A run that a GGD can schedule and forget: lock, run directory, manifest, diff, `latest`.

`nightly_run` wraps the run (`produce`, by default `dakl_etl.pipeline.run.run_into`):

1. take the exclusive lock on `OUT/.lock` (exit 4 when another run holds it);
2. remove the remains of runs that were killed (directories without a manifest);
3. let the run write into a new `OUT/runs/<timestamp>/`;
4. compare each DAKL file with the same year's file of the `latest` run;
5. write `manifest.json` (last: a run directory with a manifest is complete);
6. only when the delivery was accepted: switch `OUT/latest`, then prune old runs.

A failed or blocked run changes nothing outside its own directory.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from dakl_etl.errors import DaklError, ExitCode, LockHeld, UsageError
from dakl_etl.faults import fault_point
from dakl_etl.outputs.atomic import PRIVATE_DIR
from dakl_etl.pipeline import rundir
from dakl_etl.pipeline.lock import RunLock
from dakl_etl.pipeline.logs import EventLog, counts_in, scrub
from dakl_etl.pipeline.manifest import (
    MANIFEST_VERSION,
    read_manifest,
    versions,
    write_manifest,
)
from dakl_etl.protocol.fields import COLUMNS
from dakl_etl.protocol.rules import RULES
from dakl_etl.sources.base import sha256_of
from dakl_etl.transforms.diff import diff_deliveries
from dakl_etl.validation import read_dakl

DEFAULT_KEEP = 30
STATUS = {
    ExitCode.OK: "delivered",
    ExitCode.REJECTED: "blocked",
    ExitCode.CONFIG: "configuration-error",
    ExitCode.SOURCE: "source-unreadable",
    ExitCode.LOCKED: "locked",
    70: "internal-error",
}

Produce = Callable[..., Any]


class InternalError(DaklError):
    """A bug in dakl-etl surfaced during a run; its message names only the exception type."""

    exit_code = 70  # EX_SOFTWARE, as `cli.main` uses for internal errors


@dataclass
class RunResult:
    """What a run did. `exit_code` is what the CLI exits with; nothing here holds a BSN."""

    exit_code: int  # an ExitCode; 70 for an internal error (a bug)
    message: str  # the one-line verdict
    run_dir: Path | None = None  # None: nothing was written (lock held, dry run, config error)
    latest: Path | None = None  # the run `OUT/latest` points to after this run
    delivered: bool = False  # this run became `latest`
    dakl: dict[int, Path] = field(default_factory=dict)  # year -> DAKL file
    rows: dict[int, int] = field(default_factory=dict)  # year -> data rows in the DAKL file
    rejects: Path | None = None
    ledger: dict[str, Any] = field(default_factory=dict)
    findings: dict[str, int] = field(default_factory=dict)  # rule id -> count
    reports: list[Any] = field(default_factory=list)  # protocol.Report per DAKL file
    diff: dict[str, Any] | None = None  # see manifest "diff"
    manifest: Path | None = None
    warnings: list[str] = field(default_factory=list)
    report_summaries: list[str] = field(default_factory=list)  # text of each report_J*.html
    report_figures: dict[str, Any] = field(default_factory=dict)  # year -> key figures, signals
    outcome: Any = None  # the run's own result object (RunOutcome)

    @property
    def ok(self) -> bool:
        return self.exit_code == ExitCode.OK

    @property
    def status(self) -> str:
        return STATUS.get(self.exit_code, "error")


def nightly_run(
    pipeline: Any,
    out: str | Path,
    *,
    years: list[int],
    now: datetime,
    produce: Produce | None = None,
    keep: int = DEFAULT_KEEP,
    dry_run: bool = False,
    log: EventLog | None = None,
    describe: Callable[[str, Any], dict[str, Any]] | None = None,
    reports: bool = True,
    outcome_text: Callable[[Any], str] | None = None,
) -> RunResult:
    """Run `produce` into a fresh run directory of `out` under the lock; see the module doc.

    `reports=False` skips the HTML delivery reports (`report_J{year}.html`); `outcome_text`
    renders the run's own outcome (ledger table, findings) at the top of the text summary.
    """
    if keep < 1:
        raise DaklError("--keep must be at least 1: the run `latest` points to is always kept")
    produce = produce or _default_producer()
    log = log or EventLog()
    log.outcome_text = outcome_text
    out = Path(out)
    try:
        _check_out(out)  # a dry run, too, says when the real run could not write
        if dry_run:
            return _dry_run(pipeline, out, years=years, now=now, produce=produce, log=log)
        _make_out(out)
    except UsageError as exc:
        log.error("output_unusable", str(exc))
        return RunResult(ExitCode.CONFIG, str(exc), latest=None)
    try:
        lock = RunLock(out).acquire()
    except LockHeld as exc:
        message = str(exc)
        log.error("lock_held", message)
        return RunResult(ExitCode.LOCKED, message, latest=rundir.latest_run(out))
    except OSError as exc:
        message = (
            f"{out}: cannot create {out / '.lock'} ({exc.strerror}); check --out and "
            "its permissions"
        )
        log.error("output_unusable", message)
        return RunResult(ExitCode.CONFIG, message)
    try:
        return _locked_run(
            pipeline,
            out,
            lock,
            years=years,
            now=now,
            produce=produce,
            keep=keep,
            log=log,
            describe=describe or _default_describe(),
            reports=reports,
        )
    finally:
        lock.release()


def _locked_run(
    pipeline, out, lock, *, years, now, produce, keep, log, describe, reports
) -> RunResult:
    started_at = datetime.now(UTC)
    t0 = time.monotonic()
    warnings: list[str] = []
    if note := lock.stale_warning():
        warnings.append(note)
        log.warning("stale_lock", note)
    for gone in rundir.remove_interrupted(out):
        note = f"removed the remains of an interrupted run: {gone.relative_to(out)}"
        warnings.append(note)
        log.warning("interrupted_run_removed", note)
    previous = rundir.latest_run(out)
    run_dir = rundir.new_run_dir(out)
    log.info("run_directory", run_dir=str(run_dir))

    outcome = None
    error: DaklError | None = None
    try:
        outcome = produce(pipeline, run_dir, years=years, now=now, dry_run=False, on_event=log)
    except DaklError as exc:
        error = exc
    except Exception as exc:  # a bug: record it in the manifest and the log, then go on
        if os.environ.get("DAKL_ETL_DEBUG"):
            raise
        error = InternalError(
            f"internal error ({type(exc).__name__}); this is a bug in dakl-etl. Rerun with "
            "DAKL_ETL_DEBUG=1 for the traceback (it may contain personal data)"
        )
    t_run = time.monotonic() - t0

    result = _result_from(outcome, error)
    result.run_dir = run_dir
    result.warnings = warnings
    diff = _diff_against(previous, result.dakl, out) if result.dakl else None
    result.diff = diff
    t = time.monotonic()
    if reports:
        _write_reports(pipeline, run_dir, result, previous, log)
    report_s = round(time.monotonic() - t, 3)

    fault_point("before-manifest")
    manifest = _manifest(
        pipeline,
        run_dir,
        result,
        years=years,
        now=now,
        describe=describe,
        outcome=outcome,
        started_at=started_at,
        timings={"run_s": round(t_run, 3), "report_s": report_s},
        t0=t0,
    )
    will_deliver = result.exit_code == ExitCode.OK
    manifest["accepted"] = will_deliver
    result.manifest = write_manifest(run_dir, manifest)

    fault_point("before-latest")
    if will_deliver:
        rundir.switch_latest(out, run_dir)
        result.delivered = True
        for pruned in rundir.prune(out, keep):
            log.info("run_pruned", run=pruned.name)
    result.latest = rundir.latest_run(out)
    result.message = _verdict(result, out)
    _summarise(log, result, out, manifest)
    return result


def _dry_run(pipeline, out, *, years, now, produce, log) -> RunResult:
    """Everything but the delivery: written into a throw-away directory, `OUT` untouched."""
    with tempfile.TemporaryDirectory(prefix="dakl-etl-dry-run-") as tmp:
        os.chmod(tmp, PRIVATE_DIR)
        error = None
        outcome = None
        try:
            outcome = produce(pipeline, Path(tmp), years=years, now=now, dry_run=True, on_event=log)
        except DaklError as exc:
            error = exc
        result = _result_from(outcome, error)
        previous = rundir.latest_run(out)
        result.diff = _diff_against(previous, result.dakl, out) if result.dakl else None
        result.latest = previous
        result.dakl, result.rejects, result.run_dir = {}, None, None
        if result.exit_code == ExitCode.OK:
            rows = ", ".join(f"J{y} {n} rows" for y, n in sorted(result.rows.items()))
            verdict = f"would be delivered ({rows or 'no rows'})"
        else:
            verdict = _verdict(result, out)
        result.message = f"dry run: {verdict}; nothing was written"
        _summarise(log, result, out, {})
    return result


def _result_from(outcome: Any, error: DaklError | None) -> RunResult:
    if error is not None:
        return RunResult(_exit_code(error.exit_code), scrub(str(error)))
    reports = _get(outcome, "reports", {}) or {}
    reports = list(reports.values()) if isinstance(reports, dict) else list(reports)
    findings: Counter[str] = Counter()
    for report in reports:
        findings.update(getattr(report, "counts", {}) or {})
    return RunResult(
        exit_code=_exit_code(_get(outcome, "exit_code", ExitCode.OK)),
        message="",
        dakl={int(y): Path(p) for y, p in (_get(outcome, "dakl_paths", {}) or {}).items()},
        rows={int(y): int(n) for y, n in (_get(outcome, "rows_per_year", {}) or {}).items()},
        rejects=_path_or_none(_get(outcome, "rejects_path", None)),
        ledger=dict(_get(outcome, "ledger", {}) or {}),
        findings=dict(sorted(findings.items())),
        reports=reports,
        outcome=outcome,
    )


def _exit_code(code: Any) -> int:
    """An `ExitCode` where it is one; other codes (70: internal error) stay plain ints."""
    try:
        return ExitCode(int(code))
    except ValueError:
        return int(code)


def _get(outcome: Any, name: str, default: Any) -> Any:
    if isinstance(outcome, dict):
        return outcome.get(name, default)
    return getattr(outcome, name, default)


def _path_or_none(value: Any) -> Path | None:
    return Path(value) if value else None


# -- diff against latest -----------------------------------------------------------------


def read_delivery(path: str | Path) -> pl.DataFrame:
    """A DAKL file's nine fields (`protocol.fields.COLUMNS`) as text; UsageError if unreadable."""
    return read_dakl(path).select(COLUMNS)


def delivery_of_year(run_dir: Path, year: int) -> Path | None:
    """The DAKL file of `year` in a run directory (by its manifest, else by its name)."""
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        for output in read_manifest(run_dir)["outputs"]:
            if output.get("kind") == "dakl" and output.get("year") == year:
                return run_dir / output["name"]
    found = sorted(run_dir.glob(f"DAKL_J{year}*"))
    return found[0] if found else None


def _diff_against(previous: Path | None, dakl: dict[int, Path], out: Path) -> dict[str, Any]:
    against = previous.name if previous else None
    per_year: dict[str, Any] = {}
    for year, path in sorted(dakl.items()):
        old = delivery_of_year(previous, year) if previous else None
        if old is None or not old.is_file() or not Path(path).is_file():
            per_year[str(year)] = None
            continue
        try:
            diff = diff_deliveries(read_delivery(old), read_delivery(path)).to_dict()
        except DaklError as exc:  # a damaged earlier delivery must not stop tonight's
            diff = {"error": scrub(str(exc))}
        per_year[str(year)] = diff
    return {"against": against, "years": per_year}


# -- delivery report ---------------------------------------------------------------------


def _write_reports(
    pipeline, run_dir: Path, result: RunResult, previous: Path | None, log: EventLog
) -> None:
    """`report_J{year}.html` beside each DAKL file, compared with `latest`'s file of that year.

    The report is a help, not part of the delivery: whatever goes wrong making it becomes a
    warning, never a failed run.
    """
    for year, path in sorted(result.dakl.items()):
        target = run_dir / f"report_J{year}.html"
        try:
            from dakl_etl.reference import load_gemeenten
            from dakl_etl.report import render_summary, write_report

            delivery = getattr(pipeline, "delivery", None)
            gemeenten = load_gemeenten(getattr(delivery, "reference", None))
            old = delivery_of_year(previous, year) if previous else None
            report = write_report(path, target, previous=old, gemeenten=gemeenten)
            summary = render_summary(report)
        except Exception as exc:
            note = (
                f"the report for J{year} could not be made ({type(exc).__name__}); "
                "the delivery is not affected"
            )
            result.warnings.append(note)
            log.warning("report_failed", note, year=year)
            continue
        result.report_summaries.append(summary)
        figures = {
            "file": target.name,
            "accepted": report.accepted,
            "signals": [signal.id for signal in report.fired],
            **report.now.figures.key.as_dict(),
        }
        result.report_figures[str(year)] = figures
        log.info("report", year=year, path=str(target), **figures)


# -- manifest ----------------------------------------------------------------------------


def _manifest(
    pipeline, run_dir, result, *, years, now, describe, outcome, started_at, timings, t0
) -> dict[str, Any]:
    finished_at = datetime.now(UTC)
    source_rows = dict(_get(outcome, "source_rows", {}) or {})
    run_timings = dict(_get(outcome, "timings", {}) or {})
    return {
        "manifest_version": MANIFEST_VERSION,
        "run_id": run_dir.name,
        "run_dir": str(run_dir),
        "started_at": started_at.isoformat(),
        "finished_at": finished_at.isoformat(),
        "duration_s": round(time.monotonic() - t0, 3),
        "timings": {
            **{k: round(v, 3) for k, v in run_timings.items() if isinstance(v, int | float)},
            **timings,
        },
        "now": now.isoformat(),
        "years": list(years),
        "status": result.status,
        "exit_code": int(result.exit_code),
        "message": scrub(result.message) if result.message else None,
        "pipeline": {
            "path": str(getattr(pipeline, "path", "")),
            "config_hash": getattr(pipeline, "config_hash", None),
        },
        "inputs": _inputs(pipeline, describe, source_rows),
        "outputs": _outputs(run_dir, result),
        "ledger": result.ledger,
        "findings": result.findings,
        "diff": result.diff,
        "reports": result.report_figures,
        "versions": versions(),
        "warnings": [scrub(w) for w in result.warnings],
    }


def _inputs(pipeline, describe, source_rows: dict[str, int]) -> list[dict[str, Any]]:
    inputs = []
    for name in getattr(pipeline, "sources", {}) or {}:
        try:
            described = dict(describe(name, pipeline))
        except (DaklError, OSError) as exc:  # a source that vanished is in the run's error
            described = {"error": scrub(str(exc))}
        inputs.append({"source": name, **described, "rows": source_rows.get(name)})
    return inputs


def _outputs(run_dir: Path, result: RunResult) -> list[dict[str, Any]]:
    kinds = {Path(p).name: ("dakl", year) for year, p in result.dakl.items()}
    if result.rejects:
        kinds[result.rejects.name] = ("rejects", None)
    outputs = []
    for path in sorted(p for p in run_dir.iterdir() if p.is_file() and p.name != "manifest.json"):
        kind, year = kinds.get(path.name, (_kind_by_name(path.name), None))
        entry: dict[str, Any] = {
            "name": path.name,
            "kind": kind,
            "bytes": path.stat().st_size,
            "sha256": sha256_of(path),
        }
        if year is not None:
            entry["year"] = year
            entry["rows"] = result.rows.get(year)
        elif path.suffix.lower() == ".csv":
            entry["rows"] = _data_lines(path)
        outputs.append(entry)
    return outputs


def _data_lines(path: Path) -> int:
    """Lines after the header of a CSV output (rejects: no field holds a line break)."""
    with open(path, "rb") as handle:
        lines = sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 20), b""))
    return max(lines - 1, 0)


def _kind_by_name(name: str) -> str:
    lowered = name.lower()
    for kind in ("rejects", "ledger", "report", "conflicts"):
        if kind in lowered:
            return kind
    return "dakl" if name.startswith("DAKL_J") else "other"


def _default_describe() -> Callable[[str, Any], dict[str, Any]]:
    from dakl_etl.sources import describe_source

    return describe_source


def describe_from_config(name: str, pipeline: Any) -> dict[str, Any]:
    """Kind and location of a source from its config; URLs without user or password."""
    source = pipeline.sources[name]
    described: dict[str, Any] = {"kind": getattr(source, "kind", None)}
    path = getattr(source, "path", None)
    if path is not None:
        paths = path if isinstance(path, list) else [path]
        described["path"] = [str(p) for p in paths] if len(paths) > 1 else str(paths[0])
        described["sha256"] = (
            [sha256_of(p) for p in paths] if len(paths) > 1 else (sha256_of(paths[0]))
        )
    url = getattr(source, "url", None)
    if url is not None:
        described["url"] = url_without_credentials(url)
    return described


def url_without_credentials(url: str) -> str:
    """`sources.sql.safe_url` (`URL.set(username=None)` kept the user name); an unparsable URL
    shows only its scheme."""
    from sqlalchemy.engine import make_url

    from dakl_etl.sources.sql import safe_url

    try:
        make_url(url)
    except Exception:
        return url.split(":", 1)[0] + "://…"
    return safe_url(url)


def _default_producer() -> Produce:
    from dakl_etl.pipeline.run import run_into  # on first use, like describe_source

    return run_into


def _check_out(out: Path) -> None:
    """OUT is (or can become) a directory whose `latest` and `runs` are ours to manage."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out}: exists and is not a directory; choose another --out")
    latest, runs = out / rundir.LATEST, out / rundir.RUNS
    if latest.exists() and not latest.is_symlink():
        raise UsageError(
            f"{latest}: exists and is not the symlink dakl-etl maintains; "
            "move it away or choose another --out"
        )
    if runs.exists() and not runs.is_dir():
        raise UsageError(
            f"{runs}: exists and is not the directory dakl-etl keeps its runs in; "
            "move it away or choose another --out"
        )


def _make_out(out: Path) -> None:
    """OUT exists and is writable (checked before any work)."""
    try:
        out.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(
            f"{out}: cannot write the output directory ({exc.strerror}); "
            "check --out and its permissions"
        ) from None


# -- summary -----------------------------------------------------------------------------


def _verdict(result: RunResult, out: Path) -> str:
    latest = (
        f"latest -> {os.path.relpath(result.latest, out)}" if result.latest else "no latest yet"
    )
    if result.exit_code == ExitCode.OK:
        files = ", ".join(
            f"{Path(p).name} ({result.rows.get(y, '?')} rows)"
            for y, p in sorted(result.dakl.items())
        )
        return f"delivered: {files or 'no files'}; {latest}"
    if result.exit_code == ExitCode.REJECTED:
        errors = (
            ", ".join(
                f"{c} {n}"
                for c, n in result.findings.items()
                if c in RULES and RULES[c].severity == "error"
            )
            or "see the summary"
        )
        return f"blocked by validation errors ({errors}); {latest} (unchanged)"
    return f"{result.status}: {result.message}; {latest} (unchanged)"


def _summarise(log: EventLog, result: RunResult, out: Path, manifest: dict[str, Any]) -> None:
    lines: list[str] = []
    render = getattr(log, "outcome_text", None)
    if render is not None and result.outcome is not None and not log.json:
        lines.extend([render(result.outcome).rstrip("\n"), ""])
    if result.run_dir:
        lines.append(f"run directory: {result.run_dir}")
    for entry in manifest.get("inputs", []):
        lines.append(
            f"  source {entry['source']}: {entry.get('rows', '?')} rows ({entry.get('kind', '?')})"
        )
    for entry in manifest.get("outputs", []):
        rows = f", {entry['rows']} rows" if entry.get("rows") is not None else ""
        lines.append(f"  wrote {entry['name']} ({entry['kind']}{rows})")
    if result.findings:
        lines.append("findings: " + ", ".join(f"{c} {n}" for c, n in result.findings.items()))
    totals = result.ledger.get("totals")
    if isinstance(totals, dict) and render is None:  # else the run's own text has the ledger
        counts = {k: sum(v.values()) if isinstance(v, dict) else v for k, v in totals.items()}
        lines.append(
            "rows: " + ", ".join(f"{k} {v}" for k, v in counts.items() if isinstance(v, int))
        )
    diff = result.diff or {}
    for year, d in (diff.get("years") or {}).items():
        if d is None:
            lines.append(f"what changed in {year}: nothing to compare with (first delivery)")
            continue
        if "error" in d:
            lines.append(f"what changed in {year}: cannot compare: {d['error']}")
            continue
        from dakl_etl.transforms.diff import DeliveryDiff

        lines.append(f"what changed in {year} since run {diff['against']}:")
        lines.extend("  " + line for line in DeliveryDiff(**d).lines())
    for text in result.report_summaries:
        lines.extend(text.rstrip("\n").splitlines())
    for warning in result.warnings:
        lines.append(f"warning: {warning}")
    data = {
        "status": result.status,
        "exit_code": int(result.exit_code),
        "run_dir": str(result.run_dir) if result.run_dir else None,
        "rows": {str(y): n for y, n in result.rows.items()},
        "findings": result.findings,
        "diff": {y: (d.get("rows") if d else None) for y, d in (diff.get("years") or {}).items()},
    }
    # the counts the lines quote, so that a 12-million-row run is not masked as a BSN would be
    counts = counts_in([result.ledger, result.rows, result.findings, diff, manifest])
    log.summary(result.message, lines, result.ok, data, counts)
