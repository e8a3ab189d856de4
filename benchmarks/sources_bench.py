"""Reading + mapping a source into the canonical frame, next to a bare Polars read of the file.

    .venv/bin/python benchmarks/sources_bench.py [--csv-rows 1000000] [--xlsx-rows 100000]

Generates synthetic sources under benchmarks/_data/ (reused when present), then times in one
run: bare `pl.read_csv` / `pl.read_excel` of each file, and `read_source(...).collect()` through
a pipeline YAML. Target: mapping costs at most 2x the bare read. Best of `--repeat` runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time
from pathlib import Path

import polars as pl

from dakl_etl.config import load_pipeline
from dakl_etl.reference import load_gemeenten
from dakl_etl.sources import read_source

DATA = Path(__file__).resolve().parent / "_data"
_WEIGHTS = (9, 8, 7, 6, 5, 4, 3, 2)
LABELS = ["Nachtopvang", "Noodopvang", "24-uursopvang", "Doorstroomwoning", "Beschermd wonen"]
REDENEN = ["Volgens plan", "Door cliënt beëindigd", "Onbekend", ""]
GEMEENTEN = ["Utrecht", "Nieuwegein", "Zeist", "Houten", "Amersfoort"]


def bsn_pool(rng: random.Random, n: int) -> list[str]:
    out = []
    while len(out) < n:
        first8 = "9" + "".join(rng.choice("0123456789") for _ in range(7))
        last = sum(int(d) * w for d, w in zip(first8, _WEIGHTS, strict=True)) % 11
        if last < 10:
            out.append(first8 + str(last))
    return out


def make_csv(path: Path, rows: int) -> None:
    """A case-system export: stays of 0-300 days, a fifth still open, a few defects."""
    rng = random.Random(1)
    pool = bsn_pool(rng, 50_000)
    base = dt.date(2022, 1, 1)
    days = pl.Series([(base + dt.timedelta(days=i)).strftime("%d-%m-%Y") for i in range(1400)])

    def pick(values: list, seed: int) -> pl.Series:
        return pl.Series(values).sample(rows, with_replacement=True, seed=seed)

    start = pick(list(range(1000)), 5)
    length = pick(list(range(-1, 300)), 6)  # -1: an end before the start, now and then
    still_open = pick([True, False, False, False, False], 9)
    frame = pl.DataFrame(
        {
            "Zaaknummer": "Z" + pl.int_range(rows, eager=True).cast(pl.String),
            "BSN": pick(pool, 2),
            "Gemeente": pick(GEMEENTEN, 3),
            "Voorziening": pick(LABELS, 4),
            "Begindatum": days.gather(start),
            "Einddatum": days.gather(start + length),
            "Reden": pick(REDENEN, 7),
            "Meldingsdatum": days.gather(start),
            "open": still_open,
        }
    ).with_columns(
        Einddatum=pl.when(pl.col("open")).then(pl.lit("")).otherwise(pl.col("Einddatum")),
        Reden=pl.when(pl.col("open")).then(pl.lit("")).otherwise(pl.col("Reden")),
    )
    frame.drop("open").write_csv(path, separator=";")


def make_xlsx(path: Path, rows: int) -> None:
    import xlsxwriter

    rng = random.Random(9)
    pool = bsn_pool(rng, 5_000)
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    date_format = book.add_format({"num_format": "dd-mm-yyyy"})
    sheet = book.add_worksheet("Bezetting")
    sheet.write_row(0, 0, ["Datum", "Locatie", "Clientnummer", "BSN", "Gemeentecode"])
    base = dt.datetime(2024, 1, 1)
    for i in range(1, rows + 1):
        sheet.write_datetime(i, 0, base + dt.timedelta(days=rng.randrange(700)), date_format)
        sheet.write_string(i, 1, rng.choice(("De Haven", "Oost", "Sleep-in")))
        sheet.write_string(i, 2, f"N{rng.randrange(20000)}")
        sheet.write_number(i, 3, int(rng.choice(pool)))
        sheet.write_string(i, 4, "0344")
    book.close()


PIPELINE = """
delivery: {{free_text: bench, year: 2024, output: out}}
mappings:
  match: casefold
  type_opvang: {{Nachtopvang: "0201", Noodopvang: "0203", 24-uursopvang: "0301",
                Doorstroomwoning: "0302", Beschermd wonen: exclude}}
  reden: {{Volgens plan: "19", Door cliënt beëindigd: "21", Onbekend: "99"}}
sources:
  zaken:
    kind: csv
    path: {csv}
    delimiter: ";"
    encoding: utf-8
    columns: {{bsn: BSN, client_id: Zaaknummer, gemeente: Gemeente, type_opvang: Voorziening,
              startdatum: Begindatum, einddatum: Einddatum, reden: Reden,
              datum_melding: Meldingsdatum}}
    dates: {{default: ["%d-%m-%Y"]}}
  nachten:
    kind: excel
    path: {xlsx}
    sheet: Bezetting
    granularity: night
    columns: {{bsn: BSN, client_id: Clientnummer, datum: Datum, gemeente: Gemeentecode}}
    constants: {{type_opvang: "0201"}}
"""


def best_of(fns, repeat: int) -> list[tuple[float, float]]:
    """Best (wall, CPU) seconds of each function, runs interleaved so load hits them alike.

    CPU time (all threads) is the steadier figure on a shared machine.
    """
    times: list[list[tuple[float, float]]] = [[] for _ in fns]
    for _ in range(repeat):
        for fn, sink in zip(fns, times, strict=True):
            wall, cpu = time.perf_counter(), time.process_time()
            fn()
            sink.append((time.perf_counter() - wall, time.process_time() - cpu))
    return [(min(w for w, _ in t), min(c for _, c in t)) for t in times]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv-rows", type=int, default=1_000_000)
    parser.add_argument("--xlsx-rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    DATA.mkdir(parents=True, exist_ok=True)
    csv_path = DATA / f"zaken_v2_{args.csv_rows}.csv"
    xlsx_path = DATA / f"nachten_{args.xlsx_rows}.xlsx"
    if not csv_path.exists():
        make_csv(csv_path, args.csv_rows)
    if not xlsx_path.exists():
        make_xlsx(xlsx_path, args.xlsx_rows)
    yaml_path = DATA / "bench.yaml"
    yaml_path.write_text(PIPELINE.format(csv=csv_path, xlsx=xlsx_path), encoding="utf-8")
    pipeline = load_pipeline(yaml_path)
    gemeenten = load_gemeenten()

    ok = True
    for name, bare in (
        ("zaken", lambda: pl.read_csv(csv_path, separator=";")),
        ("nachten", lambda: pl.read_excel(xlsx_path, sheet_name="Bezetting")),
    ):
        rows = read_source(name, pipeline, gemeenten=gemeenten).collect().height
        (bare_wall, bare_cpu), (map_wall, map_cpu) = best_of(
            [bare, lambda n=name: read_source(n, pipeline, gemeenten=gemeenten).collect()],
            args.repeat,
        )
        ratio, cpu_ratio = map_wall / bare_wall, map_cpu / bare_cpu
        ok &= ratio <= 2.0
        kind = pipeline.sources[name].kind
        print(
            f"{kind:5} {rows:>9,} rows  bare read {bare_wall:6.3f} s  read+map {map_wall:6.3f} s"
            f"  ratio {ratio:4.2f}x ({'within' if ratio <= 2 else 'OVER'} 2x; mapping alone "
            f"{ratio - 1:4.2f}x)  |  CPU {bare_cpu:6.3f} s vs {map_cpu:6.3f} s: {cpu_ratio:4.2f}x"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
