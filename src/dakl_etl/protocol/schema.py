"""The row rules (R01–R20) as vectorised Polars expressions, and a pandera schema over them.

Each field has an ordered chain of (rule id, condition): the first condition that holds names
the one finding for that value — the precedences of RULES.md "Which rule when several could
apply" are this order. Conditions assume the nine fields as text with "" for an absent value.
Most read only their own field; the few that read others too are marked (`Across`). The
validator judges the own-field steps once per distinct value (`value_findings`: a file of a
million rows has a few thousand dates, a handful of codes) and only the `Across` steps per
row (`row_finding`); `field_finding` is the whole chain on every row, and `pandera_schema`
wraps that as pandera checks, named by rule id.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection
from dataclasses import dataclass

import polars as pl

from dakl_etl.protocol.bsn import elfproef
from dakl_etl.protocol.codes import REDEN_BEEINDIGING, TYPE_OPVANG, UNKNOWN_BSN
from dakl_etl.protocol.fields import DATE_FORMAT, DATETIME_FORMAT, FIELD_BY_KEY, FIELDS

#: Excel's rendering of a long number: 2,01804E+11, 2.02E+11, 9.12E8
SCIENTIFIC = r"^\s*[0-9]+([.,][0-9]+)?[eE][+-]?[0-9]+\s*$"
NON_DIGIT = r"[^0-9]"


@dataclass(frozen=True)
class Context:
    """What the rules need besides the row: the reporting year and the municipality codes."""

    year: int | None  # None: the year-dependent checks (R04's year, R12, R15) are not judged
    gemeentecodes: Collection[str]  # codes valid in `year` (or ever, when the year is unknown)


def _col(key: str) -> pl.Expr:
    return pl.col(key)


def _empty(key: str) -> pl.Expr:
    return _col(key) == ""


# Written as "no non-digit and the right length" rather than one anchored regex per rule, so
# the optimiser computes the one regex per field once for the whole chain.
def _non_digit(key: str) -> pl.Expr:
    return _col(key).str.contains(NON_DIGIT)


def _digits(key: str) -> pl.Expr:
    """Exactly the field's width in ASCII digits."""
    return (_col(key).str.len_bytes() == FIELD_BY_KEY[key].width) & ~_non_digit(key)


def parsed_date(key: str) -> pl.Expr:
    """The field as a Date where it is 8 digits forming a real date, else null."""
    return (
        pl.when(_digits(key)).then(_col(key).str.to_date(DATE_FORMAT, strict=False)).otherwise(None)
    )


def parsed_datetime(key: str) -> pl.Expr:
    return (
        pl.when(_digits(key))
        .then(_col(key).str.to_datetime(DATETIME_FORMAT, strict=False))
        .otherwise(None)
    )


Condition = Callable[[Context], pl.Expr]
#: The parsed date of a field (`parsed_date`, or a column holding it already).
DateOf = Callable[[str], pl.Expr]


@dataclass(frozen=True)
class Across:
    """A step of a field's chain that reads other fields too (R07, R09, R14, R17).

    Every other step reads only its own field, so it can be judged once per distinct value;
    these are judged on each row. `condition(ctx, date_of)` reads dates through `date_of`.
    """

    rule: str
    condition: Callable[[Context, DateOf], pl.Expr]


Step = tuple[str, Condition] | Across


def _chains() -> dict[str, tuple[Step, ...]]:
    def year_end(ctx: Context) -> pl.Expr:
        return pl.lit(dt.date(ctx.year, 12, 31)) if ctx.year else pl.lit(None, pl.Date)

    def year_start(ctx: Context) -> pl.Expr:
        return pl.lit(dt.date(ctx.year, 1, 1)) if ctx.year else pl.lit(None, pl.Date)

    return {
        "aanmaakdatum": (
            ("R19", lambda c: _empty("aanmaakdatum")),
            ("R02", lambda c: _col("aanmaakdatum").str.contains(SCIENTIFIC)),
            ("R20", lambda c: _non_digit("aanmaakdatum")),
            ("R01", lambda c: parsed_datetime("aanmaakdatum").is_null()),
        ),
        "gemeentecode": (
            ("R19", lambda c: _empty("gemeentecode")),
            ("R20", lambda c: _non_digit("gemeentecode")),
            ("R03", lambda c: ~_digits("gemeentecode")),
            ("R04", lambda c: ~_col("gemeentecode").is_in(sorted(c.gemeentecodes))),
        ),
        "bsn": (
            ("R19", lambda c: _empty("bsn")),
            ("R20", lambda c: _non_digit("bsn")),
            ("R05", lambda c: ~_digits("bsn")),
            ("R06", lambda c: ~(elfproef("bsn") | (_col("bsn") == UNKNOWN_BSN))),
            Across("R07", lambda c, d: (_col("bsn") == UNKNOWN_BSN) & _empty("v_nummer")),
        ),
        "datum_melding": (
            ("R08", lambda c: ~_empty("datum_melding") & parsed_date("datum_melding").is_null()),
            Across("R09", lambda c, d: (d("datum_melding") > d("startdatum")).fill_null(False)),
        ),
        "type_opvang": (
            ("R19", lambda c: _empty("type_opvang")),
            ("R20", lambda c: _non_digit("type_opvang")),
            ("R10", lambda c: ~_col("type_opvang").is_in(list(TYPE_OPVANG))),
        ),
        "startdatum": (
            ("R19", lambda c: _empty("startdatum")),
            ("R20", lambda c: _non_digit("startdatum")),
            ("R11", lambda c: parsed_date("startdatum").is_null()),
            ("R12", lambda c: (parsed_date("startdatum") > year_end(c)).fill_null(False)),
        ),
        "einddatum": (
            ("R20", lambda c: _non_digit("einddatum")),
            ("R13", lambda c: ~_empty("einddatum") & parsed_date("einddatum").is_null()),
            Across("R14", lambda c, d: (d("einddatum") < d("startdatum")).fill_null(False)),
            ("R15", lambda c: (parsed_date("einddatum") < year_start(c)).fill_null(False)),
        ),
        "reden": (
            ("R20", lambda c: _non_digit("reden")),
            ("R16", lambda c: ~_empty("reden") & ~_col("reden").is_in(list(REDEN_BEEINDIGING))),
            Across("R17", lambda c, d: ~_empty("reden") & _empty("einddatum")),
        ),
        "v_nummer": (
            ("R20", lambda c: _non_digit("v_nummer")),
            ("R18", lambda c: ~_empty("v_nummer") & ~_digits("v_nummer")),
        ),
    }


