"""Benchmark of the nightly wrapper: `dakl-etl diff` and the wrapper's own overhead.

    .venv/bin/python benchmarks/nightly_bench.py                  # 1M-row deliveries
    .venv/bin/python benchmarks/nightly_bench.py --rows 100000    # quicker while developing

1. diff: two deliveries of N rows (the second: 2 % of the episodes ended, 1 % gone, 1 % new)
   read with `read_dakl` and compared with `diff_deliveries`, against the floor of a bare
   `pl.read_csv` of both files plus one full join on the episode key.
2. wrapper: `nightly_run` around a producer that only copies a ready DAKL file into the run
   directory, so what is measured is the wrapper: lock, run directory, sha256 of outputs, diff
   against `latest`, manifest, `latest` switch, pruning (the HTML report, issue 6, is off:
   `benchmarks/report_bench.py` measures it).
Generated files go to benchmarks/_data/ (reused when present).
"""

from __future__ import annotations

import argparse
import io
import shutil
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import polars as pl

from dakl_etl.errors import ExitCode
from dakl_etl.pipeline.logs import EventLog
from dakl_etl.pipeline.nightly import describe_from_config, nightly_run, read_delivery
from dakl_etl.protocol.fields import HEADER
from dakl_etl.transforms.diff import diff_deliveries

HERE = Path(__file__).resolve().parent
DATA = HERE / "_data"
SEED = 55
_W = np.array([9, 8, 7, 6, 5, 4, 3, 2])


def bsns(rng: np.random.Generator, n: int) -> np.ndarray:
    """Unique elfproef-valid 9-digit numbers starting with 9 (synthetic, never real)."""
    out: list[np.ndarray] = []
    have = 0
    while have < n:
        first = rng.integers(0, 10, size=(n * 2, 8))
        first[:, 0] = 9
        check = (first * _W).sum(axis=1) % 11
        ok = check < 10
        numbers = (first[ok] * 10 ** np.arange(8, 0, -1)).sum(axis=1) + check[ok]
        out.append(numbers)
        have += len(numbers)
    return np.unique(np.concatenate(out))[:n]


