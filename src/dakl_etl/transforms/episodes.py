"""From registrations to shelter episodes (opvangtrajecten), as RULES.md "What goes into the file".

Three steps, all vectorised:

1. `screen` marks rows the file cannot carry (no start, no type, no gemeente, end before start),
   in case an adapter let one through: every row keeps a reason, none is dropped silently.
2. `registrations` turns night rows into runs of nights (per source) and episode rows into
   registrations with an explicit open / closed / ended-unknown state as of `now`.
3. `merge_episodes` merges, across all sources, the registrations of one person, type and
   gemeente that overlap or follow within the gap; `aggregate_episodes` makes one row of each.

Gap merging is a sort plus running maximum: registrations sorted by key and start; an episode
begins where the start lies more than `1 + gap` days after the latest end so far. Both sorts
(nights into runs, registrations into episodes) sort one packed integer per row
(`keys.packed_order`, `keys.sorted_positions`), not a frame by several columns.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache

import polars as pl

from dakl_etl.protocol.codes import TYPE_OPVANG, UNKNOWN_BSN
from dakl_etl.transforms.keys import packed_order, run_maxima, sorted_positions
from dakl_etl.transforms.persons import FIRST_OTHER_PERSON, GROUP_PERSON

# Dates as day numbers in Int64; an open end is a day after every real one.
_OFFSET = 1 << 23  # keeps day numbers of any real date positive
_OPEN_DAY = (1 << 23) - 1  # ~ year 24900: later than every parseable end date
_GROUP_SPAN = 1 << 24  # > _OFFSET + _OPEN_DAY: groups never reach into each other

#: A registration: `_src` is the source's position in the pipeline, `group` encodes person,
#: TypeOpvang and gemeentecode as one integer (see `group_key`); strings come back at the end.
REGISTRATION_COLUMNS = (
    "_src",
    "night",
    "person",
    "group",
    "v_nummer",
    "startdatum",
    "einddatum",
    "is_open",
    "ended_unknown",
    "reden",
    "datum_melding",
    "n_rows",
    "first_row",
    "precedence",
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
            gap = (
                pl.when(_type_number() == int(code))
                .then(pl.lit(int(days), pl.Int64))
                .otherwise(gap)
            )
        return gap

    def gap_bounds(self) -> tuple[int, int]:
        """The least and the most gap of any TypeOpvang."""
        gaps = [self.merge_gap_days, *self.merge_gap_days_by_type.values()]
        return min(gaps), max(gaps)


_TYPE_NUMBERS = [int(code) for code in TYPE_OPVANG]
#: What `screen` finds, by number (0: nothing): rule id and the field it is about.
SCREEN_RULES = (
    (None, None),
    ("R11", "startdatum"),
    ("R10", "type_opvang"),
    ("R19", "gemeentecode"),
    ("R03", "gemeentecode"),
    ("R14", "einddatum"),
    ("granularity", "granularity"),
)


def screen(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Add `screen` (UInt8, an index into `SCREEN_RULES`; 0 = fine): why a row the sources
    let through cannot become a DAKL row — no start, no type, no gemeente, end before start.

    A number, not text: it is decided on every row, and text would be rewritten for millions
    of rows to mark a handful. `screened_rule` etc. turn it into words for those few.
    Also adds `type_number` and `gemeente_number` (the codes as numbers, `_number`): read from
    the text once here, and used again by `group_key`.
    """
    code = (
        pl.when(pl.col("startdatum").is_null())
        .then(1)
        .when(~pl.col("type_number").is_in(_TYPE_NUMBERS).fill_null(False))
        .then(2)
        .when(pl.col("gemeentecode").is_null())
        .then(3)
        .when(pl.col("gemeente_number").is_null())
        .then(4)
        .when((pl.col("einddatum") < pl.col("startdatum")).fill_null(False))
        .then(5)
        .when(~pl.col("granularity").is_in(["episode", "night"]).fill_null(False))
        .then(6)
        .otherwise(0)
    )
    return frame.with_columns(
        type_number=_number("type_opvang"), gemeente_number=_number("gemeentecode")
    ).with_columns(screen=code.cast(pl.UInt8))


def screened_rule() -> pl.Expr:
    return pl.col("screen").replace_strict(
        {i: rule for i, (rule, _) in enumerate(SCREEN_RULES)}, return_dtype=pl.String
    )


def screened_field() -> pl.Expr:
    return pl.col("screen").replace_strict(
        {i: fld for i, (_, fld) in enumerate(SCREEN_RULES)}, return_dtype=pl.String
    )


