"""All transforms of a run in one pure function: canonical frames in, year frames + ledger out.

No I/O: the pipeline reads the sources, calls `derive`, validates and writes. Each source is
reduced on its own to registrations (night rows to runs), rejects and counts, one lazy plan
collected once; only those registrations are combined across sources and merged to episodes.

R04 (the gemeentecode existed in the reporting year) is the one rule decided per episode and
year rather than per row: a source may carry a code of a municipality that existed in one
reporting year and not the other. With `Settings.gemeentecodes` (year -> codes, from
`reference.Gemeenten.codes_in_year`, the validator's own set) such an episode is withheld from
the file of each year its code did not exist in, so one stale code cannot block the delivery:

- delivered in another year: it stays `delivered` in the ledger;
- in no file at all: every source row behind it is `rejected` R04 in the ledger and in the
  rejects file (field gemeentecode, the code, the year(s) it did not exist in and the fix) —
  for night runs every night, not only the first line of the run (see `traced_nights`);
- either way the flow counts, per year, the rows kept out of that year's file
  (`withheld_r04_rows_per_year`: file rows, i.e. episodes, not source rows).

A code not in the reference list at all is rejected per row while mapping (R04 too, with the
rule's standard message); the rows handled here carry codes the list knows.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Collection, Iterable, Mapping, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import polars as pl

from dakl_etl.canonical import conform, empty
from dakl_etl.protocol.privacy import mask_expr
from dakl_etl.transforms.episodes import (
    EpisodeSettings,
    aggregate_episodes,
    conflicting_registrations,
    group_key,
    group_kind,
    group_person,
    merge_episodes,
    registrations,
    screen,
    screened_field,
    screened_rule,
    screened_value,
)
from dakl_etl.transforms.ledger import (
    build_ledger,
    registration_outcomes,
    row_outcomes,
    source_name,
)
from dakl_etl.transforms.persons import (
    InvalidBsnPolicy,
    assign_persons,
    bsn_rule,
    number_other_persons,
)
from dakl_etl.transforms.years import (
    DAKL_COLUMNS,
    gemeente_valid,
    in_any_year,
    in_year,
    withheld_r04,
    year_frames,
)

#: `message`: null where the rule's standard message says it (`outputs.rejects`); set where
#: the reject needs its own words (R04 after registration: which years, what to do).
REJECT_COLUMNS = ("source", "source_row", "outcome", "rule", "field", "value", "bsn", "message")


@dataclass
class Derived:
    """What a run computed, before validation and writing."""

    years: dict[int, pl.DataFrame]  # year -> rows for the writer (DAKL_COLUMNS + person, episode)
    rejects: pl.DataFrame  # REJECT_COLUMNS; BSN and values already masked
    ledger: dict
    #: one row per episode (personal columns included: never log it); `delivered`: in at least
    #: one year's file; `rejected_r04`: in a year by its dates, but its gemeentecode existed in
    #: none of them
    episodes: pl.DataFrame
    #: per conflicting episode its first open registration: source, line, type, gemeente,
    #: masked BSN, start — where to look for a stale open record
    conflicts: pl.DataFrame = field(default_factory=pl.DataFrame)
    counts: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)  # seconds per step

    def year_frame(self, year: int) -> pl.DataFrame:
        return self.years[year].select(DAKL_COLUMNS)


def prepare_rows(
    frame: pl.LazyFrame, position: int, *, invalid_bsn: InvalidBsnPolicy
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One source as its canonical frame with `_src`, persons assigned and every reject marked;
    and its other person keys (`persons.assign_persons`) with `_src`."""
    rows = conform(frame).with_columns(_src=pl.lit(position, pl.Int32)).collect()
    rows, others = assign_persons(rows, invalid_bsn=invalid_bsn)
    return screen(rows.lazy()).collect(), others.with_columns(_src=pl.lit(position, pl.Int32))


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
    """The delivery candidates with only what the episode steps read: smaller to hold, cheaper
    to sort. The personal columns are reduced to the person number, held in `group` (person,
    type, gemeente; `episodes.group_person`); a night row has no end (its night is its start,
    and a run takes its end from its last night). A bed list's millions of nights copy three
    columns fewer."""
    episode = pl.col("granularity") != "night"
    return rows.filter(is_delivery_candidate()).select(
        "_src",
        "source_row",
        group_key().alias("group"),
        (~episode).alias("night"),
        pl.col("_src")
        .is_in([i for i, name in enumerate(sources) if name in settings.end_date_precedence])
        .alias("precedence"),
        "startdatum",
        pl.when(episode).then(pl.col("einddatum")).alias("einddatum"),
        pl.when(episode).then(pl.col("ended_unknown")).alias("ended_unknown"),
        "reden",
        "datum_melding",
        "v_nummer",
    )


