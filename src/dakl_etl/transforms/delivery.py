"""All transforms of a run in one pure function: canonical frames in, year frames + ledger out.

No I/O: the pipeline reads the sources, calls `derive`, validates and writes. Each source is
reduced on its own to registrations (night rows to runs), rejects and counts, one lazy plan
collected once; only those registrations are combined across sources and merged to episodes.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field

import polars as pl

from dakl_etl.canonical import conform, empty
from dakl_etl.protocol.privacy import mask_expr
from dakl_etl.transforms.episodes import (
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
from dakl_etl.transforms.persons import (
    InvalidBsnPolicy,
    assign_persons,
    bsn_rule,
    number_other_persons,
)
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
    frame: pl.LazyFrame, position: int, *, invalid_bsn: InvalidBsnPolicy
) -> pl.DataFrame:
    """One source as its canonical frame with `_src`, persons assigned and every reject marked."""
    rows = conform(frame).with_columns(_src=pl.lit(position, pl.Int32)).collect()
    return screen(assign_persons(rows, invalid_bsn=invalid_bsn).lazy()).collect()


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
        "other_key",
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
    )


@dataclass
class SourcePart:
    """One source reduced: its registrations (night rows already runs), rejects and counts.
    What a run keeps of a source of millions of rows is this."""

    registrations: pl.DataFrame
    rejects: pl.DataFrame
    counts: dict[str, int]


@dataclass(frozen=True)
class Settings:
    """What the transforms need to know of a run besides the rows."""

    sources: tuple[str, ...]  # source names in the pipeline's order (`_src` is the position)
    years: tuple[int, ...]  # reporting years, newest first
    today: dt.date  # the day of the moment of extraction
    episodes: EpisodeSettings = field(default_factory=EpisodeSettings)
    invalid_bsn: InvalidBsnPolicy = "reject"

    @classmethod
    def of(
        cls,
        sources: Iterable[str],
        *,
        years: Iterable[int],
        now: dt.datetime | dt.date,
        settings: EpisodeSettings | None = None,
        invalid_bsn: InvalidBsnPolicy = "reject",
    ) -> Settings:
        names = tuple(sources)
        return cls(
            sources=names,
            years=tuple(sorted(set(years), reverse=True)),
            today=now.date() if isinstance(now, dt.datetime) else now,
            episodes=settings or EpisodeSettings(),
            invalid_bsn=invalid_bsn,
        )


def reduce_source(position: int, frame: pl.LazyFrame, settings: Settings) -> SourcePart:
    """Persons, rejects, counts and registrations of the source at `position`.

    Night rows become runs here, per source, so that only registrations (a fraction of the
    rows of a bed list) are combined across sources; persons without a valid BSN keep their
    key as text until `number_other_persons` numbers them across sources. Sources are
    independent here: a run reduces each one as soon as it is read, side by side.
    """
    names = list(settings.sources)
    prepared = prepare_rows(frame, position, invalid_bsn=settings.invalid_bsn).lazy()
    candidates, rejects, counts = pl.collect_all(
        [
            narrow_rows(prepared, settings.episodes, names),
            rejects_frame(prepared, names),
            prepared.select(
                read=pl.len().cast(pl.Int64),
                night_rows=(pl.col("granularity") == "night").sum().cast(pl.Int64),
                invalid_bsn_rows=pl.col("bsn_invalid").sum().cast(pl.Int64),
                invalid_bsn_delivered_as_unknown=(pl.col("bsn_invalid") & is_delivery_candidate())
                .sum()
                .cast(pl.Int64),
            ),
        ]
    )
    del prepared
    return SourcePart(
        registrations=registrations(candidates, now=settings.today, settings=settings.episodes),
        rejects=rejects,
        counts={**counts.row(0, named=True), "registered": candidates.height},
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
    are open. `release_sources=True` empties the `frames` dict as the sources are reduced, so
    the full source frames need not stay in memory through the rest of the run.
    """
    run = Settings.of(frames, years=years, now=now, settings=settings, invalid_bsn=invalid_bsn)
    clock = _Clock()
    parts = []
    for position, name in enumerate(run.sources):
        parts.append(reduce_source(position, frames[name], run))
        if release_sources and isinstance(frames, MutableMapping):
            frames[name] = empty().lazy()
    if release_sources and isinstance(frames, MutableMapping):
        frames.clear()
    clock.lap("reduce_sources")
    return combine(parts, run, clock=clock)


def combine(parts: list[SourcePart], settings: Settings, *, clock: _Clock | None = None) -> Derived:
    """The reduced sources (`reduce_source`, in the pipeline's order) merged into episodes,
    year files, rejects and ledger."""
    clock = clock or _Clock()
    names = list(settings.sources)
    source_name = pl.col("_src").replace_strict(dict(enumerate(names)), return_dtype=pl.String)
    rejects = pl.concat(
        [p.rejects for p in parts] or [rejects_frame(_no_rows().lazy(), names).collect()],
        how="vertical",
    ).sort("source", "source_row")
    outcomes = row_outcomes(
        [p.counts["read"] for p in parts],
        rejects.lazy(),
        [p.counts["registered"] for p in parts],
        names,
    ).collect()
    combined = pl.concat(
        [p.registrations for p in parts]
        or [registrations(_no_rows(), now=settings.today, settings=settings.episodes)],
        how="vertical",
    )
    counts = [p.counts for p in parts]

    def counted(name: str) -> int:
        return sum(int(c[name] or 0) for c in counts)

    regs = merge_episodes(number_other_persons(combined), settings=settings.episodes).collect()
    del combined
    clock.lap("registrations")
    years = list(settings.years)
    episodes = (
        aggregate_episodes(regs.lazy(), precedence=bool(settings.episodes.end_date_precedence))
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
        "rows_read": counted("read"),
        "night_rows": counted("night_rows"),
        "registrations": regs.height,
        "night_runs": int(regs["night"].sum()),
        "episodes": episodes.height,
        "episodes_delivered": int(episodes["delivered"].sum()),
        "conflicts": int(episodes["conflict"].sum()),
        "invalid_bsn_rows": counted("invalid_bsn_rows"),
        "invalid_bsn_delivered_as_unknown": counted("invalid_bsn_delivered_as_unknown"),
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


def _no_rows() -> pl.DataFrame:
    """`prepare_rows` of no rows: the shape of a pipeline without sources."""
    return prepare_rows(empty().lazy(), 0, invalid_bsn="reject")


class _Clock:
    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(now - self._last, 3)
        self._last = now
