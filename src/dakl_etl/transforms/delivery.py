"""All transforms of a run in one pure function: canonical frames in, year frames + ledger out.

No I/O: the pipeline reads the sources, calls `derive`, validates and writes. One lazy plan feeds
the rejects, the ledger counts and the registrations, collected together so the sources are
scanned once.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field

import polars as pl

from dakl_etl.canonical import conform, empty
from dakl_etl.errors import ConfigError
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
    screened_field,
    screened_rule,
    screened_value,
)
from dakl_etl.transforms.ledger import build_ledger, registration_outcomes, row_outcomes
from dakl_etl.transforms.persons import InvalidBsnPolicy, assign_persons, bsn_rule
from dakl_etl.transforms.years import DAKL_COLUMNS, in_any_year, year_frames

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
    timings: dict[str, float] = field(default_factory=dict)  # seconds per step

    def year_frame(self, year: int) -> pl.DataFrame:
        return self.years[year].select(DAKL_COLUMNS)


def prepare_rows(
    frames: Mapping[str, pl.LazyFrame], *, invalid_bsn: InvalidBsnPolicy
) -> pl.LazyFrame:
    """All sources as one canonical frame with persons assigned and every reject marked."""
    if len(frames) > MAX_SOURCES:
        raise ConfigError(
            f"{len(frames)} sources: a pipeline can combine at most {MAX_SOURCES}; "
            "split the region into several pipelines"
        )
    if not frames:
        combined = empty().lazy().with_columns(_src=pl.lit(0, pl.Int32))
    else:
        combined = pl.concat(
            [
                conform(f).with_columns(_src=pl.lit(i, pl.Int32))
                for i, f in enumerate(frames.values())
            ],
            how="vertical",
        )
    return screen(assign_persons(combined, invalid_bsn=invalid_bsn))


def is_delivery_candidate() -> pl.Expr:
    """Not excluded, no reject from the source, the BSN policy or the screen."""
    return (
        pl.col("excluded").is_null()
        & pl.col("reject_code").is_null()
        & ~pl.col("bsn_rejected")
        & (pl.col("screen") == 0)
    )


def narrow_rows(
    rows: pl.LazyFrame, settings: EpisodeSettings, sources: Iterable[str]
) -> pl.LazyFrame:
    """The delivery candidates with only what the episode steps read, personal columns reduced
    to the person number: smaller to hold, cheaper to sort."""
    return rows.filter(is_delivery_candidate()).select(
        "_src",
        "source_row",
        "person",
        group_key(numbers=True).alias("group"),
        (pl.col("granularity") == "night").alias("night"),
        pl.col("_src")
        .is_in([i for i, name in enumerate(sources) if name in settings.end_date_precedence])
        .alias("precedence"),
        "startdatum",
        "einddatum",
        "ended_unknown",
        "reden",
        "datum_melding",
        "v_nummer",
    )


def rejects_frame(rows: pl.LazyFrame, sources: Iterable[str]) -> pl.LazyFrame:
    """Rows that will not be delivered, for the rejects file (`REJECT_COLUMNS`): the rule
    resolved as in `ledger.row_outcomes`, the value as found, the BSN masked."""
    names = dict(enumerate(sources))
    excluded = pl.col("excluded").is_not_null()
    by_source = pl.col("reject_code").is_not_null()
    by_bsn = pl.col("bsn_rejected")

    def pick(if_excluded, if_source, if_bsn, if_screen) -> pl.Expr:
        return (
            pl.when(excluded)
            .then(if_excluded)
            .when(by_source)
            .then(if_source)
            .when(by_bsn)
            .then(if_bsn)
            .otherwise(if_screen)
        )

    return (
        rows.filter(~is_delivery_candidate())
        .select(
            pl.col("_src").replace_strict(names, return_dtype=pl.String).alias("source"),
            "source_row",
            pl.when(excluded)
            .then(pl.lit("excluded"))
            .otherwise(pl.lit("rejected"))
            .alias("outcome"),
            pick(pl.lit("excluded"), pl.col("reject_code"), bsn_rule(), screened_rule()).alias(
                "rule"
            ),
            pick(
                pl.lit(None, pl.String), pl.col("reject_field"), pl.lit("bsn"), screened_field()
            ).alias("field"),
            pick(
                pl.col("excluded"), pl.col("reject_value"), mask_expr("bsn"), screened_value()
            ).alias("value"),
            mask_expr("bsn").alias("bsn"),
        )
        .sort("source", "source_row")
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
    are open. `release_sources=True` empties the `frames` dict once the rows are read, so the
    full source frames need not stay in memory through the rest of the run.
    """
    years = sorted(set(years), reverse=True)
    settings = settings or EpisodeSettings()
    today = now.date() if isinstance(now, dt.datetime) else now
    names = list(frames)
    source_name = pl.col("_src").replace_strict(dict(enumerate(names)), return_dtype=pl.String)
    clock = _Clock()
    prepared = prepare_rows(frames, invalid_bsn=invalid_bsn)
    counts_plan = prepared.select(
        night_rows=(pl.col("granularity") == "night").sum().cast(pl.Int64),
        invalid_bsn_rows=pl.col("bsn_invalid").sum().cast(pl.Int64),
        invalid_bsn_delivered_as_unknown=(pl.col("bsn_invalid") & is_delivery_candidate())
        .sum()
        .cast(pl.Int64),
    )
    # One pass over the sources feeds all four (common subplans are computed once).
    candidates, rejects, read, counts = pl.collect_all(
        [
            narrow_rows(prepared, settings, names),
            rejects_frame(prepared, names),
            prepared.group_by("_src").agg(pl.len().alias("rows")),
            counts_plan,
        ]
    )
    outcomes = row_outcomes(read.lazy(), rejects.lazy(), candidates.lazy(), names).collect()
    del prepared
    if release_sources and isinstance(frames, MutableMapping):
        frames.clear()
    clock.lap("read_map_persons")
    regs = merge_episodes(
        registrations(candidates.lazy(), now=today, settings=settings), settings=settings
    ).collect()
    del candidates
    clock.lap("registrations")
    episodes = (
        aggregate_episodes(regs.lazy(), precedence=bool(settings.end_date_precedence))
        .with_columns(delivered=in_any_year(years))
        .collect()
    )
    clock.lap("episodes")
    per_year = year_frames(episodes, years)
    clock.lap("years")
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
        "rows_read": int(read["rows"].sum()),
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
        names,
        outcomes,
        registered,
        years=years,
        flow=flow,
        rows_per_year={y: f.height for y, f in per_year.items()},
    )
    clock.lap("ledger")
    return Derived(
        years=per_year,
        rejects=rejects,
        ledger=ledger,
        episodes=episodes,
        conflicts=conflicts,
        counts=flow,
        timings=clock.laps,
    )


class _Clock:
    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(now - self._last, 3)
        self._last = now
