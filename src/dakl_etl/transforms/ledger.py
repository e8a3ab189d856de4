"""The ledger: every source row in exactly one bucket, and the flow rows → episodes → files.

Buckets per source: `delivered` (part of an episode in at least one year file), `rejected`
(per rule id), `excluded` (out of scope by mapping) and `outside_years` (only in episodes outside
the reporting years). `read` is counted independently from the rows themselves, so
`read == sum(buckets)` is a real check: a row lost or counted twice in between breaks it.

Most rejects are decided per row, before registrations (`registered` counts the rows that went
on). One is decided per episode, after them: an episode that falls in a reporting year by its
dates but whose gemeentecode existed in none of those years is in no file (R04). Its rows are
`rejected` R04 — counted from the rejects file's rows, like every reject — and, counted
separately from the registrations behind the episode, `rejected_after_registration`. So:

    read       == delivered + sum(rejected) + excluded + outside_years
    registered == delivered + outside_years + rejected_after_registration

Both sides of each equation are counted independently; together they also check that the
rejects file lists exactly the rows behind the episodes rejected after registration. An
episode withheld from one year's file but delivered in another stays `delivered`; the flow
counts those rows per year (`withheld_r04_rows_per_year`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import polars as pl

BUCKETS = ("delivered", "rejected", "excluded", "outside_years")


def source_name(sources: Iterable[str]) -> pl.Expr:
    """`_src` (a source's position in the pipeline) as the source's name."""
    return pl.col("_src").replace_strict(dict(enumerate(sources)), return_dtype=pl.String)


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


#: What became of the rows behind a registration, by its episode (`registration_outcomes`).
EPISODE_BUCKETS = ("delivered", "outside_years", "rejected")


def registration_outcomes(
    regs: pl.DataFrame | pl.LazyFrame,
    episodes: pl.DataFrame | pl.LazyFrame,
    sources: Iterable[str],
) -> pl.LazyFrame:
    """Per source and `bucket` (`EPISODE_BUCKETS`): rows behind registrations whose episode is
    delivered, outside the years, or rejected after registration (R04: in no year's file).

    `regs` has `_src` (position in `sources`), `episode`, `n_rows`; `episodes` has `episode`,
    `delivered` and `rejected_r04` (bool). A registration whose episode is missing gets no
    bucket (null): its rows are counted nowhere and the ledger does not balance.
    """
    buckets = ("delivered", "rejected", "outside_years")
    # grouped by numbers, named after: a few groups per source, not millions of strings
    bucket = (
        pl.when(pl.col("delivered"))
        .then(0)
        .when(pl.col("rejected_r04"))
        .then(1)
        .when(pl.col("delivered").is_not_null())
        .then(2)
    )
    verdicts = _columns(episodes, "episode", "delivered", "rejected_r04")
    behind = _columns(regs, "_src", "episode", "n_rows")
    return (
        _looked_up(behind, verdicts)
        .with_columns(bucket.alias("_bucket"))  # a column, not an expression key: twice faster
        .group_by("_src", "_bucket")
        .agg(pl.col("n_rows").sum().cast(pl.Int64).alias("rows"))
        .select(
            source_name(sources).alias("source"),
            pl.col("_bucket")
            .replace_strict(dict(enumerate(buckets)), return_dtype=pl.String)
            .alias("bucket"),
            "rows",
        )
    )


def _columns(frame: pl.DataFrame | pl.LazyFrame, *names: str) -> pl.DataFrame | pl.LazyFrame:
    """The columns as they are (`select` on a frame whose columns are chunked differently
    copies them to align the chunks)."""
    return frame[list(names)] if isinstance(frame, pl.DataFrame) else frame.select(names)


def _looked_up(
    regs: pl.DataFrame | pl.LazyFrame, verdicts: pl.DataFrame | pl.LazyFrame
) -> pl.LazyFrame:
    """`regs` with their episode's `verdicts` (a left join on `episode`).

    Episodes numbered 1..N in order, as `episodes.aggregate_episodes` makes them, are looked
    up by position: a gather, about three times cheaper than the join on millions of rows. Any
    other numbering, or a registration's episode out of that range, takes the join.
    """
    if isinstance(regs, pl.DataFrame) and isinstance(verdicts, pl.DataFrame):
        numbers, wanted = verdicts.get_column("episode"), regs.get_column("episode")
        one_to_n = (
            numbers.len() > 0 and numbers[0] == 1 and bool((numbers.diff().drop_nulls() == 1).all())
        )
        lowest, highest = wanted.min(), wanted.max()
        if (
            one_to_n
            and wanted.null_count() == 0
            and isinstance(lowest, int)
            and isinstance(highest, int)
            and lowest >= 1
            and highest <= numbers.len()
        ):
            found = verdicts.drop("episode")[wanted - 1]
            return regs.with_columns(found.get_columns()).lazy()
    return regs.lazy().join(verdicts.lazy(), on="episode", how="left")


def build_ledger(
    sources: Iterable[str],
    rows: pl.DataFrame,
    registered: pl.DataFrame,
    *,
    years: Iterable[int],
    flow: Mapping[str, int],
    rows_per_year: Mapping[int, int],
    withheld_per_year: Mapping[int, int] | None = None,
) -> dict:
    """Assemble the ledger dict (JSON-ready) from `row_outcomes` and `registration_outcomes`.

    `flow` carries the counts along the way (night rows, registrations, episodes, conflicts…);
    `withheld_per_year`: rows (episodes) withheld from each year's file because their
    gemeentecode did not exist in that year (R04), also when delivered in another year.
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
            "delivered": _bucket(regs, "delivered"),
            "rejected": rejected,
            "excluded": int(mine.filter(pl.col("outcome") == "excluded")["rows"].sum()),
            "outside_years": _bucket(regs, "outside_years"),
            "registered": int(mine.filter(pl.col("outcome") == "registered")["rows"].sum()),
            "rejected_after_registration": _bucket(regs, "rejected"),
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
        "rejected_after_registration": sum(
            e["rejected_after_registration"] for e in per_source.values()
        ),
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
            "withheld_r04_rows_per_year": {
                str(y): int((withheld_per_year or {}).get(y, 0))
                for y in sorted(rows_per_year, reverse=True)
            },
        },
    }


def _bucket(regs: pl.DataFrame, name: str) -> int:
    return int(regs.filter(pl.col("bucket") == name)["rows"].sum())


def _balances(entry: Mapping) -> bool:
    """read = sum of the buckets, and the rows that went on all came out of an episode: as
    delivered, outside the years or rejected after registration (see the module doc)."""
    buckets = (
        entry["delivered"]
        + sum(entry["rejected"].values())
        + entry["excluded"]
        + entry["outside_years"]
    )
    return entry["read"] == buckets and entry["registered"] == (
        entry["delivered"] + entry["outside_years"] + entry["rejected_after_registration"]
    )


def _sum_codes(dicts: Iterable[Mapping[str, int]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for d in dicts:
        for code, n in d.items():
            out[code] = out.get(code, 0) + n
    return dict(sorted(out.items()))


def unbalanced_sources(ledger: Mapping) -> list[str]:
    return [name for name, e in ledger["sources"].items() if not e["balanced"]]