def screened_value() -> pl.Expr:
    """The offending value as found (none of these fields is personal)."""
    kind = pl.col("screen")
    return (
        pl.when(kind == 2)
        .then(pl.col("type_opvang"))
        .when(kind == 4)
        .then(pl.col("gemeentecode"))
        .when(kind == 5)
        .then(pl.col("einddatum").dt.strftime("%Y-%m-%d"))
        .when(kind == 6)
        .then(pl.col("granularity"))
    )


def _day(column: str | pl.Expr) -> pl.Expr:
    expr = pl.col(column) if isinstance(column, str) else column
    return expr.cast(pl.Int64) + _OFFSET


def group_key() -> pl.Expr:
    """Person, TypeOpvang and gemeentecode as one integer: registrations that may merge.

    The codes are read from `type_number` / `gemeente_number` (see `screen`).
    """
    return (
        pl.col("person") * GROUP_PERSON + pl.col("type_number") * 10_000 + pl.col("gemeente_number")
    )


def group_person() -> pl.Expr:
    """The person number, read back from `group` (`group_key`)."""
    return pl.col("group") // GROUP_PERSON


def group_kind() -> pl.Expr:
    """TypeOpvang and gemeentecode together (`type × 10⁴ + gemeente`), read from `group`."""
    return pl.col("group") % GROUP_PERSON


def _number(column: str) -> pl.Expr:
    """A 4-digit code as its number; null for anything else (the text is read once)."""
    text = pl.col(column)
    number = text.cast(pl.Int32, strict=False)
    return pl.when((text.str.len_bytes() == 4) & (number >= 0)).then(number).cast(pl.Int64)


def _type_number() -> pl.Expr:
    return pl.col("group") // 10_000 % 10_000


@cache
def _four_digits() -> pl.Series:
    """Every number below 10⁴ as 4-digit text, at its own index: a code back as text is a
    look-up in this table, several times cheaper than formatting a number on every row."""
    return pl.Series("code", [f"{number:04d}" for number in range(10_000)])


def decode_group() -> list[pl.Expr]:
    """`type_opvang`, `gemeentecode` and `bsn_out` back as text from `group` and `person`."""
    codes = pl.lit(_four_digits())
    return [
        codes.gather(_type_number()).alias("type_opvang"),
        codes.gather(pl.col("group") % 10_000).alias("gemeentecode"),
        pl.when(pl.col("person") < FIRST_OTHER_PERSON)
        .then(pl.col("person").cast(pl.String).str.zfill(9))
        .otherwise(pl.lit(UNKNOWN_BSN))
        .alias("bsn_out"),
    ]


def registrations(rows: pl.DataFrame, *, now: dt.date, settings: EpisodeSettings) -> pl.DataFrame:
    """Deliverable rows (`delivery.narrow_rows` of one source: the person in `group`, no end
    on night rows) → registrations with an open/closed state.

    Night rows of one source, person, type and gemeente become runs: a night on date D covers
    D, the next night starting at most `1 + gap` days later continues the run, and a run whose
    last night lies within `1 + gap` days before `now` is still open. An episode row is open
    when it has no end (and is not "ended, date unknown") or an end after `now`.
    """
    today = pl.lit(now, dtype=pl.Date)
    night = rows.get_column("night")
    # a source is all nights or all episodes: no copy of millions of rows by a filter then
    if night.all():
        nights, others = rows, rows.clear()
    elif not night.any():
        nights, others = rows.clear(), rows
    else:
        nights, others = rows.filter(night), rows.filter(~night)
    runs = _night_runs(nights, today=today, settings=settings)
    episode_rows = (
        others.lazy()
        .with_columns(
            is_open=(pl.col("einddatum").is_null() & ~pl.col("ended_unknown").fill_null(False))
            | (pl.col("einddatum") > today).fill_null(False),
            n_rows=pl.lit(1, pl.Int64),
            first_row=pl.col("source_row"),
            person=group_person(),
        )
        .with_columns(
            einddatum=pl.when(pl.col("is_open")).then(None).otherwise(pl.col("einddatum")),
            ended_unknown=pl.col("einddatum").is_null() & ~pl.col("is_open"),
        )
    )
    columns = list(REGISTRATION_COLUMNS)
    return pl.concat([episode_rows.select(columns), runs.select(columns)], how="vertical").collect()