def rejects_frame(rows: pl.LazyFrame, sources: Iterable[str]) -> pl.LazyFrame:
    """Rows that will not be delivered, for the rejects file (`REJECT_COLUMNS`): the rule
    resolved as in `ledger.row_outcomes`, the value as found, the BSN masked."""
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

    return rows.filter(~is_delivery_candidate()).select(
        source_name(sources).alias("source"),
        "source_row",
        pl.when(excluded).then(pl.lit("excluded")).otherwise(pl.lit("rejected")).alias("outcome"),
        pick(pl.lit("excluded"), pl.col("reject_code"), bsn_rule(), screened_rule()).alias("rule"),
        pick(
            pl.lit(None, pl.String), pl.col("reject_field"), pl.lit("bsn"), screened_field()
        ).alias("field"),
        pick(pl.col("excluded"), pl.col("reject_value"), mask_expr("bsn"), screened_value()).alias(
            "value"
        ),
        mask_expr("bsn").alias("bsn"),
        pl.lit(None, pl.String).alias("message"),
    )


#: A night row kept for R04 (`traced_nights`): where it is, whose (`person`: for persons
#: without a valid BSN the number within the source, see `persons.number_other_persons`),
#: TypeOpvang and gemeentecode (`_kind`, the low part of `group`) and its night.
TRACED_NIGHT_SCHEMA = {
    "_src": pl.Int32,
    "source_row": pl.Int64,
    "person": pl.Int64,
    "_kind": pl.Int64,
    "_night": pl.Date,
}


@dataclass
class SourcePart:
    """One source reduced: its registrations (night rows already runs), rejects and counts.
    What a run keeps of a source of millions of rows is this."""

    registrations: pl.DataFrame
    rejects: pl.DataFrame
    counts: dict[str, int]
    #: the source's persons without a valid BSN: `_src`, `person` (numbered within the
    #: source) and `other_key` (`persons.assign_persons`); their registrations carry the
    #: numbers within the source until `persons.number_other_persons`
    others: pl.DataFrame
    #: night rows whose run might be rejected for R04 later (`traced_nights`)
    nights: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=TRACED_NIGHT_SCHEMA))


@dataclass(frozen=True)
class Settings:
    """What the transforms need to know of a run besides the rows."""

    sources: tuple[str, ...]  # source names in the pipeline's order (`_src` is the position)
    years: tuple[int, ...]  # reporting years, newest first
    today: dt.date  # the day of the moment of extraction
    episodes: EpisodeSettings = field(default_factory=EpisodeSettings)
    invalid_bsn: InvalidBsnPolicy = "reject"
    #: year -> the gemeentecodes that existed in it (`Gemeenten.codes_in_year`, R04), for
    #: every reporting year; None: no check (every episode of a year goes into its file)
    gemeentecodes: Mapping[int, frozenset[str]] | None = None

    @classmethod
    def of(
        cls,
        sources: Iterable[str],
        *,
        years: Iterable[int],
        now: dt.datetime | dt.date,
        settings: EpisodeSettings | None = None,
        invalid_bsn: InvalidBsnPolicy = "reject",
        gemeentecodes: Mapping[int, Collection[str]] | None = None,
    ) -> Settings:
        names = tuple(sources)
        ordered = tuple(sorted(set(years), reverse=True))
        codes = None
        if gemeentecodes is not None:
            missing = [y for y in ordered if y not in gemeentecodes]
            if missing:
                raise ValueError(
                    f"gemeentecodes has no codes for reporting year(s) {missing}; give every "
                    "year's codes (Gemeenten.codes_in_year) or none"
                )
            codes = {y: frozenset(gemeentecodes[y]) for y in ordered}
        return cls(
            sources=names,
            years=ordered,
            today=now.date() if isinstance(now, dt.datetime) else now,
            episodes=settings or EpisodeSettings(),
            invalid_bsn=invalid_bsn,
            gemeentecodes=codes,
        )


