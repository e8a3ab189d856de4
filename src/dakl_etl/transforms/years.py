"""Which episodes go into the file of reporting year Y, and how they are written there.

RULES.md: an episode belongs to Y when it starts on or before 31-12-Y and is open, or ends on or
after 01-01-Y, or (end unknown) started in Y. Open → Einddatum `Y1231` and no Reden; a real end
after the year is kept; "ended, date unknown" stays empty (and, by R17, without a Reden).

When the run knows the municipality codes of each year (`codes`: year -> the codes of
`reference.Gemeenten.codes_in_year`, the validator's R04 set), an episode goes into the file of
Y only when its gemeentecode existed in Y: the others are withheld from that file (R04), which
the ledger accounts for (`transforms.delivery.combine`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping

import polars as pl

from dakl_etl.transforms.keys import sorted_positions

#: The columns of a year frame, as `outputs.writer.write_dakl` takes them.
DAKL_COLUMNS = (
    "gemeentecode",
    "bsn",
    "datum_melding",
    "type_opvang",
    "startdatum",
    "einddatum",
    "reden",
    "v_nummer",
)


def in_year(year: int) -> pl.Expr:
    """True for episodes (`startdatum`, `einddatum`, `is_open`, `ended_unknown`) of year Y."""
    first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    return (pl.col("startdatum") <= last) & (
        pl.col("is_open")
        | (pl.col("einddatum") >= first).fill_null(False)
        | (pl.col("ended_unknown") & (pl.col("startdatum") >= first))  # started in Y
    )


#: Reporting year -> the gemeentecodes valid in it (R04); `None`: no check.
YearCodes = Mapping[int, Collection[str]]


def gemeente_valid(codes: Collection[str]) -> pl.Expr:
    """True where the row's gemeentecode is one of `codes` (4-digit text).

    R04 as the validator judges it (`gemeentecode in codes`, on the text written), read from
    `group` instead of the text: the written code is `group % 10_000` as 4 digits
    (`episodes.decode_group`) and the reference's codes are 4 digits, so the two agree exactly
    (anything else in `codes` could never equal a written code and is ignored); comparing
    integers keeps this cheap on millions of episodes.
    """
    numbers = sorted(int(c) for c in codes if len(c) == 4 and c.isascii() and c.isdigit())
    return (pl.col("group") % 10_000).is_in(pl.Series(numbers, dtype=pl.Int64).implode())


def in_file(year: int, codes: YearCodes | None = None) -> pl.Expr:
    """True for episodes that go into the file of `year`: `in_year`, and, when `codes` are
    given, a gemeentecode that existed in that year (R04)."""
    if codes is None:
        return in_year(year)
    return in_year(year) & gemeente_valid(codes[year])


def in_any_year(years: Iterable[int], codes: YearCodes | None = None) -> pl.Expr:
    """True for episodes in the file of at least one of `years` (see `in_file`)."""
    years = list(years)
    if not years:
        return pl.lit(False)
    return pl.any_horizontal(in_file(y, codes) for y in years)


def withheld_r04(year: int, codes: YearCodes) -> pl.Expr:
    """True for episodes of `year` by their dates whose gemeentecode did not exist in it."""
    return in_year(year) & ~gemeente_valid(codes[year])


#: The order of a year file: gemeente, type, start, then person (the person number orders like
#: the BSN: 999999999 = every number from FIRST_OTHER_PERSON on, after all real BSNs).
FILE_ORDER = (
    pl.col("group") % 10_000,
    pl.col("group") // 10_000 % 10_000,
    pl.col("startdatum"),
    pl.col("person"),
)


def year_rows(episodes: pl.LazyFrame, year: int, codes: YearCodes | None = None) -> pl.LazyFrame:
    """The rows of the file of `year`: clamped, de-duplicated by person key, in a stable order.

    Dedup is by (person, type, gemeente, start) — never by row text, so two unknown persons
    (both `999999999`) with identical rows both stay. `person`, `group` and `episode` are kept
    for the ledger; the writer takes `DAKL_COLUMNS`. With `codes`, episodes whose gemeentecode
    did not exist in `year` are left out (`in_file`).
    """
    return _clamped(episodes, year, codes).pipe(dedup).rename({"bsn_out": "bsn"}).sort(*FILE_ORDER)


def year_frames(
    episodes: pl.DataFrame, years: Iterable[int], codes: YearCodes | None = None
) -> dict[int, pl.DataFrame]:
    """`year_rows` of several years at once, with one sort instead of one per year.

    The episodes of any year are sorted once (stable), then each year only filters, clamps and
    de-duplicates, which keep that order. Same rows in the same order as `year_rows`: the rows
    dedup keeps share no sort key (same group and start), and stability keeps a duplicate set
    in its original order, so dedup keeps the same first row. In that order the duplicates of
    a row follow it directly (equal group and start mean equal sort keys), so each year drops
    them by comparing neighbours, without a hash table.
    """
    years = list(years)
    candidates = episodes.filter(in_any_year(years, codes))
    ordered = candidates[sorted_positions(candidates, FILE_ORDER)]
    plans = [
        _clamped(ordered.lazy(), y, codes).pipe(_dedup_ordered).rename({"bsn_out": "bsn"})
        for y in years
    ]
    return dict(zip(years, pl.collect_all(plans), strict=True))


def _clamped(episodes: pl.LazyFrame, year: int, codes: YearCodes | None = None) -> pl.LazyFrame:
    """The episodes of `year`'s file with an open end written as 31-12-Y and Reden only with
    an end."""
    clamp = dt.date(year, 12, 31)
    return episodes.filter(in_file(year, codes)).with_columns(
        einddatum=pl.when(pl.col("is_open"))
        .then(pl.lit(clamp, pl.Date))
        .otherwise(pl.col("einddatum")),
        # R17: a reden only with an Einddatum — not when open, nor when ended on an
        # unknown date
        reden=pl.when(pl.col("is_open") | pl.col("einddatum").is_null())
        .then(None)
        .otherwise(pl.col("reden")),
    )


#: One row per person, type, gemeente (`group`) and start date in a year's file.
DEDUP_KEY = ("group", "startdatum")


def dedup(rows: pl.LazyFrame) -> pl.LazyFrame:
    """One row per person, type, gemeente and start date (the first in the given order).

    `group` encodes person, type and gemeente; `person` is the person key, never the row text.
    """
    return rows.unique(subset=list(DEDUP_KEY), keep="first", maintain_order=True)


def _dedup_ordered(rows: pl.LazyFrame) -> pl.LazyFrame:
    """`dedup` of rows in `FILE_ORDER`, where a row's duplicates directly follow it."""
    key = [pl.col(c) for c in DEDUP_KEY]
    repeats = pl.all_horizontal(k == k.shift(1) for k in key).fill_null(False)
    return rows.filter(~repeats)