def delivery(rows: int, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    persons = bsns(rng, max(rows * 2 // 3, 1))
    start = np.datetime64("2023-06-01") + rng.integers(0, 570, rows).astype("timedelta64[D]")
    length = rng.integers(1, 400, rows).astype("timedelta64[D]")
    end = start + length
    open_ = end > np.datetime64("2024-12-31")
    return pl.DataFrame(
        {
            "aanmaakdatum": ["202504240900"] * rows,
            "gemeentecode": rng.choice(["0344", "0363", "0518", "0599", "0772"], rows),
            "bsn": [f"{b:09d}" for b in rng.choice(persons, rows)],
            "datum_melding": [""] * rows,
            "type_opvang": rng.choice(["0201", "0203", "0301", "0302", "0303"], rows),
            "startdatum": pl.Series(start).dt.strftime("%Y%m%d"),
            "einddatum": pl.Series(np.where(open_, np.datetime64("2024-12-31"), end)).dt.strftime(
                "%Y%m%d"
            ),
            "reden": np.where(open_, "", rng.choice(["19", "21", "22", "99"], rows)),
            "v_nummer": [""] * rows,
        }
    ).unique(subset=["bsn", "type_opvang", "gemeentecode", "startdatum"], keep="first")


def next_night(frame: pl.DataFrame, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    u = rng.random(frame.height)
    ended = pl.Series(u < 0.02)
    kept = frame.with_columns(
        pl.when(ended).then(pl.lit("20250101")).otherwise("einddatum").alias("einddatum"),
        pl.when(ended).then(pl.lit("19")).otherwise("reden").alias("reden"),
        pl.lit("202504250900").alias("aanmaakdatum"),
    ).filter(pl.Series((u < 0.02) | (u >= 0.03)))
    added = delivery(frame.height // 100, seed + 1).with_columns(
        pl.lit("202504250900").alias("aanmaakdatum")
    )
    return pl.concat([kept, added])


def write(frame: pl.DataFrame, path: Path) -> Path:
    if not path.exists():
        body = frame.select(pl.concat_str(pl.all(), separator=";")).to_series()
        path.write_text(HEADER + "\n" + "\n".join(body) + "\n", encoding="utf-8")
    return path


def floor(old: Path, new: Path) -> float:
    t = time.perf_counter()
    a = pl.read_csv(old, separator=";", infer_schema=False)
    b = pl.read_csv(new, separator=";", infer_schema=False)
    key = [a.columns[1], a.columns[2], a.columns[4], a.columns[5]]
    assert a.join(b, on=key, how="full").height >= a.height
    return time.perf_counter() - t


def bench_diff(old: Path, new: Path) -> None:
    t = time.perf_counter()
    a, b = read_delivery(old), read_delivery(new)
    t_read = time.perf_counter() - t
    t = time.perf_counter()
    d = diff_deliveries(a, b)
    t_diff = time.perf_counter() - t
    base = min(floor(old, new) for _ in range(2))
    total = t_read + t_diff
    print(
        f"diff: {a.height:,} -> {b.height:,} rows: read {t_read:.2f} s + diff {t_diff:.2f} s "
        f"= {total:.2f} s; floor (read_csv x2 + one join) {base:.2f} s; "
        f"ratio {total / base:.1f}x"
    )
    r = d.rows
    print(
        f"      +{r['added']:,} -{r['removed']:,} ~{r['changed']:,} ={r['unchanged']:,} rows; "
        f"{len(d.groups)} TypeOpvang/gemeente groups; "
        f"{(a.height + b.height) / total / 1e6:.2f} M rows/s"
    )


def bench_wrapper(old: Path, new: Path) -> None:
    def copy_producer(pipeline, directory, *, years, now, dry_run=False, on_event=None):
        source = pipeline.sources["bench"].path
        target = directory / "DAKL_J2024.csv"
        shutil.copyfile(source, target)
        rows = source.read_bytes().count(b"\n") - 1
        return SimpleNamespace(
            exit_code=ExitCode.OK,
            dakl_paths={2024: target},
            rows_per_year={2024: rows},
            reports={},
            rejects_path=None,
            ledger={},
            source_rows={"bench": rows},
            timings={},
        )

    with tempfile.TemporaryDirectory(dir=DATA) as tmp:
        out = Path(tmp) / "out"
        times = []
        for night, source in enumerate((old, new)):
            pipeline = SimpleNamespace(
                path=source,
                config_hash="bench",
                sources={"bench": SimpleNamespace(kind="csv", path=source)},
            )
            t = time.perf_counter()
            shutil.copyfile(source, Path(tmp) / "copy.csv")
            t_copy = time.perf_counter() - t
            t = time.perf_counter()
            result = nightly_run(
                pipeline,
                out,
                years=[2024],
                now=datetime(2025, 4, 24 + night),
                produce=copy_producer,
                describe=describe_from_config,
                log=EventLog(log_format="json", stream=io.StringIO()),
                reports=False,
            )
            total = time.perf_counter() - t
            assert result.exit_code == ExitCode.OK
            times.append((total, t_copy, result.diff["years"]["2024"] is not None))
        for (total, t_copy, diffed), label in zip(
            times, ("first night", "second night"), strict=True
        ):
            what = "with diff vs latest" if diffed else "no latest yet"
            print(
                f"wrapper, {label} ({what}): {total:.2f} s, of which the producer's copy "
                f"~{t_copy:.2f} s; wrapper overhead {total - t_copy:.2f} s"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    rows = parser.parse_args().rows
    DATA.mkdir(exist_ok=True)
    old = DATA / f"DAKL_J2024_nightly{rows}_a.csv"
    new = DATA / f"DAKL_J2024_nightly{rows}_b.csv"
    if not (old.exists() and new.exists()):
        t = time.perf_counter()
        first = delivery(rows, SEED)
        write(first, old)
        write(next_night(first, SEED + 7), new)
        print(f"generated {old.name}, {new.name} in {time.perf_counter() - t:.1f} s")
    bench_diff(old, new)
    bench_wrapper(old, new)


if __name__ == "__main__":
    sys.exit(main())