def _run_starts(
    nights: pl.DataFrame, settings: EpisodeSettings
) -> tuple[pl.Series, Callable[[pl.Series | None], pl.Series]]:
    """The nights in order of group, source, day and input position: per night in that order
    whether it starts a run, and where the nights at given places of that order are in
    `nights` (all of them for None).

    One packed sort (`keys.packed_order`) whose day field has room for the largest gap: a
    run starts where the packed key steps more than `1 + gap` — a new group or source always
    does —, so no column but the sorted words is read for millions of nights.
    """
    # one chunk: the few gathers below (steps between gaps, the column fallback) are faster
    frame = nights.select("group", "_src", "startdatum").rechunk()
    keys = [pl.col("group"), pl.col("_src"), pl.col("startdatum")]
    least, most = settings.gap_bounds()
    order = packed_order(frame, keys, headroom=max(0, 1 + most))
    if order is None:  # keys too wide for one word (not met in real data): compare columns
        positions = sorted_positions(frame, keys)
        day = pl.col("startdatum").cast(pl.Int64)
        starts = (
            frame[positions]
            .select(
                (
                    (pl.col("group") != pl.col("group").shift(1))
                    | (pl.col("_src") != pl.col("_src").shift(1))
                    | (day > day.shift(1) + 1 + settings.gap_days())
                ).fill_null(True)
            )
            .to_series()
        )
        return starts, lambda at: positions if at is None else positions.gather(at)
    step = order.key_steps()
    starts = (step > 1 + most).fill_null(True)
    if least < most:  # gaps per TypeOpvang: a step between them depends on the group's type
        unsure = ((step > 1 + least) & ~starts).fill_null(False).arg_true()
        if not unsure.is_empty():
            longer = (
                frame[order.positions(unsure)]
                .select(pl.lit(step.gather(unsure)) > 1 + settings.gap_days())
                .to_series()
            )
            starts = starts.scatter(unsure, longer)
    return starts, order.positions


def _rows_at(frame: pl.DataFrame, positions: pl.Series) -> pl.DataFrame:
    """`frame[positions]`: the nights come from a collect in many chunks, where a gather at
    random positions costs twice as much as copying the columns into one chunk first."""
    return frame.rechunk()[positions]


def _night_runs(nights: pl.DataFrame, *, today: pl.Expr, settings: EpisodeSettings) -> pl.LazyFrame:
    """Runs of nights per source and group, found on one sorted column of integers.

    Sorting millions of full rows is what costs; so only (group, source, day) are sorted, and the
    other columns are fetched for the first and last night of each run (a run's fields come
    from those two rows). V-nummer and melding, rare on bed lists, come from a group-by over
    the few rows that have one.
    """
    # Per night only a flag: does it start a run? A run ends where the next one starts, so the
    # positions of the first and last nights follow from the flags, without more columns of
    # millions of values.
    starts_run, positions = _run_starts(nights, settings)
    p0 = starts_run.arg_true().cast(pl.Int64)
    p1 = pl.concat([p0.slice(1) - 1, pl.Series([nights.height - 1], dtype=pl.Int64)]).head(
        p0.len()
    )  # no nights: no runs
    first_i, final_i = positions(p0), positions(p1)
    head = _rows_at(
        nights.select("_src", "night", "group", "precedence", "startdatum", first_row="source_row"),
        first_i,
    ).with_columns(person=group_person())
    tail = _rows_at(nights.select(_last="startdatum", reden="reden"), final_i)
    # null counts are free: a bed list without V-nummers or meldingen is not scanned for them
    has_rare = any(nights[c].null_count() < nights.height for c in ("v_nummer", "datum_melding"))
    rare = (
        nights.with_columns(_i=pl.int_range(pl.len(), dtype=pl.Int64)).filter(
            pl.col("v_nummer").is_not_null() | pl.col("datum_melding").is_not_null()
        )
        if has_rare
        else nights.clear()
    )
    if rare.height:
        # the run of each night in input order: scatter, not a join against millions of rows
        run_of = pl.zeros(nights.height, dtype=pl.Int64, eager=True).scatter(
            positions(None), starts_run.cum_sum().cast(pl.Int64)
        )
        extras = (
            rare.select(run_of.gather(rare["_i"]).alias("_run"), "v_nummer", "datum_melding")
            .group_by("_run")
            .agg(pl.col("v_nummer").drop_nulls().first(), pl.col("datum_melding").min())
        )
    else:
        extras = pl.DataFrame(
            schema={"_run": pl.Int64, "v_nummer": pl.String, "datum_melding": pl.Date}
        )
    return (
        pl.concat([head, tail], how="horizontal")
        .lazy()
        .with_columns(
            _run=pl.int_range(1, pl.len() + 1, dtype=pl.Int64),
            n_rows=pl.lit(p1 - p0 + 1),
        )
        .join(extras.lazy(), on="_run", how="left", maintain_order="left")
        .with_columns(
            is_open=pl.col("_last").cast(pl.Int64) >= today.cast(pl.Int64) - 1 - settings.gap_days()
        )
        .with_columns(
            einddatum=pl.when(pl.col("is_open")).then(None).otherwise(pl.col("_last")),
            ended_unknown=pl.lit(False),
        )
    )


