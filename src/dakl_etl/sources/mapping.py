"""From a frame of text to the canonical frame: labels to codes, text to dates, repairs, rejects.

Vectorised throughout, and shaped by where the cost is on a million rows:
- labels, gemeente values and dates repeat (hundreds of distinct values in a million rows), so
  they are read dictionary-encoded (Categorical), interpreted once per distinct value in a
  small table, and spread back by the dictionary ids — no string hashing per row;
- BSN repairs, and the reject text, are computed on the few rows that need them;
- checks that cannot fire (no nulls, no values) are left out of the plan.
The wide frame keeps the raw text beside each result (`raw_<field>`), so `check` can say which
label or date did not map, and where.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping

import polars as pl

from dakl_etl import canonical
from dakl_etl.config import EXCLUDE, Pipeline
from dakl_etl.config.models import DATE_FIELDS, MAPPABLE, REPEATING_FIELDS
from dakl_etl.errors import ConfigError
from dakl_etl.protocol.bsn import elfproef, pad_bsn
from dakl_etl.protocol.codes import REDEN_BEEINDIGING, TYPE_OPVANG
from dakl_etl.protocol.fields import FIELD_BY_KEY
from dakl_etl.protocol.privacy import mask_digit_runs, mask_expr, mask_if_digit_run
from dakl_etl.reference import Gemeenten
from dakl_etl.sources.base import ROW, RawSource

ISO_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y%m%d")
#: Excel's day 0 (serial 1 = 1900-01-01, counting the non-existent 1900-02-29).
EXCEL_EPOCH = pl.date(1899, 12, 30)
_SERIAL = r"^\d{5}(\.\d+)?$"  # 10000..99999 = 1927..2173
_DECIMAL_ZERO = r"^(\d+)\.0+$"
_GEMEENTE = FIELD_BY_KEY["gemeentecode"].width
_BSN = FIELD_BY_KEY["bsn"].width
_V_NUMMER = FIELD_BY_KEY["v_nummer"]

#: The reject rules in the order they are judged: the first that holds is the row's reject.
PROBLEMS: tuple[tuple[str, str], ...] = (
    ("R19", "gemeentecode"),  # 0 gemeente missing
    ("R03", "gemeentecode"),  # 1 1-3 digits, not repairable to a known code
    ("R04", "gemeentecode"),  # 2 unknown code or name
    ("R19", "type_opvang"),  # 3 type missing
    ("R10", "type_opvang"),  # 4 unmapped label / not a code
    ("R11", "startdatum"),  # 5 start missing or not a date
    ("R13", "einddatum"),  # 6 end present but not a date
    ("R14", "einddatum"),  # 7 end before start
    ("R16", "reden"),  # 8 unmapped reden
    ("R18", "v_nummer"),  # 9 V-nummer not 10 digits
)


def raw(field: str) -> str:
    return f"raw_{field}"


def check_columns(source: RawSource, pipeline: Pipeline) -> None:
    """Every mapped column exists in the source, else a located config error.

    The source's column names are shown masked: without a header they are a data row.
    """
    config = pipeline.sources[source.name]
    for field, column in config.mapped_columns().items():
        if column not in source.columns:
            close = difflib.get_close_matches(column, source.columns, n=1, cutoff=0.6)
            folded = [c for c in source.columns if c.casefold() == column.casefold()]
            guess = (folded or close or [None])[0]
            hint = f" (did you mean {mask_digit_runs(guess)!r}?)" if guess else ""
            listed = ", ".join(repr(mask_digit_runs(c)) for c in source.columns[:30])
            raise ConfigError(
                f"{pipeline.where('sources', source.name, 'columns', field)}: column {column!r} "
                f"is not in source {source.name}{hint}; its columns are {listed}"
            )


def map_source(
    source: RawSource,
    pipeline: Pipeline,
    gemeenten: Gemeenten,
    *,
    on_loaded: Callable[[], None] | None = None,
) -> pl.DataFrame:
    """The wide frame: canonical columns plus `raw_<field>` texts and repair flags.

    `on_loaded` is called once the source's rows are in memory, before they are mapped.
    """
    check_columns(source, pipeline)
    name = source.name
    config = pipeline.sources[name]
    mappings = pipeline.mappings_for(name)
    fold = mappings.match == "casefold"
    repair = pipeline.repair.excel_damage
    mapped = config.mapped_columns()
    constants = config.constants.model_dump()

    schema = source.frame.collect_schema()

    def text(field: str) -> pl.Expr:
        want = pl.Categorical if field in REPEATING_FIELDS else pl.String
        if field not in mapped:
            return pl.lit(constants.get(field), pl.String).cast(want).alias(raw(field))
        value = pl.col(mapped[field])
        # An adapter may deliver the dictionary encoding already; casting again re-encodes.
        return (value if schema[mapped[field]] == want else value.cast(want)).alias(raw(field))

    # One chunk per column: later steps add one-chunk columns, and misaligned chunks would make
    # every `with_columns` re-align the whole frame.
    frame = source.frame.select(pl.col(ROW), *(text(f) for f in MAPPABLE)).collect()
    if on_loaded is not None:
        on_loaded()
    frame = frame.rechunk()
    years = [pipeline.delivery.year]
    if pipeline.delivery.with_previous_year:
        years.append(pipeline.delivery.year - 1)

    dates = config.dates
    interpret = {
        "gemeente": _gemeente_lookup(mappings.gemeente, fold, repair, gemeenten, years),
        "type_opvang": _code_lookup(
            "type_opvang", mappings.type_opvang, TYPE_OPVANG, fold, repair, missing=3, unmapped=4
        ),
        "reden": _code_lookup(
            "reden", mappings.reden, REDEN_BEEINDIGING, fold, repair, missing=None, unmapped=8
        ),
        "status": _label_lookup(mappings.status, fold),
        **{
            f: _date_lookup(f, [*dates.get(f, dates.get("default", [])), *ISO_FORMATS])
            for f in DATE_FIELDS
        },
    }
    derived = [
        column
        for field, build in interpret.items()
        for column in _per_value(
            frame, field, build, constant=None if field in mapped else constants.get(field)
        )
    ]
    frame = frame.with_columns(derived)
    if config.granularity == "night":
        frame = frame.with_columns(startdatum=pl.col("datum"), einddatum=pl.col("datum"))

    bsn_text = frame.get_column(raw("bsn"))
    bsn, bsn_repaired = _repair_bsn(bsn_text) if repair else (bsn_text, None)
    v_nummer = frame.get_column(raw("v_nummer"))
    if repair:
        v_nummer, _ = _only_where_needed(
            v_nummer,
            _V_NUMMER.width,
            lambda e: e.str.strip_chars().str.replace(_DECIMAL_ZERO, "$1"),
        )
    wide = frame.with_columns(
        source=pl.lit(name),
        source_row=pl.col(ROW),
        granularity=pl.lit(config.granularity),
        bsn=bsn,
        bsn_repaired=bsn_repaired if bsn_repaired is not None else pl.lit(False),
        v_nummer=v_nummer,
        client_id=pl.col(raw("client_id")),
    )
    return _outcome(wide, config.granularity)


def _per_value(
    frame: pl.DataFrame,
    field: str,
    build: Callable[[pl.Expr], list[pl.Expr]],
    *,
    constant: str | None = None,
) -> list[pl.Series | pl.Expr]:
    """Interpret each distinct value of `raw_<field>` once; spread the results over the rows.

    The raw column is Categorical: its physical ids index a small table of results. `build`
    yields the derived columns from the (stripped) text; a null text gives null results.
    A result that is the same on every row — a constant field, a column not mapped (all
    null), a flag that is false throughout — comes back as a literal, not as a column of
    millions of equal values. `constant`: the field's value on every row, set in the
    pipeline (`constants:`), interpreted without a look at the rows.
    """
    key = raw(field)
    values = None if constant is not None else frame.get_column(key)
    if values is None:  # the pipeline's value on every row: one value, no nulls
        distinct = pl.Series(key, [constant], dtype=pl.Categorical)
    elif values.null_count() == len(values):  # not mapped (or all empty): nothing to interpret
        distinct = pl.Series(key, [], dtype=pl.Categorical)
    else:  # integer work on the dictionary ids, not string hashing
        distinct = values.gather(values.to_physical().arg_unique()).drop_nulls()
    table = pl.DataFrame({key: distinct.cast(pl.String)}).with_columns(
        build(pl.col(key).str.strip_chars())
    )
    results = [table.get_column(c) for c in table.columns if c != key]
    # the same on every row: no value (all null), or no null row and one result for all
    no_nulls = values is None or values.null_count() == 0
    uniform = [
        distinct.is_empty() or (no_nulls and r.n_unique() == 1 and r.null_count() in (0, len(r)))
        for r in results
    ]
    spread_these = [r for r, same in zip(results, uniform, strict=True) if not same]
    spread = pl.DataFrame()
    if spread_these:
        ids = distinct.to_physical()
        slot = pl.repeat(None, int(ids.max()) + 1, dtype=pl.UInt32, eager=True).scatter(
            ids, pl.int_range(len(ids), dtype=pl.UInt32, eager=True)
        )
        # the results by dictionary id (a small table), then one gather over the rows
        spread = pl.DataFrame(spread_these)[slot][values.to_physical()]
    return [
        pl.lit(r[0] if len(r) else None, dtype=r.dtype).alias(r.name)
        if same
        else spread.get_column(r.name)
        for r, same in zip(results, uniform, strict=True)
    ]


def to_canonical(wide: pl.DataFrame) -> pl.LazyFrame:
    return canonical.conform(wide)


def _outcome(wide: pl.DataFrame, granularity: str) -> pl.DataFrame:
    """The exclusion reason and the first blocking problem of each row, from the lookups."""
    start, end = pl.col("startdatum"), pl.col("einddatum")
    v = pl.col("v_nummer")

    # Checks that cannot fire are left out (null counts are free): clean sources stay cheap.
    def has_null(column: str) -> bool:
        return wide.get_column(column).null_count() > 0

    def has_value(column: str) -> bool:
        return wide.get_column(column).null_count() < wide.height

    def has_true(column: str) -> bool:
        return bool(wide.get_column(column).any())

    excluded = [
        pl.col(f"{f}_excluded")
        for f in ("type_opvang", "gemeente", "status", "reden")
        if has_value(f"{f}_excluded")
    ]
    candidates = [
        (has_null(raw("gemeente")), pl.when(pl.col(raw("gemeente")).is_null()).then(0)),
        (has_value("gemeente_problem"), pl.col("gemeente_problem")),
        (has_null(raw("type_opvang")), pl.when(pl.col(raw("type_opvang")).is_null()).then(3)),
        (has_value("type_opvang_problem"), pl.col("type_opvang_problem")),
        (has_null("startdatum"), pl.when(start.is_null()).then(5)),
        (has_true("einddatum_bad"), pl.when(pl.col("einddatum_bad")).then(6)),
        (has_value("einddatum"), pl.when(end < start).then(7)),
        (has_value("reden_problem"), pl.col("reden_problem")),
        (has_value("v_nummer"), pl.when(~v.str.contains(_V_NUMMER.regex)).then(9)),
    ]
    checks = [expr.cast(pl.Int8) for can_fire, expr in candidates if can_fire]
    problem = pl.coalesce(checks) if checks else pl.lit(None, pl.Int8)
    wide = wide.with_columns(
        excluded=pl.coalesce(excluded) if excluded else pl.lit(None, pl.String),
        gemeentecode=pl.col("gemeente_code"),
        type_opvang=pl.col("type_opvang_code"),
        reden=pl.col("reden_code"),
        ended_unknown=(
            pl.col("status_code").is_in(["ended", "ended_unknown"]) & end.is_null()
        ).fill_null(False),
    ).with_columns(problem=pl.when(pl.col("excluded").is_null()).then(problem))
    problems = wide.get_column("problem")
    # looked up for the rejected rows only: a gather over millions of null indexes is not free
    where = problems.is_not_null().arg_true()

    def label(texts: list[str]) -> pl.Series | pl.Expr:
        if where.is_empty():  # a clean source: no column of millions of nulls
            return pl.lit(None, pl.String)
        found = pl.Series(texts).gather(problems.gather(where))
        return pl.repeat(None, wide.height, dtype=pl.String, eager=True).scatter(where, found)

    return wide.with_columns(
        reject_code=label([p[0] for p in PROBLEMS]),
        reject_field=label([p[1] for p in PROBLEMS]),
        reject_value=_reject_values(wide, granularity),
    )


def _reject_values(wide: pl.DataFrame, granularity: str) -> pl.Series | pl.Expr:
    """The offending value as found, for the rejected rows only.

    V-nummers are masked, and so is any value with a digit run that may be a BSN (a column
    shifted in the export): the value goes to the rejects file and to `preview`.
    """
    where = wide.get_column("problem").is_not_null().arg_true()
    if where.is_empty():
        return pl.lit(None, pl.String)
    values = pl.repeat(None, wide.height, dtype=pl.String, eager=True)
    picks = {
        1: pl.col(raw("gemeente")),
        2: pl.col(raw("gemeente")),
        4: pl.col(raw("type_opvang")),
        5: pl.col(raw("datum" if granularity == "night" else "startdatum")),
        6: pl.col(raw("einddatum")),
        7: pl.col(raw("einddatum")),
        8: pl.col(raw("reden")),
        9: mask_expr("v_nummer"),
    }
    chosen = pl.lit("", pl.String)
    for i, expr in picks.items():
        text = expr.cast(pl.String).fill_null("")
        chosen = pl.when(pl.col("problem") == i).then(text).otherwise(chosen)
    needed = ["problem", "v_nummer", *(raw(f) for f in MAPPABLE)]
    subset = wide.select(needed)[where].select(mask_if_digit_run(chosen)).to_series()
    return values.scatter(where, subset)


def _key(label: str, fold: bool) -> str:
    return " ".join(label.split()).lower() if fold else label.strip()


def _lookup(text: pl.Expr, table: Mapping[str, str], fold: bool) -> pl.Expr:
    if not table:
        return pl.lit(None, pl.String)
    keys = {_key(k, fold): v for k, v in table.items()}
    normal = text.str.to_lowercase().str.replace_all(r"\s+", " ") if fold else text
    return normal.replace_strict(
        list(keys), list(keys.values()), default=None, return_dtype=pl.String
    )


def _code_lookup(
    field: str,
    table: Mapping[str, str],
    codes: Mapping[str, str],
    fold: bool,
    repair: bool,
    *,
    missing: int | None,
    unmapped: int,
) -> Callable[[pl.Expr], list[pl.Expr]]:
    """A mapped label wins; else a value that already is a code (padded when Excel ate zeros).

    `missing` / `unmapped`: the index in PROBLEMS for a blank value (None: allowed) and for a
    value that maps to no code.
    """
    width = len(next(iter(codes)))

    def build(text: pl.Expr) -> list[pl.Expr]:
        by_label = _lookup(text, table, fold)
        direct = text.str.replace(_DECIMAL_ZERO, "$1").str.zfill(width) if repair else text
        code = pl.coalesce(by_label, pl.when(direct.is_in(list(codes))).then(direct))
        blank = text == ""
        problem = pl.when(code.is_null() & ~blank).then(pl.lit(unmapped, pl.Int8))
        if missing is not None:
            problem = pl.when(blank).then(pl.lit(missing, pl.Int8)).otherwise(problem)
        return [
            pl.when(code != EXCLUDE).then(code).alias(f"{field}_code"),
            pl.when(code == EXCLUDE).then(pl.lit(f"{field}: ") + text).alias(f"{field}_excluded"),
            problem.alias(f"{field}_problem"),
        ]

    return build


def _label_lookup(table: Mapping[str, str], fold: bool) -> Callable[[pl.Expr], list[pl.Expr]]:
    def build(text: pl.Expr) -> list[pl.Expr]:
        outcome = _lookup(text, table, fold)
        return [
            pl.when(outcome != EXCLUDE).then(outcome).alias("status_code"),
            pl.when(outcome == EXCLUDE).then(pl.lit("status: ") + text).alias("status_excluded"),
        ]

    return build


def _gemeente_lookup(
    table: Mapping[str, str], fold: bool, repair: bool, gemeenten: Gemeenten, years: list[int]
) -> Callable[[pl.Expr], list[pl.Expr]]:
    """Mapping first, then a known code (padded if Excel ate zeros), then a municipality name."""
    reference = gemeenten.frame
    known = reference.get_column("gemeentecode").unique().to_list()
    in_years = set().union(*(gemeenten.codes_in_year(y) for y in years))
    # A name maps to the code valid in the delivery years when there are several.
    by_name = (
        reference.with_columns(
            key=pl.col("gemeentenaam").str.to_lowercase().str.replace_all(r"\s+", " "),
            current=pl.col("gemeentecode").is_in(list(in_years)),
        )
        .sort(["current", "geldig_vanaf"], descending=True)
        .unique("key", keep="first", maintain_order=True)
    )
    names = dict(zip(by_name["key"].to_list(), by_name["gemeentecode"].to_list(), strict=True))

    def build(text: pl.Expr) -> list[pl.Expr]:
        cleaned = text.str.replace(_DECIMAL_ZERO, "$1") if repair else text
        padded = cleaned.str.zfill(_GEMEENTE) if repair else cleaned
        as_code = pl.when(
            cleaned.str.contains(rf"^[0-9]{{1,{_GEMEENTE}}}$") & padded.is_in(known)
        ).then(padded)
        by_label = _lookup(text, table, fold)
        code = pl.coalesce(by_label, as_code, _lookup(text, names, True))
        return [
            pl.when(code != EXCLUDE).then(code).alias("gemeente_code"),
            pl.when(code == EXCLUDE).then(pl.lit("gemeente: ") + text).alias("gemeente_excluded"),
            pl.when(text == "")
            .then(pl.lit(0, pl.Int8))
            .when(code.is_null() & text.str.contains(rf"^[0-9]{{1,{_GEMEENTE - 1}}}$"))
            .then(pl.lit(1, pl.Int8))
            .when(code.is_null())
            .then(pl.lit(2, pl.Int8))
            .alias("gemeente_problem"),
            (by_label.is_null() & as_code.is_not_null() & (padded != text))
            .fill_null(False)
            .alias("gemeente_repaired"),
        ]

    return build


def _date_lookup(field: str, formats: list[str]) -> Callable[[pl.Expr], list[pl.Expr]]:
    """The configured patterns in order, then ISO, then Excel serial numbers."""

    def build(text: pl.Expr) -> list[pl.Expr]:
        serial = pl.when(text.str.contains(_SERIAL)).then(
            EXCEL_EPOCH + pl.duration(days=text.str.extract(r"^(\d+)").cast(pl.Int64, strict=False))
        )
        parsed = pl.coalesce(
            *(text.str.to_date(fmt, strict=False) for fmt in dict.fromkeys(formats)), serial
        ).cast(pl.Date)
        return [parsed.alias(field), (parsed.is_null() & (text != "")).alias(f"{field}_bad")]

    return build


def _only_where_needed(
    values: pl.Series, width: int, fix: Callable[[pl.Expr], pl.Expr]
) -> tuple[pl.Series, pl.Series | pl.Expr]:
    """Apply `fix` to the few values that are not `width` digits (a length or parse check, no
    scan for characters: those are what cost on millions of rows).

    Returns the values and a flag per row telling where `fix` changed something (a literal
    False when nothing needed fixing).
    """
    unchanged = pl.lit(False)
    if values.null_count() == values.len():
        return values, unchanged
    text = pl.col(values.name)
    # the narrowest integer that holds `width` digits: it parses fastest; streamed, on every core
    number = pl.UInt32 if width <= 9 else pl.UInt64
    needed = (
        values.to_frame()
        .lazy()
        .select(
            text.is_not_null()
            & ((text.str.len_bytes() != width) | text.cast(number, strict=False).is_null())
        )
        .collect(engine="streaming")
        .to_series()
    )
    where = needed.arg_true()
    if where.is_empty():
        return values, unchanged
    subset = values.gather(where)
    fixed = pl.DataFrame({"v": subset}).select(fix(pl.col("v"))).to_series()
    changed = pl.repeat(False, values.len(), eager=True)
    return values.scatter(where, fixed), changed.scatter(where, (fixed != subset).fill_null(True))


def _repair_bsn(values: pl.Series) -> tuple[pl.Series, pl.Series | pl.Expr]:
    """'123.0' -> '123'; 8 digits (or fewer) padded with zeros when that passes the elfproef."""

    def fix(text: pl.Expr) -> pl.Expr:
        cleaned = text.str.strip_chars().str.replace(_DECIMAL_ZERO, "$1")
        padded = pad_bsn(cleaned)
        ok = cleaned.str.contains(rf"^[0-9]{{1,{_BSN - 1}}}$") & elfproef(padded)
        return pl.when(ok).then(padded).otherwise(cleaned)

    return _only_where_needed(values, _BSN, fix)
