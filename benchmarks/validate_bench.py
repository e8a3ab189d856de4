"""Benchmark `dakl-etl validate` on a 1M-row DAKL file against a stdlib csv split loop.

Generates (under benchmarks/_data/, git-ignored) a valid synthetic DAKL file and a copy with 1%
bad rows, then prints the median time of several runs of `validate_file` on each, of a minimal
`csv.reader` loop that only splits the lines, and their ratio; also the peak memory of one run.
Target: 1M rows in under 2 s, within 3x of the split loop.

    .venv/bin/python benchmarks/validate_bench.py [--rows N] [--runs K]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import polars as pl

from dakl_etl.outputs.writer import dakl_bytes, format_dakl
from dakl_etl.reference import load_gemeenten
from dakl_etl.validation import validate_file

DATA = Path(__file__).parent / "_data"
YEAR = 2024


def synthetic_rows(n: int, seed: int = 1) -> pl.DataFrame:
    """`n` valid rows: synthetic BSNs (starting with 9, elfproef-valid), real codes and dates."""
    gen = pl.DataFrame({"i": pl.int_range(0, int(n * 1.2), eager=True)}).select(
        (pl.lit(90_000_000) + pl.col("i").hash(seed) % 10_000_000).alias("first8")
    )
    digits = [(pl.col("first8") // 10 ** (7 - k)) % 10 for k in range(8)]
    check = pl.sum_horizontal(d * w for d, w in zip(digits, range(9, 1, -1), strict=True)) % 11
    bsn = (
        gen.with_columns(check=check)
        .filter(pl.col("check") < 10)
        .select((pl.col("first8") * 10 + pl.col("check")).cast(pl.String).alias("bsn"))
        .head(n)
    )
    codes = sorted(load_gemeenten().codes_in_year(YEAR))
    start = pl.lit(dt.date(2023, 6, 1)) + pl.duration(days=pl.col("k") % 500)
    frame = (
        bsn.with_row_index("k")
        .with_columns(
            pl.col("k").cast(pl.Int64),
        )
        .with_columns(
            gemeentecode=pl.lit(pl.Series(codes)).get(pl.col("k") % len(codes)),
            type_opvang=pl.lit(pl.Series(["0201", "0203", "0301", "0302"])).get(pl.col("k") % 4),
            startdatum=start,
            datum_melding=pl.when(pl.col("k") % 3 == 0).then(start - pl.duration(days=3)),
            einddatum=pl.when(pl.col("k") % 5 == 0)
            .then(None)
            .otherwise(start + pl.duration(days=pl.col("k") % 300)),
            v_nummer=pl.when(pl.col("k") % 7 == 0).then(
                (pl.lit(1_000_000_000) + pl.col("k")).cast(pl.String)
            ),
        )
    )
    frame = frame.with_columns(
        einddatum=pl.when(pl.col("einddatum") < dt.date(YEAR, 1, 1))
        .then(pl.lit(dt.date(YEAR, 12, 31)))
        .otherwise(pl.col("einddatum")),
    ).with_columns(
        reden=pl.when(pl.col("einddatum").is_not_null() & (pl.col("k") % 2 == 0)).then(
            pl.lit("19")
        ),
    )
    return frame.drop("k")


def damage(rows: pl.DataFrame, share: float = 0.01) -> pl.DataFrame:
    """Plant one typical mistake in `share` of the rows, cycling through kinds."""
    k = pl.int_range(0, pl.len())
    bad = (k % int(1 / share)) == 0
    kind = (k // int(1 / share)) % 5
    return rows.with_columns(
        gemeentecode=pl.when(bad & (kind == 0))
        .then(pl.col("gemeentecode").str.strip_chars_start("0"))
        .otherwise(pl.col("gemeentecode")),
        bsn=pl.when(bad & (kind == 1))
        .then(pl.col("bsn").str.slice(0, 8) + "0")
        .when(bad & (kind == 2))
        .then(pl.lit("12345678"))
        .otherwise(pl.col("bsn")),
        type_opvang=pl.when(bad & (kind == 3))
        .then(pl.lit("0202"))
        .otherwise(pl.col("type_opvang")),
        startdatum=pl.when(bad & (kind == 4))
        .then(pl.lit("01-02-2024"))
        .otherwise(pl.col("startdatum")),
    )


def generate(n: int) -> tuple[Path, Path]:
    DATA.mkdir(exist_ok=True)
    good, bad = DATA / f"DAKL_J{YEAR}_bench{n}.csv", DATA / f"DAKL_J{YEAR}_bench{n}_bad.csv"
    if good.exists() and bad.exists():
        return good, bad
    created = dt.datetime(2025, 4, 24, 9, 0)
    formatted = format_dakl(synthetic_rows(n), created)
    good.write_bytes(dakl_bytes(formatted))
    bad.write_bytes(dakl_bytes(damage(formatted)))
    return good, bad


def csv_split_loop(path: Path) -> int:
    """The floor: read and split every line with the stdlib, nothing checked."""
    n = 0
    with open(path, newline="", encoding="utf-8") as handle:
        for _ in csv.reader(handle, delimiter=";"):
            n += 1
    return n


def median_time(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


_HWM = "print(next(int(x.split()[1]) for x in open('/proc/self/status') if x.startswith('VmHWM')))"


def peak_memory_mb(path: Path) -> float:
    """Peak RSS of a fresh process validating `path`, above that of its imports.

    VmHWM, not ru_maxrss: the latter carries the parent's peak into a forked child.
    """
    code = f"from dakl_etl.validation import validate_file; validate_file({str(path)!r}); {_HWM}"
    base = f"import polars, dakl_etl.validation; {_HWM}"
    run = [int(subprocess.check_output([sys.executable, "-c", c], text=True)) for c in (code, base)]
    return (run[0] - run[1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    good, bad = generate(args.rows)
    gemeenten = load_gemeenten()
    size = good.stat().st_size / 1e6
    print(f"rows: {args.rows:,}  file: {size:.1f} MB  runs: {args.runs}  cores: {os.cpu_count()}")

    t_csv = median_time(lambda: csv_split_loop(good), args.runs)
    results = {}
    for label, path in (("valid", good), ("1% bad", bad)):
        report = validate_file(path, gemeenten=gemeenten)
        results[label] = median_time(
            lambda p=path: validate_file(p, gemeenten=gemeenten), args.runs
        )
        print(
            f"validate {label:7s}: {results[label]:.2f} s  "
            f"(accepted={report.accepted}, errors={report.errors}, rows={report.rows})"
        )
    print(f"stdlib csv split loop: {t_csv:.2f} s")
    for label, t in results.items():
        print(f"ratio validate {label} / csv split: {t / t_csv:.2f}x  (target <= 3x, < 2 s)")
    peak = peak_memory_mb(bad)
    print(
        f"peak memory of one validate (above imports): {peak:.0f} MB, {peak / size:.1f}x the file"
    )


if __name__ == "__main__":
    main()
