"""From registrations to shelter episodes (opvangtrajecten), as RULES.md "What goes into the file".

Three steps, all vectorised:

1. `screen` marks rows the file cannot carry (no start, no type, no gemeente, end before start),
   in case an adapter let one through: every row keeps a reason, none is dropped silently.
2. `registrations` turns night rows into runs of nights (per source) and episode rows into
   registrations with an explicit open / closed / ended-unknown state as of `now`.
3. `merge_episodes` merges, across all sources, the registrations of one person, type and
   gemeente that overlap or follow within the gap; `aggregate_episodes` makes one row of each.

Gap merging is a sort plus running maximum: registrations sorted by key and start; an episode
begins where the start lies more than `1 + gap` days after the latest end so far.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

import polars as pl

from dakl_etl.protocol.codes import TYPE_OPVANG, UNKNOWN_BSN
from dakl_etl.transforms.persons import FIRST_OTHER_PERSON

# Dates as day numbers in Int64; an open end is a day after every real one.
_OFFSET = 1 << 23  # keeps day numbers of any real date positive
_OPEN_DAY = (1 << 23) - 1  # ~ year 24900: later than every parseable end date
_GROUP_SPAN = 1 << 24  # > _OFFSET + _OPEN_DAY: groups never reach into each other
#: `group` < 2·10⁹ persons × 10⁸: a source number times this keeps sources apart in an Int64
_SOURCE_SPAN = 200_000_000_000_000_000
MAX_SOURCES = 45

#: A registration: `_src` is the source's position in the pipeline, `group` encodes person,
#: TypeOpvang and gemeentecode as one integer (see `group_key`); strings come back at the end.
REGISTRATION_COLUMNS = (
    "_src", "night", "person", "group", "v_nummer", "startdatum", "einddatum", "is_open",
    "ended_unknown", "reden", "datum_melding", "n_rows", "first_row", "precedence",
)


@dataclass(frozen=True)
class EpisodeSettings:
    """The pipeline's `episodes:` block, free of the config layer."""

    merge_gap_days: int = 0
    merge_gap_days_by_type: Mapping[str, int] = field(default_factory=dict)
    end_date_precedence: tuple[str, ...] = ()

    def gap_days(self) -> pl.Expr:
        """The gap in days for each registration's TypeOpvang (read from `group`)."""
        gap = pl.lit(self.merge_gap_days, dtype=pl.Int64)
        for code, days in self.merge_gap_days_by_type.items():
            gap = pl.when(_type_number() == int(code)).then(pl.lit(int(days), pl.Int64)).otherwise(
                gap)
        return gap


_TYPE_NUMBERS = [int(code) for code in TYPE_OPVANG]
_SCREEN_FIELDS = {"R11": "startdatum", "R10": "type_opvang", "R19": "gemeentecode",
                  "R03": "gemeentecode", "R14": "einddatum", "granularity": "granularity"}


