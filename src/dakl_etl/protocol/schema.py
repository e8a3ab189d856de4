"""The row rules (R01–R20) as vectorised Polars expressions, and a pandera schema over them.

Each field has an ordered chain of (rule id, condition): the first condition that holds names
the one finding for that value — the precedences of RULES.md "Which rule when several could
apply" are this order. Conditions assume the nine fields as text with "" for an absent value.
The validator evaluates the chains directly (one `when/then` per field, fast on millions of
rows); `pandera_schema` wraps the very same expressions as pandera checks, named by rule id.
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


def _chains() -> dict[str, tuple[tuple[str, Condition], ...]]:
    start, end, melding = (parsed_date(k) for k in ("startdatum", "einddatum", "datum_melding"))

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
            ("R07", lambda c: (_col("bsn") == UNKNOWN_BSN) & _empty("v_nummer")),
        ),
        "datum_melding": (
            ("R08", lambda c: ~_empty("datum_melding") & melding.is_null()),
            ("R09", lambda c: (melding > start).fill_null(False)),
        ),
        "type_opvang": (
            ("R19", lambda c: _empty("type_opvang")),
            ("R20", lambda c: _non_digit("type_opvang")),
            ("R10", lambda c: ~_col("type_opvang").is_in(list(TYPE_OPVANG))),
        ),
        "startdatum": (
            ("R19", lambda c: _empty("startdatum")),
            ("R20", lambda c: _non_digit("startdatum")),
            ("R11", lambda c: start.is_null()),
            ("R12", lambda c: (start > year_end(c)).fill_null(False)),
        ),
        "einddatum": (
            ("R20", lambda c: _non_digit("einddatum")),
            ("R13", lambda c: ~_empty("einddatum") & end.is_null()),
            ("R14", lambda c: (end < start).fill_null(False)),
            ("R15", lambda c: (end < year_start(c)).fill_null(False)),
        ),
        "reden": (
            ("R20", lambda c: _non_digit("reden")),
            ("R16", lambda c: ~_empty("reden") & ~_col("reden").is_in(list(REDEN_BEEINDIGING))),
            ("R17", lambda c: ~_empty("reden") & _empty("einddatum")),
        ),
        "v_nummer": (
            ("R20", lambda c: _non_digit("v_nummer")),
            ("R18", lambda c: ~_empty("v_nummer") & ~_digits("v_nummer")),
        ),
    }


#: field key -> ordered (rule id, condition); the first that holds is the field's finding.
ROW_RULES: dict[str, tuple[tuple[str, Condition], ...]] = _chains()

#: Rule ids each field can raise, in precedence order (for docs and tests).
RULES_BY_FIELD: dict[str, tuple[str, ...]] = {
    key: tuple(code for code, _ in chain) for key, chain in ROW_RULES.items()
}


def field_finding(key: str, ctx: Context) -> pl.Expr:
    """The rule id of the one finding for this field on each row, or null when it is fine."""
    chain = ROW_RULES[key]
    expr = pl.when(chain[0][1](ctx)).then(pl.lit(chain[0][0]))
    for code, condition in chain[1:]:
        expr = expr.when(condition(ctx)).then(pl.lit(code))
    return expr.otherwise(pl.lit(None, pl.String)).alias(key)


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