def merge_episodes(regs: pl.DataFrame, *, settings: EpisodeSettings) -> pl.LazyFrame:
    """Number the episodes: add `episode` (Int64, 1-based) and `_end_day` to each registration.

    Sorted by group and start (then end, then input order), a registration opens a new episode
    when its start lies more than `1 + gap` days after the latest end so far in its group. The
    group index, multiplied by a span wider than any day number, is added to the end day so
    that one global running maximum restarts at every group.
    """
    start = _day("startdatum")
    end = (
        pl.when(pl.col("is_open"))
        .then(pl.lit(_OPEN_DAY + _OFFSET, pl.Int64))
        .when(pl.col("einddatum").is_null())
        .then(start)  # ended on an unknown day: ≥ its start
        .otherwise(_day("einddatum"))
    )
    regs = regs.with_columns(_end_day=end)
    order = sorted_positions(regs, [pl.col("group"), start, pl.col("_end_day")])
    new_group = (pl.col("group") != pl.col("group").shift(1)).fill_null(True)
    group_base = (new_group.cum_sum().cast(pl.Int64)) * _GROUP_SPAN
    return (
        regs[order]  # eagerly: a lazy `gather` of every column takes twice as long (Polars 2.1)
        .lazy()
        .with_columns(_gap=settings.gap_days(), _new_group=new_group, _base=group_base)
        .with_columns(
            _latest=(pl.col("_base") + pl.col("_end_day")).cum_max().shift(1),
        )
        .with_columns(
            episode=(
                pl.col("_new_group")
                | (pl.col("_base") + start > pl.col("_latest") + 1 + pl.col("_gap"))
            )
            .fill_null(True)
            .cum_sum()
            .cast(pl.Int64)
        )
        .drop("_new_group", "_base", "_latest", "_gap")
        # true by construction (a running count over the sorted rows); flagged so that the
        # group-by over episodes takes Polars' fast path for sorted keys
        .with_columns(pl.col("episode").set_sorted())
    )


def aggregate_episodes(regs: pl.DataFrame, *, precedence: bool = True) -> pl.LazyFrame:
    """One row per episode: earliest start and melding, latest end with open winning (or the
    precedence sources' verdict when any takes part), reden of the last-ending registration,
    a V-nummer where any has one; `conflict` where open and closed registrations overlap.

    `regs` as `merge_episodes` numbers and orders them. An episode of one registration (two
    in three) is that registration as it stands. The others are reduced over their runs of
    rows (`keys.run_maxima`): every choice is a largest value, or the first row holding one.
    With precedence each choice is made twice, over all registrations and over the precedence
    sources' only, and the episode picks one by whether a precedence source takes part;
    `precedence=False` (no `end_date_precedence` configured) makes it once.
    """
    episode = pl.col("episode")
    single = ((episode != episode.shift(1)) & (episode != episode.shift(-1))).fill_null(True)
    # what a single registration carries into its episode as it is
    carried = ("episode", "person", "group", "v_nummer", "startdatum", "datum_melding", "is_open")
    regs = regs.select(
        *carried, "einddatum", "reden", "n_rows", "_end_day", "precedence", _single=single
    )
    singles = (
        regs.lazy()
        .filter(pl.col("_single"))
        .select(
            *carried,
            conflict=pl.lit(False),
            n_registrations=pl.lit(1, pl.Int64),
            n_rows=pl.col("n_rows").cast(pl.Int64),
            **_ending(pl.col("einddatum"), pl.col("reden")),
        )
    )
    merged = _merged_episodes(regs.filter(~pl.col("_single")), precedence=precedence)
    # a sort of the unique episode numbers: `merge_sorted` takes three times as long here
    return (
        pl.concat([singles, merged.select(singles.collect_schema().names())], how="vertical")
        .sort("episode")
        .with_columns(decode_group())
        .select(_EPISODE_COLUMNS)
    )


