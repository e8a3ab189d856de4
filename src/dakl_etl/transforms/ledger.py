"""The ledger: every source row in exactly one bucket, and the flow rows → episodes → files.

Buckets per source: `delivered` (part of an episode in at least one year file), `rejected`
(per rule id), `excluded` (out of scope by mapping) and `outside_years` (only in episodes outside
the reporting years). `read` is counted independently from the rows themselves, so
`read == sum(buckets)` is a real check: a row lost or counted twice in between breaks it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import polars as pl

BUCKETS = ("delivered", "rejected", "excluded", "outside_years")


def row_outcomes(
    read: Sequence[int], rejects: pl.LazyFrame, registered: Sequence[int], sources: Iterable[str]
) -> pl.LazyFrame:
    """Per source: rows `read`, `excluded`, `rejected` per rule, and `registered` (went on).

    Three independent counts: `read[i]` counts every row of source i, `rejects` is the rejects
    frame (`source`, `outcome`, `rule`), `registered[i]` counts the rows of source i that went
    on to registrations. `read == excluded + rejected + registered` is thus a real check that
    the split into rejects and candidates lost and doubled nothing.
    """
    names = list(sources)
    off = rejects.group_by("source", "outcome", "rule").agg(pl.len().cast(pl.Int64).alias("rows"))

    def per_source(outcome: str, counts: Sequence[int]) -> pl.LazyFrame:
        return pl.LazyFrame(
            {
                "source": names[: len(counts)],
                "outcome": [outcome] * len(counts),
                "code": [None] * len(counts),
                "rows": list(counts),
            },
            schema={"source": pl.String, "outcome": pl.String, "code": pl.String, "rows": pl.Int64},
        )

    return pl.concat(
        [
            per_source("read", read),
            off.select(
                "source",
                "outcome",
                pl.when(pl.col("outcome") == "rejected").then(pl.col("rule")).alias("code"),
                "rows",
            ),
            per_source("registered", registered),
        ]
    )


def registration_outcomes(
    regs: pl.LazyFrame, delivered: pl.LazyFrame, sources: Iterable[str]
) -> pl.LazyFrame:
    """Per source: rows behind registrations whose episode is delivered / outside the years.

    `regs` has `_src` (position in `sources`), `episode`, `n_rows`; `delivered` has `episode`
    and `delivered` (bool).
    """
    names = dict(enumerate(sources))
    return (
        regs.select("_src", "episode", "n_rows")
        .join(delivered.select("episode", "delivered"), on="episode", how="left")
        .group_by(
            pl.col("_src").replace_strict(names, return_dtype=pl.String).alias("source"),
            pl.col("delivered").fill_null(False),
        )
        .agg(pl.col("n_rows").sum().cast(pl.Int64).alias("rows"))
    )


def build_ledger(
    sources: Iterable[str],
    rows: pl.DataFrame,
    registered: pl.DataFrame,
    *,
    years: Iterable[int],
    flow: Mapping[str, int],
    rows_per_year: Mapping[int, int],
) -> dict:
    """Assemble the ledger dict (JSON-ready) from `row_outcomes` and `registration_outcomes`.

    `flow` carries the counts along the way (night rows, registrations, episodes, conflicts…).
    """
    per_source: dict[str, dict] = {}
    names = list(
        dict.fromkeys([*sources, *rows["source"].to_list(), *registered["source"].to_list()])
    )
    for name in names:
        mine = rows.filter(pl.col("source") == name)
        regs = registered.filter(pl.col("source") == name)
        rejected = {
            code: int(n)
            for code, n in sorted(
                mine.filter(pl.col("outcome") == "rejected")
                .group_by("code")
                .agg(pl.col("rows").sum())
                .iter_rows()
            )
        }
        entry = {
            "read": int(mine.filter(pl.col("outcome") == "read")["rows"].sum()),
            "delivered": int(regs.filter(pl.col("delivered"))["rows"].sum()),
            "rejected": rejected,
            "excluded": int(mine.filter(pl.col("outcome") == "excluded")["rows"].sum()),
            "outside_years": int(regs.filter(~pl.col("delivered"))["rows"].sum()),
            "registered": int(mine.filter(pl.col("outcome") == "registered")["rows"].sum()),
        }
        entry["balanced"] = _balances(entry)
        per_source[name] = entry
    totals = {
        "read": sum(e["read"] for e in per_source.values()),
        "delivered": sum(e["delivered"] for e in per_source.values()),
        "rejected": _sum_codes(e["rejected"] for e in per_source.values()),
        "excluded": sum(e["excluded"] for e in per_source.values()),
        "outside_years": sum(e["outside_years"] for e in per_source.values()),
        "registered": sum(e["registered"] for e in per_source.values()),
    }
    totals["balanced"] = _balances(totals)
    return {
        "years": sorted(years, reverse=True),
        "balanced": totals["balanced"] and all(e["balanced"] for e in per_source.values()),
        "sources": per_source,
        "totals": totals,
        "flow": {
            **{k: int(v) for k, v in flow.items()},
            "rows_per_year": {
                str(y): int(n) for y, n in sorted(rows_per_year.items(), reverse=True)
            },
        },
    }


def _balances(entry: Mapping) -> bool:
    """read = sum of the buckets, and the rows that went on all came out as an episode."""
    buckets = (
        entry["delivered"]
        + sum(entry["rejected"].values())
        + entry["excluded"]
        + entry["outside_years"]
    )
    return entry["read"] == buckets and entry["registered"] == (
        entry["delivered"] + entry["outside_years"]
    )


def _sum_codes(dicts: Iterable[Mapping[str, int]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for d in dicts:
        for code, n in d.items():
            out[code] = out.get(code, 0) + n
    return dict(sorted(out.items()))


def unbalanced_sources(ledger: Mapping) -> list[str]:
    return [name for name, e in ledger["sources"].items() if not e["balanced"]]
