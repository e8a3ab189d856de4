"""The figures of one DAKL delivery: aggregates only, computed with Polars on the text frame.

Input is the frame of `validation.read_dakl` (the nine fields as text). Values that the
validator rejects still count as rows; they land in an "invalid" category instead of vanishing,
so every row of the file is accounted for in every table.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from dakl_etl.protocol.bsn import elfproef
from dakl_etl.protocol.codes import ETHOS_CATEGORY, REDEN_BEEINDIGING, TYPE_OPVANG, UNKNOWN_BSN
from dakl_etl.protocol.fields import COLUMNS, DATE_FORMAT, FIELD_BY_KEY
from dakl_etl.protocol.privacy import DIGIT_RUN

INVALID = "??"  # category of a code the protocol does not know (the validator names the rule)

#: Episode length buckets in days (upper bound inclusive), closed or up to the year end.
LENGTH_BUCKETS: tuple[tuple[str, int | None], ...] = (
    ("0-7", 7),
    ("8-30", 30),
    ("31-90", 90),
    ("91-180", 180),
    ("181-365", 365),
    (">365", None),
)
#: Waiting time melding -> start in days; negative means melding after start.
WAITING_BUCKETS: tuple[tuple[str, int | None], ...] = (
    ("<0", -1),
    ("0", 0),
    ("1-7", 7),
    ("8-30", 30),
    ("31-90", 90),
    (">90", None),
)
MONTHS = tuple(f"{m:02d}" for m in range(1, 13))
LONG_EPISODE_DAYS = 365


@dataclass(frozen=True)
class KeyFigures:
    rows: int
    persons_bsn: int  # unique valid BSNs: what CBS publishes
    rows_unknown_bsn: int
    persons_unknown_bsn: int  # unique V-nummers + unknown rows without one (each a person)
    rows_invalid_bsn: int  # neither a valid BSN nor 999999999 (the validator rejects these)
    rows_with_v_nummer: int
    rows_without_v_nummer: int
    open_at_year_end: int  # episodes still running on 31 December (open or ending later)
    end_unknown: int  # ended on an unknown date (Einddatum empty)
    melding_after_start: int
    rows_with_melding: int
    long_episodes: int  # longer than a year (closed, or open up to 31 December)
    long_episodes_ethos2: int
    gemeenten: int

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Figures:
    """Everything the report shows about one delivery; tables are small Polars frames."""

    year: int
    key: KeyFigures
    per_type: pl.DataFrame  # level, code, rows, persons  (level: type | ethos | total)
    per_gemeente: pl.DataFrame  # gemeentecode, rows, persons
    per_month: pl.DataFrame  # period, starts, ends
    lengths: pl.DataFrame  # bucket, one column per ETHOS category code ("02", "03", "??")
    length_median: dict[str, float | None]  # ETHOS category -> median length in days
    waiting: pl.DataFrame  # bucket, rows
    waiting_median: float | None
    reden: pl.DataFrame  # reden, rows


def _text(name: str) -> pl.Expr:
    col = pl.col(name).cast(pl.String)
    return pl.when(col == "").then(None).otherwise(col)


def _date(name: str) -> pl.Expr:
    col = _text(name)
    return (
        pl.when(col.str.contains(r"^\d{8}$"))
        .then(col.str.to_date(DATE_FORMAT, strict=False))
        .otherwise(None)
    )


def _bucket(days: pl.Expr, buckets: tuple[tuple[str, int | None], ...], offset: int) -> pl.Expr:
    """Index (from `offset`) of the first bucket whose upper bound holds `days`."""
    expr = pl.when(days <= buckets[0][1]).then(pl.lit(offset, pl.Int8))
    for i, (_, upper) in enumerate(buckets[1:], start=1):
        cond = days.is_not_null() if upper is None else days <= upper
        expr = expr.when(cond).then(pl.lit(offset + i, pl.Int8))
    return expr.otherwise(None)


def _labelled(counts: pl.DataFrame, key: str, labels: tuple[str, ...]) -> pl.DataFrame:
    """Small-int keys of an aggregate back to their labels, every label present (0 if none)."""
    frame = pl.DataFrame(
        {"_k": list(range(len(labels))), key: labels}, schema={"_k": pl.Int8, key: pl.String}
    )
    joined = frame.join(counts.rename({key: "_k"}), on="_k", how="left").drop("_k")
    return joined.with_columns(pl.exclude(key).fill_null(0))


def typed(frame: pl.DataFrame | pl.LazyFrame, year: int) -> pl.LazyFrame:
    """The columns the figures need, typed; invalid dates become null, unknown codes `??`.

    A gemeentecode with a digit run as long as a BSN becomes null (`??` in its table): it may
    be one from a shifted column, and the page is forwarded.
    """
    year_end = dt.date(year, 12, 31)
    lazy = frame.lazy().select(COLUMNS)
    end = pl.col("end")
    open_marker = (end == year_end) & pl.col("reden").is_null()
    return (
        lazy.select(
            _text("bsn").alias("bsn"),
            _text("v_nummer").alias("v_nummer"),
            pl.when(~_text("gemeentecode").str.contains(DIGIT_RUN.pattern))
            .then(_text("gemeentecode"))
            .alias("gemeentecode"),
            pl.when(_text("type_opvang").is_in(list(TYPE_OPVANG)))
            .then(_text("type_opvang"))
            .otherwise(pl.lit(INVALID))
            .alias("type_opvang"),
            _text("reden").alias("reden"),
            _text("einddatum").is_null().alias("end_unknown"),
            _date("startdatum").alias("start"),
            _date("einddatum").alias("end"),
            _date("datum_melding").alias("melding"),
        )
        .with_columns(
            elfproef("bsn").alias("bsn_valid"),
            (pl.col("bsn") == UNKNOWN_BSN).fill_null(False).alias("bsn_unknown"),
            pl.col("v_nummer")
            .str.contains(FIELD_BY_KEY["v_nummer"].regex)
            .fill_null(False)
            .alias("has_v"),
            pl.when(pl.col("type_opvang") == INVALID)
            .then(pl.lit(INVALID))
            .otherwise(pl.col("type_opvang").str.slice(0, 2))
            .alias("ethos"),
            (end >= year_end).fill_null(False).alias("open_at_year_end"),
            open_marker.fill_null(False).alias("open_marker"),
            (pl.min_horizontal(end, pl.lit(year_end)) - pl.col("start"))
            .dt.total_days()
            .alias("length"),
            (pl.col("start") - pl.col("melding")).dt.total_days().alias("waiting"),
        )
        .with_columns(
            # Integers: unique counts over a million rows are several times faster than on text.
            pl.when(pl.col("bsn_valid"))
            .then(pl.col("bsn").cast(pl.Int64, strict=False))
            .alias("person"),
            pl.when(pl.col("has_v"))
            .then(pl.col("v_nummer").cast(pl.Int64, strict=False))
            .alias("v_key"),
        )
    )


def compute(frame: pl.DataFrame | pl.LazyFrame, year: int) -> Figures:
    """All figures of one delivery for reporting year `year`."""
    data = typed(frame, year).collect().lazy()
    # One pass per aggregate, run side by side by Polars; the results are tiny.
    (key, by_type, by_ethos, total, by_gemeente, starts, ends, lengths, medians, waiting, reden) = (
        pl.collect_all(
            [
                _key_figures(data),
                *_per_type(data),
                _per_gemeente(data),
                *_per_month(data, year),
                _lengths(data),
                _medians(data),
                _waiting(data),
                _reden(data),
            ]
        )
    )
    medians_row = medians.row(0, named=True)
    return Figures(
        year=year,
        key=_key_from(key),
        per_type=_per_type_table(by_type, by_ethos, total),
        per_gemeente=by_gemeente.sort("gemeentecode"),
        per_month=_per_month_table(starts, ends),
        lengths=_lengths_table(lengths),
        length_median={c: _float(medians_row[f"length_{c}"]) for c in ETHOS_CATEGORY},
        waiting=_waiting_table(waiting),
        waiting_median=_float(medians_row["waiting"]),
        reden=_reden_table(reden),
    )


def _float(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]


def _key_figures(data: pl.LazyFrame) -> pl.LazyFrame:
    unknown = pl.col("bsn_unknown")
    return data.select(
        pl.len().alias("rows"),
        pl.col("person").drop_nulls().n_unique().alias("persons_bsn"),
        unknown.sum().alias("rows_unknown_bsn"),
        pl.col("v_key").filter(unknown).drop_nulls().n_unique().alias("_unknown_v"),
        (unknown & ~pl.col("has_v")).sum().alias("_unknown_no_v"),
        (~pl.col("bsn_valid") & ~unknown).sum().alias("rows_invalid_bsn"),
        pl.col("has_v").sum().alias("rows_with_v_nummer"),
        (~pl.col("has_v")).sum().alias("rows_without_v_nummer"),
        pl.col("open_at_year_end").sum().alias("open_at_year_end"),
        pl.col("end_unknown").sum().alias("end_unknown"),
        (pl.col("waiting") < 0).sum().alias("melding_after_start"),
        pl.col("melding").is_not_null().sum().alias("rows_with_melding"),
        (pl.col("length") > LONG_EPISODE_DAYS).sum().alias("long_episodes"),
        ((pl.col("length") > LONG_EPISODE_DAYS) & (pl.col("ethos") == "02"))
        .sum()
        .alias("long_episodes_ethos2"),
        pl.col("gemeentecode").drop_nulls().n_unique().alias("gemeenten"),
    )


def _key_from(frame: pl.DataFrame) -> KeyFigures:
    row = {k: int(v) for k, v in frame.row(0, named=True).items()}
    return KeyFigures(
        rows=row["rows"],
        persons_bsn=row["persons_bsn"],
        rows_unknown_bsn=row["rows_unknown_bsn"],
        # unknown persons: one per distinct V-nummer, one per row without (never merged)
        persons_unknown_bsn=row["_unknown_v"] + row["_unknown_no_v"],
        rows_invalid_bsn=row["rows_invalid_bsn"],
        rows_with_v_nummer=row["rows_with_v_nummer"],
        rows_without_v_nummer=row["rows_without_v_nummer"],
        open_at_year_end=row["open_at_year_end"],
        end_unknown=row["end_unknown"],
        melding_after_start=row["melding_after_start"],
        rows_with_melding=row["rows_with_melding"],
        long_episodes=row["long_episodes"],
        long_episodes_ethos2=row["long_episodes_ethos2"],
        gemeenten=row["gemeenten"],
    )


def _counts() -> tuple[pl.Expr, pl.Expr]:
    return (
        pl.len().cast(pl.Int64).alias("rows"),
        pl.col("person").drop_nulls().n_unique().cast(pl.Int64).alias("persons"),
    )


def _per_type(data: pl.LazyFrame) -> tuple[pl.LazyFrame, pl.LazyFrame, pl.LazyFrame]:
    return (
        data.group_by(pl.col("type_opvang").alias("code")).agg(*_counts()),
        data.group_by(pl.col("ethos").alias("code")).agg(*_counts()),
        data.select(*_counts()),
    )


def _per_type_table(
    by_type: pl.DataFrame, by_ethos: pl.DataFrame, total: pl.DataFrame
) -> pl.DataFrame:
    """Rows and persons per TypeOpvang, per ETHOS-Light category and in total.

    A person counts once per line: in two types of one category they count once for the
    category, so the category is not the sum of its types.
    """
    per_type = (
        pl.DataFrame({"code": [*TYPE_OPVANG, INVALID]})
        .join(by_type, on="code", how="left")
        .with_columns(pl.lit("type").alias("level"))
    )
    categories = [*ETHOS_CATEGORY, INVALID]
    per_ethos = (
        pl.DataFrame({"code": categories})
        .join(by_ethos, on="code", how="left")
        .with_columns(pl.lit("ethos").alias("level"))
    )
    total = total.with_columns(pl.lit("").alias("code"), pl.lit("total").alias("level"))
    ordered = []
    for category in categories:
        ordered.append(per_ethos.filter(pl.col("code") == category))
        ordered.append(per_type.filter(pl.col("code").str.slice(0, 2) == category))
    out = pl.concat([*ordered, total], how="diagonal").select("level", "code", "rows", "persons")
    out = out.with_columns(pl.col("rows", "persons").fill_null(0))
    # The invalid category only shows when some row has it.
    return out.filter(~((pl.col("code").str.starts_with(INVALID)) & (pl.col("rows") == 0)))


def _per_gemeente(data: pl.LazyFrame) -> pl.LazyFrame:
    return data.group_by(pl.col("gemeentecode").fill_null(INVALID)).agg(*_counts())


#: Periods of the month table, in order; the frames carry their index (Int8).
PERIODS = ("before", *MONTHS, "after", "open", "unknown", "invalid")
_P = {name: i for i, name in enumerate(PERIODS)}


def _period(date: pl.Expr, year: int) -> pl.Expr:
    return (
        pl.when(date.dt.year() < year)
        .then(pl.lit(_P["before"], pl.Int8))
        .when(date.dt.year() > year)
        .then(pl.lit(_P["after"], pl.Int8))
        .otherwise(date.dt.month().cast(pl.Int8))  # months 1..12 are their own index
    )


def _per_month(data: pl.LazyFrame, year: int) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """Starts and ends per month of the year; earlier, later, open and unknown apart."""
    start_period = (
        pl.when(pl.col("start").is_null())
        .then(pl.lit(_P["invalid"], pl.Int8))
        .otherwise(_period(pl.col("start"), year))
    )
    end_period = (
        pl.when(pl.col("end_unknown"))
        .then(pl.lit(_P["unknown"], pl.Int8))
        .when(pl.col("end").is_null())
        .then(pl.lit(_P["invalid"], pl.Int8))
        .when(pl.col("open_marker"))
        .then(pl.lit(_P["open"], pl.Int8))
        .otherwise(_period(pl.col("end"), year))
    )
    return (
        data.group_by(start_period.alias("period")).agg(pl.len().cast(pl.Int64).alias("starts")),
        data.group_by(end_period.alias("period")).agg(pl.len().cast(pl.Int64).alias("ends")),
    )


def _per_month_table(starts: pl.DataFrame, ends: pl.DataFrame) -> pl.DataFrame:
    out = _labelled(starts, "period", PERIODS).join(
        _labelled(ends, "period", PERIODS), on="period", how="left"
    )
    keep_always = ["before", *MONTHS, "open"]
    return out.filter(pl.col("period").is_in(keep_always) | (pl.col("starts") + pl.col("ends") > 0))


LENGTH_LABELS = (*(label for label, _ in LENGTH_BUCKETS), "unknown", "invalid")


def _lengths(data: pl.LazyFrame) -> pl.LazyFrame:
    """Episodes per length bucket and ETHOS category; length up to 31 December when open."""
    n = len(LENGTH_BUCKETS)
    bucket = (
        pl.when(pl.col("end_unknown"))
        .then(pl.lit(n, pl.Int8))
        .when(pl.col("length").is_null() | (pl.col("length") < 0))
        .then(pl.lit(n + 1, pl.Int8))
        .otherwise(_bucket(pl.col("length"), LENGTH_BUCKETS, 0))
    )
    return data.group_by(bucket.alias("bucket"), "ethos").agg(pl.len().cast(pl.Int64).alias("n"))


def _lengths_table(counts: pl.DataFrame) -> pl.DataFrame:
    wide = (
        counts.pivot(on="ethos", index="bucket", values="n")
        if counts.height
        else pl.DataFrame({"bucket": []}, schema={"bucket": pl.Int8})
    )
    out = _labelled(wide, "bucket", LENGTH_LABELS)
    for category in (*ETHOS_CATEGORY, INVALID):
        if category not in out.columns:
            out = out.with_columns(pl.lit(0, pl.Int64).alias(category))
    out = out.select("bucket", *ETHOS_CATEGORY, INVALID).fill_null(0)
    if out[INVALID].sum() == 0:
        out = out.drop(INVALID)
    extra = pl.col("bucket").is_in(["unknown", "invalid"])
    return out.filter(~extra | (pl.sum_horizontal(pl.exclude("bucket")) > 0))


def _medians(data: pl.LazyFrame) -> pl.LazyFrame:
    valid = ~pl.col("end_unknown") & (pl.col("length") >= 0)
    return data.select(
        *(
            pl.col("length").filter(valid & (pl.col("ethos") == c)).median().alias(f"length_{c}")
            for c in ETHOS_CATEGORY
        ),
        pl.col("waiting").median().alias("waiting"),
    )


WAITING_LABELS = (*(label for label, _ in WAITING_BUCKETS), "none", "invalid")


def _waiting(data: pl.LazyFrame) -> pl.LazyFrame:
    n = len(WAITING_BUCKETS)
    bucket = (
        pl.when(pl.col("melding").is_null())
        .then(pl.lit(n, pl.Int8))
        .when(pl.col("waiting").is_null())
        .then(pl.lit(n + 1, pl.Int8))
        .otherwise(_bucket(pl.col("waiting"), WAITING_BUCKETS, 0))
    )
    return data.group_by(bucket.alias("bucket")).agg(pl.len().cast(pl.Int64).alias("rows"))


def _waiting_table(counts: pl.DataFrame) -> pl.DataFrame:
    out = _labelled(counts, "bucket", WAITING_LABELS)
    return out.filter((pl.col("bucket") != "invalid") | (pl.col("rows") > 0))


REDEN_LABELS = (*REDEN_BEEINDIGING, "none", "open", INVALID)


def _reden(data: pl.LazyFrame) -> pl.LazyFrame:
    """Rows per Reden beëindiging; open episodes and rows without a reason apart."""
    index = {code: i for i, code in enumerate(REDEN_LABELS)}
    code = pl.col("reden").replace_strict(index, default=None, return_dtype=pl.Int8)
    key = (
        pl.when(pl.col("reden").is_null() & pl.col("open_marker"))
        .then(pl.lit(index["open"], pl.Int8))
        .when(pl.col("reden").is_null())
        .then(pl.lit(index["none"], pl.Int8))
        .otherwise(code.fill_null(index[INVALID]))
    )
    return data.group_by(key.alias("reden")).agg(pl.len().cast(pl.Int64).alias("rows"))


def _reden_table(counts: pl.DataFrame) -> pl.DataFrame:
    out = _labelled(counts, "reden", REDEN_LABELS)
    return out.filter((pl.col("reden") != INVALID) | (pl.col("rows") > 0))