def reduce_source(position: int, frame: pl.LazyFrame, settings: Settings) -> SourcePart:
    """Persons, rejects, counts and registrations of the source at `position`.

    Night rows become runs here, per source, so that only registrations (a fraction of the
    rows of a bed list) are combined across sources; persons without a valid BSN are numbered
    within the source, their keys kept aside (`others`) until `number_other_persons` numbers
    them across sources. Sources are independent here: a run reduces each one as soon as it
    is read, side by side.
    """
    names = list(settings.sources)
    prepared, others = prepare_rows(frame, position, invalid_bsn=settings.invalid_bsn)
    del frame  # the mapped source with its raw texts: its memory serves the steps below
    prepared = prepared.lazy()
    # one by one: `collect_all` of these three plans over one frame takes longer (Polars 2.1)
    candidates = narrow_rows(prepared, settings.episodes, names).collect()
    rejects = rejects_frame(prepared, names).collect()
    counts = prepared.select(
        read=pl.len().cast(pl.Int64),
        night_rows=(pl.col("granularity") == "night").sum().cast(pl.Int64),
        invalid_bsn_rows=pl.col("bsn_invalid").sum().cast(pl.Int64),
        invalid_bsn_delivered_as_unknown=(pl.col("bsn_invalid") & is_delivery_candidate())
        .sum()
        .cast(pl.Int64),
    ).collect()
    del prepared
    regs = registrations(candidates, now=settings.today, settings=settings.episodes)
    return SourcePart(
        registrations=regs,
        rejects=rejects,
        counts={**counts.row(0, named=True), "registered": candidates.height},
        nights=traced_nights(candidates, regs, settings.gemeentecodes),
        others=others,
    )


def traced_nights(
    candidates: pl.DataFrame,
    regs: pl.DataFrame,
    gemeentecodes: Mapping[int, Collection[str]] | None,
) -> pl.DataFrame:
    """The night rows whose run may later be rejected for R04 (`TRACED_NIGHT_SCHEMA`).

    A registration keeps only the first line of a run of nights; to list every night of a run
    that ends up in no file (the rejects file is per source row), the nights of runs whose
    gemeentecode did not exist in every reporting year are kept here, before the rows are let
    go: a superset, cheap to find (first the runs, a fraction of the rows; the nights only when
    a run has such a code). Clean data keeps nothing and costs one look at its runs.
    """
    none = pl.DataFrame(schema=TRACED_NIGHT_SCHEMA)
    if not gemeentecodes or not regs.height or not regs["night"].any():
        return none
    always = frozenset.intersection(*(frozenset(c) for c in gemeentecodes.values()))
    suspect = (
        regs.lazy()
        .filter(pl.col("night") & ~gemeente_valid(always))
        .select((pl.col("group") % 10_000).unique())
        .collect()
        .to_series()
    )
    if suspect.is_empty():
        return none
    return candidates.filter(
        pl.col("night") & (pl.col("group") % 10_000).is_in(suspect.implode())
    ).select(
        pl.col("_src").cast(pl.Int32),
        pl.col("source_row").cast(pl.Int64),
        group_person().cast(pl.Int64).alias("person"),
        group_kind().cast(pl.Int64).alias("_kind"),
        pl.col("startdatum").alias("_night"),
    )


def derive(
    frames: Mapping[str, pl.LazyFrame],
    *,
    years: Iterable[int],
    now: dt.datetime | dt.date,
    settings: EpisodeSettings | None = None,
    invalid_bsn: InvalidBsnPolicy = "reject",
    release_sources: bool = False,
    gemeentecodes: Mapping[int, Collection[str]] | None = None,
) -> Derived:
    """Persons, registrations, episodes, year files, rejects and ledger from canonical frames.

    `now` is the moment of extraction: ends after it are not yet real, night runs reaching it
    are open. `release_sources=True` empties the `frames` dict as the sources are reduced, so
    the full source frames need not stay in memory through the rest of the run.
    `gemeentecodes` (year -> codes valid in it, for every year): withhold episodes from the
    years their gemeentecode did not exist in (R04, see the module doc); None: no check.
    """
    run = Settings.of(
        frames,
        years=years,
        now=now,
        settings=settings,
        invalid_bsn=invalid_bsn,
        gemeentecodes=gemeentecodes,
    )
    clock = _Clock()
    parts = []
    releasing = release_sources and isinstance(frames, MutableMapping)
    for position, name in enumerate(run.sources):
        # handed over, not also held here: `reduce_source` lets go of it once it is prepared
        parts.append(reduce_source(position, frames.pop(name) if releasing else frames[name], run))
    clock.lap("reduce_sources")
    return combine(parts, run, clock=clock)


