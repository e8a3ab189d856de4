"""Benchmark of the delivery report: a 1,000,000-row DAKL file -> report.html.

    .venv/bin/python benchmarks/report_bench.py                # 1M rows, with/without --previous
    .venv/bin/python benchmarks/report_bench.py --rows 100000  # quicker while developing

Target (issue 6): the report of a 1M-row delivery in under 10 s, the page under 5 MB.
A seeded, vectorised generator writes DAKL files under benchmarks/_data/ (reused when present):
realistic mix of types, gemeenten, lengths, unknown BSNs with and without V-nummer. Each
measurement runs in a fresh child process (cold imports included, as `dakl-etl report` pays
them) that reports its wall time, the time per stage and peak RSS.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

HERE = Path(__file__).resolve().parent
DATA = HERE / "_data"
SEED = 6
LIMIT_SECONDS = 10.0
LIMIT_BYTES = 5 * 1024 * 1024
TYPES = np.array(["0201", "0203", "0204", "0205", "0301", "0302", "0303", "0304", "0305"])
TYPE_WEIGHTS = np.array([20, 8, 6, 2, 30, 12, 8, 4, 10], dtype=float)
REDENEN = np.array(["19", "21", "22", "23", "99", "02"])
WEIGHTS = np.array([9, 8, 7, 6, 5, 4, 3, 2])


def synthetic_bsns(rng: np.random.Generator, n: int) -> np.ndarray:
    """`n` elfproef-valid BSNs starting with 9 (synthetic, never real)."""
    out: list[np.ndarray] = []
    have = 0
    while have < n:
        first8 = rng.integers(90_000_000, 100_000_000, size=int((n - have) * 1.15) + 16)
        digits = (first8[:, None] // 10 ** np.arange(7, -1, -1)) % 10
        check = (digits * WEIGHTS).sum(axis=1) % 11
        ok = check < 10
        out.append(first8[ok] * 10 + check[ok])
        have += int(ok.sum())
    return np.unique(np.concatenate(out))[:n]


def delivery_frame(rows: int, year: int, seed: int) -> pl.DataFrame:
    """`rows` DAKL rows of year `year` as the nine text fields."""
    from dakl_etl.reference import load_gemeenten

    rng = np.random.default_rng(seed)
    persons = synthetic_bsns(rng, max(rows // 2, 1)).astype(str)
    person = rng.integers(0, len(persons), size=rows)
    unknown = rng.random(rows) < 0.06
    bsn = np.where(unknown, "999999999", persons[person])
    v_digits = rng.integers(1_000_000_000, 9_999_999_999, size=rows).astype(str)
    v_nummer = np.where(unknown & (rng.random(rows) < 0.7), v_digits, "")
    codes = np.array(sorted(load_gemeenten().codes_in_year(year)))
    gemeente = codes[rng.integers(0, len(codes), size=rows)]
    type_opvang = TYPES[rng.choice(len(TYPES), size=rows, p=TYPE_WEIGHTS / TYPE_WEIGHTS.sum())]
    first = np.datetime64(f"{year}-01-01")
    last = np.datetime64(f"{year}-12-31")
    start = first + rng.integers(-200, 365, size=rows).astype("timedelta64[D]")
    length = rng.exponential(60, size=rows).astype(int).astype("timedelta64[D]")
    end = start + length
    end = np.where(
        end < first, first + rng.integers(0, 60, size=rows).astype("timedelta64[D]"), end
    )
    still_open = end >= last
    end = np.where(still_open, last, end)
    end_unknown = (~still_open) & (rng.random(rows) < 0.01) & (start >= first)
    melding = start - rng.integers(0, 45, size=rows).astype("timedelta64[D]")
    has_melding = rng.random(rows) < 0.6
    reden = np.where(still_open | end_unknown, "", REDENEN[rng.integers(0, len(REDENEN), rows)])

    def yyyymmdd(values: np.ndarray) -> np.ndarray:
        return np.char.replace(np.datetime_as_string(values, unit="D"), "-", "")

    return pl.DataFrame(
        {
            "aanmaakdatum": np.full(rows, f"{year + 1}0424" + "0900"),
            "gemeentecode": gemeente,
            "bsn": bsn,
            "datum_melding": np.where(has_melding, yyyymmdd(melding), ""),
            "type_opvang": type_opvang,
            "startdatum": yyyymmdd(start),
            "einddatum": np.where(end_unknown, "", yyyymmdd(end)),
            "reden": reden,
            "v_nummer": v_nummer,
        }
    )


def generate(rows: int, year: int, seed: int) -> Path:
    from dakl_etl.protocol.fields import HEADER

    DATA.mkdir(exist_ok=True)
    path = DATA / f"DAKL_J{year}_reportbench{rows}.csv"
    if path.exists():
        return path
    frame = delivery_frame(rows, year, seed)
    body = frame.write_csv(
        separator=";", include_header=False, line_terminator="\r\n", quote_style="never"
    )
    path.write_bytes((HEADER + "\r\n" + body).encode("utf-8"))
    return path


def measure(now: str, previous: str | None, out: str) -> None:
    """Child process: the report as `dakl-etl report` makes it, with stage timings."""
    started = time.perf_counter()
    from dakl_etl.report import build_report, render_html, render_summary
    from dakl_etl.report.build import write_text_atomic

    imported = time.perf_counter()
    report = build_report(now, previous=previous)
    built = time.perf_counter()
    html = render_html(report)
    rendered = time.perf_counter()
    write_text_atomic(out, html)
    render_summary(report)
    done = time.perf_counter()
    print(
        json.dumps(
            {
                "seconds": done - started,
                "import": imported - started,
                "build": built - imported,
                "render": rendered - built,
                "write": done - rendered,
                "bytes": Path(out).stat().st_size,
                "accepted": report.accepted,
                "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


def stage(path: Path) -> dict:
    """Child process: the validator (with the one read) and the figures, for the breakdown."""
    code = (
        "import json,time,sys\n"
        "from dakl_etl.validation import validate_and_read\n"
        "from dakl_etl.report import figures\n"
        "t0=time.perf_counter(); r,f=validate_and_read(sys.argv[1]); t1=time.perf_counter()\n"
        "figures.compute(f, 2024); t2=time.perf_counter()\n"
        "print(json.dumps({'validate': t1-t0, 'figures': t2-t1}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)


def child(now: Path, previous: Path | None, out: Path) -> dict:
    args = [sys.executable, __file__, "--child", str(now), str(out)]
    if previous is not None:
        args += ["--previous", str(previous)]
    done = subprocess.run(args, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--child", nargs=2, metavar=("DAKL", "OUT"))
    parser.add_argument("--previous")
    args = parser.parse_args()
    if args.child:
        measure(args.child[0], args.previous, args.child[1])
        return

    t = time.perf_counter()
    now = generate(args.rows, 2024, SEED)
    before = generate(args.rows, 2023, SEED + 1)
    print(
        f"data: {now.name}, {now.stat().st_size / 1e6:.0f} MB "
        f"(generated or reused in {time.perf_counter() - t:.1f} s)"
    )
    parts = stage(now)
    print(f"stages: validate_and_read {parts['validate']:.2f} s, figures {parts['figures']:.2f} s")
    for label, previous in (("report", None), ("report --previous", before)):
        out = DATA / f"report_{args.rows}{'_prev' if previous else ''}.html"
        r = child(now, previous, out)
        ok = r["seconds"] < LIMIT_SECONDS and r["bytes"] < LIMIT_BYTES
        print(
            f"{label:<18} {args.rows:>9,} rows: {r['seconds']:5.2f} s "
            f"(imports {r['import']:.2f}, build {r['build']:.2f}, render {r['render']:.2f}, "
            f"write {r['write']:.2f}); page {r['bytes'] / 1024:,.0f} KiB; "
            f"peak RSS {r['rss_mb']:,.0f} MB; "
            f"time/limit {r['seconds'] / LIMIT_SECONDS:.2f}, size/limit "
            f"{r['bytes'] / LIMIT_BYTES:.3f}; accepted {r['accepted']} -> {'OK' if ok else 'OVER'}"
        )


if __name__ == "__main__":
    main()
