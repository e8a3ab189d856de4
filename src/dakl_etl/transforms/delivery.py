"""All transforms of a run in one pure function: canonical frames in, year frames + ledger out.

No I/O: the pipeline reads the sources, calls `derive`, validates and writes. One lazy plan feeds
the rejects, the ledger counts and the registrations, collected together so the sources are
scanned once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field

import polars as pl

from dakl_etl.canonical import conform, empty
from dakl_etl.protocol.privacy import mask_expr
from dakl_etl.transforms.episodes import (
    MAX_SOURCES,
    EpisodeSettings,
    aggregate_episodes,
    conflicting_registrations,
    group_key,
    merge_episodes,
    registrations,
    screen,
)
from dakl_etl.transforms.ledger import build_ledger, registration_outcomes, row_outcomes
from dakl_etl.transforms.persons import InvalidBsnPolicy, assign_persons
from dakl_etl.transforms.years import DAKL_COLUMNS, in_any_year, year_rows

REJECT_COLUMNS = ("source", "source_row", "outcome", "rule", "field", "value", "bsn")


@dataclass
class Derived:
    """What a run computed, before validation and writing."""

    years: dict[int, pl.DataFrame]  # year -> rows for the writer (DAKL_COLUMNS + person, episode)
    rejects: pl.DataFrame  # REJECT_COLUMNS; BSN and values already masked
    ledger: dict
    episodes: pl.DataFrame  # one row per episode (personal columns included: never log it)
    #: per conflicting episode its first open registration: source, line, type, gemeente,
    #: masked BSN, start — where to look for a stale open record
    conflicts: pl.DataFrame = field(default_factory=pl.DataFrame)
    counts: dict[str, int] = field(default_factory=dict)

    def year_frame(self, year: int) -> pl.DataFrame:
        return self.years[year].select(DAKL_COLUMNS)


def prepare_rows(frames: Mapping[str, pl.LazyFrame], *,
                 invalid_bsn: InvalidBsnPolicy) -> pl.LazyFrame:
    """All sources as one canonical frame with persons assigned and every reject marked."""
    if len(frames) > MAX_SOURCES:
        raise ValueError(f"at most {MAX_SOURCES} sources per pipeline, got {len(frames)}")
    if not frames:
        combined = empty().lazy().with_columns(_src=pl.lit(0, pl.Int32))
    else:
        combined = pl.concat(
            [conform(f).with_columns(_src=pl.lit(i, pl.Int32))
             for i, f in enumerate(frames.values())],
            how="vertical",
        )
    return screen(assign_persons(combined, invalid_bsn=invalid_bsn))


def narrow_rows(rows: pl.LazyFrame, settings: EpisodeSettings,
                sources: Iterable[str]) -> pl.LazyFrame:
    """Only what the later steps read: smaller to hold, cheaper to filter. The BSN is kept
    only on rows that go to the rejects file (masked there); all else uses the person number."""
    off = pl.col("excluded").is_not_null() | pl.col("reject_code").is_not_null()
    return rows.select(
        "_src",
        "source_row",
        "person",
        group_key().alias("group"),
        (pl.col("granularity") == "night").alias("night"),
        pl.col("_src").is_in(
            [i for i, name in enumerate(sources) if name in settings.end_date_precedence]
        ).alias("precedence"),
        "startdatum",
        "einddatum",
        "ended_unknown",
        "reden",
        "datum_melding",
        "v_nummer",
        "bsn_invalid",
        "excluded",
        "reject_code",
        "reject_field",
        "reject_value",
        pl.when(off).then(pl.col("bsn")).alias("bsn"),  # masked in the rejects plan
    )


def derive(
    frames: Mapping[str, pl.LazyFrame],
    *,
    years: Iterable[int],
    now: dt.datetime | dt.date,
    settings: EpisodeSettings | None = None,
    invalid_bsn: InvalidBsnPolicy = "reject",
    release_sources: bool = False,
) -> Derived:
    """Persons, registrations, episodes, year files, rejects and ledger from canonical frames.

    `now` is the moment of extraction: ends after it are not yet real, night runs reaching it
    are open. `release_sources=True` empties the `frames` dict once the narrow row frame is
    built, so the full source frames need not stay in memory through the rest of the run.
    """
    years = sorted(set(years), reverse=True)
    settings = settings or EpisodeSettings()
    today = now.date() if isinstance(now, dt.datetime) else now
    names = list(frames)
    source_name = pl.col("_src").replace_strict(dict(enumerate(names)), return_dtype=pl.String)
    # Materialised once: four plans below read it (a lazy plan would be re-run by each).
    rows = narrow_rows(prepare_rows(frames, invalid_bsn=invalid_bsn), settings, names).collect()
    if release_sources and isinstance(frames, MutableMapping):
        frames.clear()
    rows_lf = rows.lazy()
    deliverable = rows_lf.filter(pl.col("excluded").is_null() & pl.col("reject_code").is_null())
    regs_plan = merge_episodes(
        registrations(deliverable, now=today, settings=settings), settings=settings
    )
    excluded = pl.col("excluded").is_not_null()
    rejects_plan = (
        rows_lf.filter(excluded | pl.col("reject_code").is_not_null())
        .select(
            source_name.alias("source"),
            "source_row",
            pl.when(excluded).then(pl.lit("excluded")).otherwise(pl.lit("rejected"))
            .alias("outcome"),
            pl.when(excluded).then(pl.lit("excluded")).otherwise(pl.col("reject_code"))
            .alias("rule"),
            pl.when(excluded).then(pl.lit(None, pl.String)).otherwise(pl.col("reject_field"))
            .alias("field"),
            pl.when(excluded).then(pl.col("excluded"))
            .when(pl.col("reject_value").is_null() & (pl.col("reject_field") == "bsn"))
            .then(mask_expr("bsn"))
            .otherwise(pl.col("reject_value"))
            .alias("value"),
            mask_expr("bsn").alias("bsn"),
        )
        .sort("source", "source_row")
    )
    counts_plan = rows_lf.select(
        night_rows=pl.col("night").sum().cast(pl.Int64),
        invalid_bsn_rows=pl.col("bsn_invalid").sum().cast(pl.Int64),
        invalid_bsn_delivered_as_unknown=(
            pl.col("bsn_invalid") & pl.col("reject_code").is_null()
        ).sum().cast(pl.Int64),
    )
    outcomes_plan = row_outcomes(rows_lf, names)
    regs, rejects, outcomes, counts = pl.collect_all(
        [regs_plan, rejects_plan, outcomes_plan, counts_plan]
    )
    del rows, rows_lf, deliverable
    episodes = (
        aggregate_episodes(regs.lazy())
        .with_columns(delivered=in_any_year(years))
        .collect()
    )
    per_year = {y: year_rows(episodes.lazy(), y).collect() for y in years}
    conflicts = (
        conflicting_registrations(regs.lazy(), episodes.lazy())
        .select(
            source_name.alias("source"),
            pl.col("first_row").alias("line"),
            "type_opvang",
            "gemeentecode",
            mask_expr("bsn_out").alias("bsn"),
            pl.col("startdatum").dt.strftime("%Y-%m-%d"),
        )
        .collect()
    )
    registered = registration_outcomes(regs.lazy(), episodes.lazy(), names).collect()
    flow = {
        "rows_read": int(outcomes["rows"].sum()),
        "night_rows": counts["night_rows"][0] or 0,
        "registrations": regs.height,
        "night_runs": int(regs["night"].sum()),
        "episodes": episodes.height,
        "episodes_delivered": int(episodes["delivered"].sum()),
        "conflicts": int(episodes["conflict"].sum()),
        "invalid_bsn_rows": counts["invalid_bsn_rows"][0] or 0,
        "invalid_bsn_delivered_as_unknown": counts["invalid_bsn_delivered_as_unknown"][0] or 0,
    }
    ledger = build_ledger(
        names, outcomes, registered, years=years, flow=flow,
        rows_per_year={y: f.height for y, f in per_year.items()},
    )
    return Derived(years=per_year, rejects=rejects, ledger=ledger, episodes=episodes,
                   conflicts=conflicts, counts=flow)