def combine(parts: list[SourcePart], settings: Settings, *, clock: _Clock | None = None) -> Derived:
    """The reduced sources (`reduce_source`, in the pipeline's order) merged into episodes,
    year files, rejects and ledger."""
    clock = clock or _Clock()
    names = list(settings.sources)
    rejects = (
        _by_source_and_row([p.rejects for p in parts], names)
        if parts
        else rejects_frame(_no_rows().lazy(), names).collect()
    )
    combined = pl.concat(
        [p.registrations for p in parts]
        or [
            registrations(
                narrow_rows(_no_rows().lazy(), settings.episodes, names).collect(),
                now=settings.today,
                settings=settings.episodes,
            )
        ],
        how="vertical",
    )
    counts = [p.counts for p in parts]

    def counted(name: str) -> int:
        return sum(int(c[name] or 0) for c in counts)

    others = pl.concat([p.others for p in parts], how="vertical") if parts else pl.DataFrame()
    # One chunk per column (a collect may leave them in differently cut chunks, which every
    # eager step after it would align again, copying). The in-memory engine: these plans
    # over frames in memory take a tenth less CPU than streamed in morsels (Polars 2.1).
    regs = (
        merge_episodes(number_other_persons(combined, others), settings=settings.episodes)
        .collect(engine="in-memory")
        .rechunk()
    )
    del combined
    clock.lap("registrations")
    years = list(settings.years)
    codes = settings.gemeentecodes
    episodes = (
        aggregate_episodes(regs, precedence=bool(settings.episodes.end_date_precedence))
        .with_columns(delivered=in_any_year(years, codes))
        .with_columns(
            rejected_r04=(in_any_year(years) & ~pl.col("delivered"))
            if codes is not None
            else pl.lit(False)
        )
        .collect(engine="in-memory")
        .rechunk()
    )
    clock.lap("episodes")
    # The conflicts and the registrations' outcomes need only the registrations and the
    # episodes: worked out beside the year files (Polars releases the GIL while it works).
    with ThreadPoolExecutor(max_workers=1) as beside:
        conflicts_job = beside.submit(_conflicts, regs, episodes, names)
        registered_job = beside.submit(
            lambda: registration_outcomes(regs, episodes, names).collect()
        )
        per_year = year_frames(episodes, years, codes)
        withheld = {y: 0 for y in years}
        if codes is not None and years:
            counts_r04 = episodes.select(withheld_r04(y, codes).sum().alias(str(y)) for y in years)
            withheld = {y: int(counts_r04[str(y)][0]) for y in years}
        rejected_r04 = episodes.filter(pl.col("rejected_r04"))
        if codes is not None and rejected_r04.height:
            late = r04_rejects(
                regs,
                rejected_r04,
                number_other_persons(pl.concat([p.nights for p in parts], how="vertical"), others),
                names,
                years=years,
            )
            rejects = pl.concat([rejects, late], how="vertical").sort("source", "source_row")
        clock.lap("years")
        outcomes = row_outcomes(
            [p.counts["read"] for p in parts],
            rejects.lazy(),
            [p.counts["registered"] for p in parts],
            names,
        ).collect()
        conflicts, registered = conflicts_job.result(), registered_job.result()
    flow = {
        "rows_read": counted("read"),
        "night_rows": counted("night_rows"),
        "registrations": regs.height,
        "night_runs": int(regs["night"].sum()),
        "episodes": episodes.height,
        "episodes_delivered": int(episodes["delivered"].sum()),
        "episodes_rejected_r04": rejected_r04.height,
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
        withheld_per_year=withheld,
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


def _conflicts(regs: pl.DataFrame, episodes: pl.DataFrame, names: list[str]) -> pl.DataFrame:
    """`Derived.conflicts`: per conflicting episode its first open registration, located."""
    return (
        conflicting_registrations(regs.lazy(), episodes.lazy())
        .select(
            source_name(names).alias("source"),
            pl.col("first_row").alias("line"),
            "type_opvang",
            "gemeentecode",
            mask_expr("bsn_out").alias("bsn"),
            pl.col("startdatum").dt.strftime("%Y-%m-%d"),
        )
        .collect()
    )


#: The rejects file's message for a row behind an episode in no year's file because of R04.
R04_MESSAGE = (
    "Gemeentecode {} did not exist in {} (CBS reference list), the reporting year(s) this stay "
    "falls in, so the row is in no DAKL file: map the old code to the current one under "
    "mappings.gemeente in the pipeline YAML, or update the reference list (delivery.reference) "
    "if the code is valid after all."
)


def r04_rejects(
    regs: pl.DataFrame,
    rejected: pl.DataFrame,
    nights: pl.DataFrame,
    sources: Iterable[str],
    *,
    years: Iterable[int],
) -> pl.DataFrame:
    """The rejects (`REJECT_COLUMNS`) of the source rows behind the episodes `rejected` for
    R04: in a reporting year by their dates, with a gemeentecode that existed in none of them.

    One row per source row, as every reject: an episode registration is its own line
    (`first_row`); a run of nights is each of its nights, found among `nights`
    (`traced_nights`, persons numbered across sources as the registrations: same source,
    person, type and gemeente, a night from the run's first to its last, or any later one
    while the run is open — runs of one source and group never overlap). The message names
    the year(s) the code did not exist in and the fix.
    """
    not_in = pl.concat_str(
        [pl.when(in_year(y)).then(pl.lit(str(y))) for y in sorted(years)],
        separator=" and ",
        ignore_nulls=True,
    )
    about = rejected.lazy().select(
        "episode",
        pl.col("gemeentecode").alias("value"),
        mask_expr("bsn_out").alias("bsn"),
        pl.format(R04_MESSAGE, pl.col("gemeentecode"), not_in).alias("message"),
    )
    behind = (
        regs.lazy()
        .select(
            "_src",
            "episode",
            "night",
            "person",
            group_kind().alias("_kind"),
            "first_row",
            "startdatum",
            "einddatum",
            "is_open",
        )
        .join(about, on="episode", how="inner")
    )
    kept = ("_src", "source_row", "value", "bsn", "message")
    single = behind.filter(~pl.col("night")).rename({"first_row": "source_row"}).select(kept)
    night = pl.col("_night")
    of_runs = (
        behind.filter(pl.col("night"))
        .join(
            nights.lazy().select("_src", "source_row", "person", "_kind", "_night"),
            on=["_src", "person", "_kind"],
            how="inner",
        )
        .filter(
            (night >= pl.col("startdatum"))
            & (pl.col("is_open") | (night <= pl.col("einddatum"))).fill_null(False)
        )
        .select(kept)
    )
    return (
        pl.concat([single, of_runs], how="vertical")
        .select(
            source_name(sources).alias("source"),
            pl.col("source_row").cast(pl.Int64),
            pl.lit("rejected").alias("outcome"),
            pl.lit("R04").alias("rule"),
            pl.lit("gemeentecode").alias("field"),
            "value",
            "bsn",
            "message",
        )
        .collect()
    )


def _by_source_and_row(rejects: list[pl.DataFrame], names: list[str]) -> pl.DataFrame:
    """Each source's rejects (in pipeline order) as one frame sorted by source name and line.
    A source's rejects come in the order of its rows already: only the sources are put in
    order, instead of a sort of the whole by its text column."""
    order = sorted(range(len(rejects)), key=names.__getitem__)
    return pl.concat(
        [
            f if f.get_column("source_row").is_sorted() else f.sort("source_row")
            for f in (rejects[i] for i in order)
        ],
        how="vertical",
    )


def _no_rows() -> pl.DataFrame:
    """`prepare_rows` of no rows: the shape of a pipeline without sources."""
    return prepare_rows(empty().lazy(), 0, invalid_bsn="reject")[0]


class _Clock:
    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(now - self._last, 3)
        self._last = now