#: field key -> ordered steps (rule id, condition) or `Across`; the first that holds is the
#: field's finding.
ROW_RULES: dict[str, tuple[Step, ...]] = _chains()

#: Rule ids each field can raise, in precedence order (for docs and tests).
RULES_BY_FIELD: dict[str, tuple[str, ...]] = {
    key: tuple(s.rule if isinstance(s, Across) else s[0] for s in chain)
    for key, chain in ROW_RULES.items()
}

#: The fields whose parsed date an `Across` step may read (`row_finding`'s `_date_<key>`).
DATE_KEYS: tuple[str, ...] = tuple(f.key for f in FIELDS if f.kind == "date")


def _first(steps: list[tuple[str, pl.Expr]]) -> pl.Expr:
    """The rule of the first condition that holds (a null condition does not), else null."""
    if not steps:
        return pl.lit(None, pl.String)
    (code, condition), *rest = steps
    expr = pl.when(condition).then(pl.lit(code))
    for code, condition in rest:
        expr = expr.when(condition).then(pl.lit(code))
    return expr.otherwise(pl.lit(None, pl.String))


def _runs(key: str) -> list[list[tuple[str, Condition]]]:
    """The chain of `key` cut at its `Across` steps: the runs of own-field steps around them."""
    runs: list[list[tuple[str, Condition]]] = [[]]
    for step in ROW_RULES[key]:
        if isinstance(step, Across):
            runs.append([])
        else:
            runs[-1].append(step)
    return runs


def _own(run: list[tuple[str, Condition]], ctx: Context) -> pl.Expr:
    return _first([(code, condition(ctx)) for code, condition in run])


def _chain(
    key: str, ctx: Context, run_finding: Callable[[int], pl.Expr], date_of: DateOf
) -> pl.Expr:
    """The chain of `key` as one expression: the finding of each run of own-field steps
    (`run_finding(i)`, null when none holds) with the `Across` steps between them judged
    in place."""
    across = [step for step in ROW_RULES[key] if isinstance(step, Across)]
    expr = run_finding(0)
    for i, step in enumerate(across, start=1):
        here = pl.when(step.condition(ctx, date_of)).then(pl.lit(step.rule))
        expr = pl.coalesce(expr, here, run_finding(i))
    return expr


def field_finding(key: str, ctx: Context) -> pl.Expr:
    """The rule id of the one finding for this field on each row, or null when it is fine."""
    runs = _runs(key)
    return _chain(key, ctx, lambda i: _own(runs[i], ctx), parsed_date).alias(key)


def value_findings(key: str, ctx: Context) -> list[pl.Expr]:
    """What `row_finding` reads, judged on a frame of the distinct values of `key` (a column
    named `key`): the finding of each run of own-field steps (`_<key>_<i>`) and, for a date
    field, its parsed date (`_date_<key>`)."""
    runs = _runs(key)
    own = [_own(run, ctx).alias(f"_{key}_{i}") for i, run in enumerate(runs)]
    return own + ([parsed_date(key).alias(f"_date_{key}")] if key in DATE_KEYS else [])


def row_finding(key: str, ctx: Context) -> pl.Expr:
    """`field_finding` from the columns `value_findings` made for every field: only the
    `Across` steps are judged on the row, the rest was judged once per distinct value."""

    def run_finding(i: int) -> pl.Expr:
        return pl.col(f"_{key}_{i}")

    return _chain(key, ctx, run_finding, lambda k: pl.col(f"_date_{k}")).alias(key)


def pandera_schema(ctx: Context):
    """The row rules as a pandera (polars) schema: one check per rule, named by its id.

    A check passes where its rule is not the field's finding, so pandera's failure cases are
    exactly the validator's findings. Never show pandera's messages: they carry values.
    """
    import pandera.polars as pa

    def check(key: str, code: str) -> pa.Check:
        return pa.Check(
            lambda data: data.lazyframe.select(
                (field_finding(key, ctx) != code).fill_null(True).alias(key)
            ),
            name=code,
        )

    return pa.DataFrameSchema(
        {
            f.key: pa.Column(str, checks=[check(f.key, code) for code in RULES_BY_FIELD[f.key]])
            for f in FIELDS
        },
        strict=False,
    )