def screen(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Give rows that cannot become a DAKL row a `reject_code`, keeping any earlier one.

    The code is decided on every row; field and value only where a new code was set (built
    from mostly-null columns, which costs next to nothing).
    """
    code = (
        pl.when(pl.col("startdatum").is_null()).then(pl.lit("R11"))
        .when(~_number("type_opvang").is_in(_TYPE_NUMBERS).fill_null(False))
        .then(pl.lit("R10"))
        .when(pl.col("gemeentecode").is_null()).then(pl.lit("R19"))
        .when(_number("gemeentecode").is_null()).then(pl.lit("R03"))
        .when((pl.col("einddatum") < pl.col("startdatum")).fill_null(False)).then(pl.lit("R14"))
        .when(~pl.col("granularity").is_in(["episode", "night"]).fill_null(False))
        .then(pl.lit("granularity"))
    )
    new = pl.col("_screen")
    value = (
        pl.when(new == "R10").then(pl.col("type_opvang"))
        .when(new == "R03").then(pl.col("gemeentecode"))
        .when(new == "R14").then(
            pl.when(new == "R14").then(pl.col("einddatum")).dt.strftime("%Y-%m-%d"))
        .when(new == "granularity").then(pl.col("granularity"))
    )
    return (
        frame.with_columns(_screen=pl.when(pl.col("reject_code").is_null()).then(code))
        .with_columns(
            reject_code=pl.coalesce("reject_code", new),
            reject_field=pl.coalesce(
                "reject_field",
                new.replace_strict(_SCREEN_FIELDS, default=None, return_dtype=pl.String)),
            reject_value=pl.coalesce("reject_value", value),
        )
        .drop("_screen")
    )


def _day(column: str | pl.Expr) -> pl.Expr:
    expr = pl.col(column) if isinstance(column, str) else column
    return expr.cast(pl.Int64) + _OFFSET


def group_key() -> pl.Expr:
    """Person, TypeOpvang and gemeentecode as one integer: registrations that may merge."""
    return pl.col("person") * 100_000_000 + _number("type_opvang") * 10_000 + _number(
        "gemeentecode")


def _number(column: str) -> pl.Expr:
    """A 4-digit code as its number; null for anything else (the text is read once)."""
    text = pl.col(column)
    number = text.cast(pl.Int32, strict=False)
    return pl.when((text.str.len_bytes() == 4) & (number >= 0)).then(number).cast(pl.Int64)


def _type_number() -> pl.Expr:
    return pl.col("group") // 10_000 % 10_000


def decode_group() -> list[pl.Expr]:
    """`type_opvang`, `gemeentecode` and `bsn_out` back as text from `group` and `person`."""
    return [
        _type_number().cast(pl.String).str.zfill(4).alias("type_opvang"),
        (pl.col("group") % 10_000).cast(pl.String).str.zfill(4).alias("gemeentecode"),
        pl.when(pl.col("person") < FIRST_OTHER_PERSON)
        .then(pl.col("person").cast(pl.String).str.zfill(9))
        .otherwise(pl.lit(UNKNOWN_BSN)).alias("bsn_out"),
    ]


def registrations(rows: pl.LazyFrame, *, now: dt.date, settings: EpisodeSettings) -> pl.LazyFrame:
    """Deliverable rows (with `person`) → registrations with an open/closed state.

    Night rows of one source, person, type and gemeente become runs: a night on date D covers
    D, the next night starting at most `1 + gap` days later continues the run, and a run whose
    last night lies within `1 + gap` days before `now` is still open. An episode row is open
    when it has no end (and is not "ended, date unknown") or an end after `now`.
    """
    missing = {"group", "night", "precedence", "_src"} - set(rows.collect_schema().names())
    if missing:  # a canonical frame rather than `delivery.narrow_rows`
        rows = rows.with_columns(
            _src=pl.col("source").rank("dense").cast(pl.Int32),
            group=group_key(),
            precedence=pl.col("source").is_in(list(settings.end_date_precedence)),
            night=pl.col("granularity") == "night",
        )
    nights = (
        rows.filter(pl.col("night"))
        .select("_src", "group", "person", "startdatum", "v_nummer", "reden", "datum_melding",
                "source_row", "precedence", "night")
        # one integer sort key (a multi-column sort costs several times more): source and
        # group ranked together, times a span wider than any day number, plus the day
        .with_columns(_key=pl.col("_src").cast(pl.Int64) * _SOURCE_SPAN + pl.col("group"))
        .sort(pl.col("_key").rank("dense").cast(pl.Int64) * _GROUP_SPAN + _day("startdatum"),
              maintain_order=True)
        .with_columns(_gap=settings.gap_days())
    )
    start = _day("startdatum")
    new_run = (
        (pl.col("_key") != pl.col("_key").shift(1))
        | (start > start.shift(1) + 1 + pl.col("_gap"))
    ).fill_null(True)
    today = pl.lit(now, dtype=pl.Date)
    # Runs are contiguous in the sorted nights: their first and last rows carry almost all a
    # run needs, so no group-by over millions of nights. V-nummer and melding, rare on bed
    # lists, come from a group-by over the few rows that have one.
    marked = nights.with_columns(
        _run=new_run.cum_sum(),
        _first=new_run,
        _i=pl.int_range(pl.len(), dtype=pl.Int64),
    ).with_columns(_final=pl.col("_first").shift(-1, fill_value=True))
    firsts = marked.filter(pl.col("_first")).select(
        "_run", "_src", "night", "person", "group", "precedence", "_gap", "startdatum",
        pl.col("source_row").alias("first_row"), pl.col("_i").alias("_i0"),
    )
    finals = marked.filter(pl.col("_final")).select(
        pl.col("startdatum").alias("_last"), "reden", pl.col("_i").alias("_i1"),
    )
    extras = (
        marked.filter(pl.col("v_nummer").is_not_null() | pl.col("datum_melding").is_not_null())
        .group_by("_run")
        .agg(pl.col("v_nummer").drop_nulls().first(), pl.col("datum_melding").min())
    )
    runs = (
        pl.concat([firsts, finals], how="horizontal")
        .join(extras, on="_run", how="left", maintain_order="left")
        .with_columns(
            n_rows=pl.col("_i1") - pl.col("_i0") + 1,
            is_open=pl.col("_last").cast(pl.Int64) >= today.cast(pl.Int64) - 1 - pl.col("_gap"),
        )
        .with_columns(
            einddatum=pl.when(pl.col("is_open")).then(None).otherwise(pl.col("_last")),
            ended_unknown=pl.lit(False),
        )
    )
    episode_rows = rows.filter(~pl.col("night")).with_columns(
        is_open=(pl.col("einddatum").is_null() & ~pl.col("ended_unknown").fill_null(False))
        | (pl.col("einddatum") > today).fill_null(False),
        n_rows=pl.lit(1, pl.Int64),
        first_row=pl.col("source_row"),
    ).with_columns(
        einddatum=pl.when(pl.col("is_open")).then(None).otherwise(pl.col("einddatum")),
        ended_unknown=pl.col("einddatum").is_null() & ~pl.col("is_open"),
    )
    columns = list(REGISTRATION_COLUMNS)
    return pl.concat([episode_rows.select(columns), runs.select(columns)], how="vertical")


def merge_episodes(regs: pl.LazyFrame, *, settings: EpisodeSettings) -> pl.LazyFrame:
    """Number the episodes: add `episode` (Int64, 1-based) and `_end_day` to each registration.

    Sorted by group and start, a registration opens a new episode when its start lies more than
    `1 + gap` days after the latest end so far in its group. The group index, multiplied by a
    span wider than any day number, is added to the end day so that one global running maximum
    restarts at every group.
    """
    start = _day("startdatum")
    end = (
        pl.when(pl.col("is_open")).then(pl.lit(_OPEN_DAY + _OFFSET, pl.Int64))
        .when(pl.col("einddatum").is_null()).then(start)  # ended on an unknown day: ≥ its start
        .otherwise(_day("einddatum"))
    )
    new_group = (pl.col("group") != pl.col("group").shift(1)).fill_null(True)
    group_base = (new_group.cum_sum().cast(pl.Int64)) * _GROUP_SPAN
    return (
        regs.with_columns(_end_day=end, _gap=settings.gap_days())
        .sort("group", pl.col("startdatum").cast(pl.Int64) * _GROUP_SPAN + pl.col("_end_day"),
              maintain_order=True)
        .with_columns(_new_group=new_group, _base=group_base)
        .with_columns(
            _latest=(pl.col("_base") + pl.col("_end_day")).cum_max().shift(1),
        )
        .with_columns(
            episode=(
                pl.col("_new_group")
                | (pl.col("_base") + start > pl.col("_latest") + 1 + pl.col("_gap"))
            ).fill_null(True).cum_sum().cast(pl.Int64)
        )
        .drop("_new_group", "_base", "_latest", "_gap")
    )


def aggregate_episodes(regs: pl.LazyFrame) -> pl.LazyFrame:
    """One row per episode: earliest start and melding, latest end with open winning (or the
    precedence sources' verdict when any takes part), reden of the last-ending registration,
    a V-nummer where any has one; `conflict` where open and closed registrations overlap.

    The per-episode choices are prepared as row columns first so that the aggregation itself
    uses only simple reductions (min, max, any, first) — those stay fast on millions of groups.
    """
    closed = ~pl.col("is_open")
    decides = pl.col("precedence") | ~pl.col("precedence").any().over("episode")
    return (
        regs.with_columns(_decides=decides)
        .with_columns(
            _open=pl.col("is_open") & pl.col("_decides"),
            _closed_end=pl.when(pl.col("_decides") & closed).then(pl.col("einddatum")),
            _rank=pl.when(pl.col("_decides") & closed).then(pl.col("_end_day")).otherwise(-1),
            _closed_day=pl.when(closed).then(pl.col("_end_day")),
            _open_day=pl.when(pl.col("is_open")).then(_day("startdatum")),
        )
        .group_by("episode", maintain_order=True)
        .agg(
            pl.col("person", "group").first(),
            pl.col("v_nummer").drop_nulls().first(),
            pl.col("startdatum").first(),  # sorted by start within the episode
            pl.col("datum_melding").min(),
            pl.col("_open").any().alias("is_open"),
            pl.col("_closed_end").max().alias("_known_end"),
            pl.col("reden").get(pl.col("_rank").arg_max()).alias("_reden"),
            (pl.col("_closed_day").max() >= pl.col("_open_day").min())
            .fill_null(False).alias("conflict"),
            pl.len().cast(pl.Int64).alias("n_registrations"),
            pl.col("n_rows").sum(),
        )
        .with_columns(
            einddatum=pl.when(pl.col("is_open")).then(None).otherwise(pl.col("_known_end")),
            ended_unknown=~pl.col("is_open") & pl.col("_known_end").is_null(),
            reden=pl.when(pl.col("is_open")).then(None).otherwise(pl.col("_reden")),
        )
        .with_columns(decode_group())
        .drop("_known_end", "_reden")
    )


def conflicting_registrations(regs: pl.LazyFrame, episodes: pl.LazyFrame) -> pl.LazyFrame:
    """For each conflicting episode, its first open registration: where the stale record is."""
    return (
        regs.filter(pl.col("is_open"))
        .join(episodes.filter(pl.col("conflict")).select("episode"), on="episode", how="semi")
        .group_by("episode", maintain_order=True)
        .agg(pl.col("_src", "first_row", "group", "person", "startdatum").first())
        .with_columns(decode_group())
        .sort("_src", "first_row")
    )