def _merged_episodes(rows: pl.DataFrame, *, precedence: bool) -> pl.LazyFrame:
    """`aggregate_episodes` for episodes of two or more registrations (`rows`, in order).

    Each choice as a largest value per episode (`keys.run_maxima`): a day as its `_day`
    number (0: none), an earliest day as `_GROUP_SPAN` minus it; the reden, the V-nummer and
    the latest end day of a closed registration are read from the first row holding the
    largest end day, or a V-nummer. "Any open precedence registration" and "any precedence
    registration" are one value: 3, 1 or 0 (the first implies the second).
    """
    closed = ~pl.col("is_open")
    maxima: dict[str, pl.Expr] = {}
    at_max: dict[str, pl.Expr] = {"_v": pl.col("v_nummer").is_not_null()}
    deciding = {"": pl.lit(True), "_p": pl.col("precedence")} if precedence else {"": pl.lit(True)}
    for suffix, decides in deciding.items():
        maxima[f"_closed_end{suffix}"] = pl.when(decides & closed).then(_day("einddatum"))
        at_max[f"_last_end{suffix}"] = pl.when(decides & closed).then(pl.col("_end_day"))
    if precedence:
        prec = pl.col("precedence")
        maxima["_precedence"] = (prec & pl.col("is_open")).cast(pl.Int64) * 2 + prec.cast(pl.Int64)
    maxima["_open_day"] = pl.when(pl.col("is_open")).then(_GROUP_SPAN - _day("startdatum"))
    maxima["_melding"] = _GROUP_SPAN - _day("datum_melding")
    runs = run_maxima(rows, "episode", maxima, first_at_max=at_max)

    opened = pl.col("_open_day") > 0  # an open registration takes part
    verdicts = {
        "_open": opened,
        "_closed_end": pl.col("_closed_end"),
        "_reden_at": pl.col("_last_end"),
    }
    if precedence:
        took_part = pl.col("_precedence") > 0
        verdicts = {
            "_open": pl.when(took_part).then(pl.col("_precedence") == 3).otherwise(opened),
            **{
                name: pl.when(took_part).then(pl.col(f"{source}_p")).otherwise(pl.col(source))
                for name, source in (("_closed_end", "_closed_end"), ("_reden_at", "_last_end"))
            },
        }
    first = runs.get_column("_first")
    last = first + runs.get_column("_length") - 1
    total_rows = rows.get_column("n_rows").cast(pl.Int64).cum_sum().gather(last)
    latest = runs.get_column("_last_end")  # the latest-ending closed row, if any
    runs = runs.with_columns(
        rows.select("episode", "person", "group", "startdatum")[first],
        v_nummer=rows.get_column("v_nummer").gather(runs.get_column("_v")),
        n_rows=total_rows - total_rows.shift(1, fill_value=0),
        _closed_day=pl.when(~rows.get_column("is_open").gather(latest)).then(
            rows.get_column("_end_day").gather(latest)
        ),
        **verdicts,
    )
    runs = runs.with_columns(_reden=rows.get_column("reden").gather(runs.get_column("_reden_at")))
    open_day, melding = pl.col("_open_day"), pl.col("_melding")
    # a closed registration ends on or after the day an open one starts
    conflict = (open_day > 0) & (pl.col("_closed_day") >= _GROUP_SPAN - open_day)
    return (
        runs.lazy()
        .select(
            "episode",
            "person",
            "group",
            "v_nummer",
            "startdatum",
            datum_melding=_as_date(pl.when(melding > 0).then(_GROUP_SPAN - melding)),
            is_open="_open",
            conflict=conflict.fill_null(False),
            n_registrations="_length",
            n_rows="n_rows",
            _known_end=_as_date(pl.col("_closed_end")),
            _reden="_reden",
        )
        .with_columns(**_ending(pl.col("_known_end"), pl.col("_reden")))
        .drop("_known_end", "_reden")
    )


def _as_date(day: pl.Expr) -> pl.Expr:
    """A `_day` number (0 or null: none) back as a date."""
    return pl.when(day > 0).then(day - _OFFSET).cast(pl.Int32).cast(pl.Date)


def _ending(known_end: pl.Expr, reden: pl.Expr) -> dict[str, pl.Expr]:
    """An episode's end from its `is_open` and the end its closed registrations agree on: no
    end and no reden when open; ended on an unknown day when closed without a known end."""
    is_open = pl.col("is_open")
    return {
        "einddatum": pl.when(is_open).then(None).otherwise(known_end),
        "ended_unknown": ~is_open & known_end.is_null(),
        "reden": pl.when(is_open).then(None).otherwise(reden),
    }


#: The columns of an episode row, in order.
_EPISODE_COLUMNS = (
    "episode",
    "person",
    "group",
    "v_nummer",
    "startdatum",
    "datum_melding",
    "is_open",
    "conflict",
    "n_registrations",
    "n_rows",
    "einddatum",
    "ended_unknown",
    "reden",
    "type_opvang",
    "gemeentecode",
    "bsn_out",
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
