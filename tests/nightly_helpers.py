"""A real producer for nightly tests: reads a CSV source, writes DAKL, rejects and ledger files.

It has the shape of `dakl_etl.pipeline.run.run_into` and writes through `atomic_output`, so the
fault point `before-rename` and the run directory logic are exercised for real. Run as a script
(`python tests/nightly_helpers.py OUT SOURCE NOW [KEEP]`) it is a whole nightly run in a
subprocess, for the SIGKILL and concurrency tests.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import polars as pl

sys.path.insert(0, str(Path(__file__).parent))

from dakl_etl.errors import ExitCode, SourceError
from dakl_etl.outputs.atomic import atomic_output
from dakl_etl.protocol.bsn import elfproef
from dakl_etl.protocol.fields import HEADER
from dakl_etl.protocol.privacy import mask_expr

SOURCE_COLUMNS = (
    "bsn",
    "gemeentecode",
    "type_opvang",
    "startdatum",
    "einddatum",
    "reden",
    "v_nummer",
)
GATE_ENV = "DAKL_TEST_GATE"  # producer waits until this file exists (concurrency test)


@dataclass
class Outcome:
    exit_code: ExitCode
    dakl_paths: dict[int, Path] = field(default_factory=dict)
    rows_per_year: dict[int, int] = field(default_factory=dict)
    reports: dict = field(default_factory=dict)
    rejects_path: Path | None = None
    ledger: dict = field(default_factory=dict)
    source_rows: dict[str, int] = field(default_factory=dict)
    rejected_rows: int = 0
    timings: dict[str, float] = field(default_factory=dict)


def pipeline_for(source: Path, yaml: Path | None = None) -> SimpleNamespace:
    return SimpleNamespace(
        path=yaml or source.with_suffix(".yaml"),
        config_hash="c0ffee" * 10 + "c0ff",
        sources={"shelter": SimpleNamespace(kind="csv", path=source)},
    )


def write_source(path: Path, rows: list[tuple[str, ...]]) -> Path:
    frame = pl.DataFrame(rows, schema=list(SOURCE_COLUMNS), orient="row")
    frame.write_csv(path, separator=";")
    return path


def produce(pipeline, directory: Path, *, years, now: datetime, dry_run=False, on_event=None):
    emit = on_event or (lambda _e, _f: None)
    t0 = time.perf_counter()
    source = pipeline.sources["shelter"].path
    emit("source_start", {"source": "shelter"})
    try:
        frame = pl.read_csv(source, separator=";", infer_schema=False)
    except (OSError, pl.exceptions.PolarsError):
        raise SourceError(f"{source}: cannot be read (gone?); check the path") from None
    emit("source_done", {"source": "shelter", "rows": frame.height})
    if gate := os.environ.get(GATE_ENV):
        deadline = time.monotonic() + 20
        while not Path(gate).exists() and time.monotonic() < deadline:
            time.sleep(0.02)
    valid = frame.filter(elfproef("bsn") | (pl.col("bsn") == "999999999"))
    rejects = frame.filter(~(elfproef("bsn") | (pl.col("bsn") == "999999999")))
    blocked = valid.filter(pl.col("type_opvang") == "0202").height > 0
    outcome = Outcome(
        exit_code=ExitCode.REJECTED if blocked else ExitCode.OK,
        source_rows={"shelter": frame.height},
        rejected_rows=rejects.height,
        ledger={
            "totals": {
                "read": frame.height,
                "delivered": valid.height,
                "rejected": {"R06": rejects.height},
            },
            "balanced": True,
        },
    )
    if dry_run:
        return outcome
    rejects_path = directory / "rejects.csv"
    with atomic_output(rejects_path) as handle:
        rejects.select(
            pl.lit("shelter").alias("source"), mask_expr("bsn"), pl.lit("R06").alias("code")
        ).write_csv(handle, separator=";")
    outcome.rejects_path = rejects_path
    for year in years:
        rows = valid.filter(pl.col("startdatum").str.slice(0, 4).cast(pl.Int32) <= year)
        outcome.rows_per_year[year] = rows.height
        if blocked:
            continue
        dakl = rows.select(
            pl.lit(now.strftime("%Y%m%d%H%M")).alias("aanmaakdatum"),
            "gemeentecode",
            "bsn",
            pl.lit("").alias("datum_melding"),
            "type_opvang",
            "startdatum",
            pl.col("einddatum").fill_null(""),
            pl.col("reden").fill_null(""),
            pl.col("v_nummer").fill_null(""),
        )
        path = directory / f"DAKL_J{year}.csv"
        body = "\n".join(";".join(r) for r in dakl.iter_rows())
        with atomic_output(path) as handle:
            handle.write((HEADER + "\n" + body + ("\n" if body else "")).encode())
        outcome.dakl_paths[year] = path
        emit("written", {"kind": "dakl", "year": year, "rows": rows.height})
    with atomic_output(directory / "ledger.json", mode=0o644) as handle:
        handle.write(json.dumps(outcome.ledger).encode())
    outcome.timings["total"] = time.perf_counter() - t0
    return outcome


def main(argv: list[str]) -> int:
    from dakl_etl.pipeline.logs import EventLog
    from dakl_etl.pipeline.nightly import describe_from_config, nightly_run

    out, source, now = Path(argv[0]), Path(argv[1]), datetime.fromisoformat(argv[2])
    keep = int(argv[3]) if len(argv) > 3 else 30
    result = nightly_run(
        pipeline_for(source),
        out,
        years=[now.year - 1],
        now=now,
        produce=produce,
        keep=keep,
        log=EventLog(log_format="json"),
        describe=describe_from_config,
        reports=False,
    )
    return int(result.exit_code)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
