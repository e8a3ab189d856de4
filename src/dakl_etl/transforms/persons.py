"""Who is who: the person key, the BSN that goes into the file, the invalid-BSN policy.

RULES.md: the person key is the BSN when valid; else the V-nummer; else the source's own
client id (scoped to that source). A row with none of these is a person of its own: two unknown
persons are never merged. The key is an integer (`person`) so that sorting and grouping millions
of rows stays cheap: a valid BSN is its own number, every other key gets a number above all BSNs.
"""

from __future__ import annotations

from typing import Literal

import polars as pl

from dakl_etl.protocol.bsn import bsn_number, elfproef
from dakl_etl.protocol.codes import UNKNOWN_BSN

InvalidBsnPolicy = Literal["reject", "unknown"]
POLICIES: tuple[str, ...] = ("reject", "unknown")

#: Person numbers at or above this are not BSNs (a BSN has 9 digits): every other key gets
#: `FIRST_OTHER_PERSON + its rank`, so all person numbers stay below 2·10⁹ for < 10⁹ rows.
FIRST_OTHER_PERSON = 1_000_000_000

#: `group` = person × this + TypeOpvang × 10⁴ + gemeentecode (see `episodes.group_key`)
GROUP_PERSON = 100_000_000

_SEP = "\x1f"  # cannot occur in a source name, client id or V-nummer


def bsn_status() -> pl.Expr:
    """`valid`, `unknown` (absent or 999999999) or `invalid` (present, fails R05/R06)."""
    return (
        pl.when(elfproef("bsn"))
        .then(pl.lit("valid"))
        .when(_bsn_unknown())
        .then(pl.lit("unknown"))
        .otherwise(pl.lit("invalid"))
    )


def _bsn_unknown() -> pl.Expr:
    bsn = pl.col("bsn")
    return (bsn.is_null() | (bsn == UNKNOWN_BSN) | (bsn == "")).fill_null(True)


def bsn_rule() -> pl.Expr:
    """R05 (not 9 digits) or R06 (fails the elfproef), for rows already known to be invalid."""
    return (
        pl.when(pl.col("bsn").str.contains(r"^\d{9}$")).then(pl.lit("R06")).otherwise(pl.lit("R05"))
    )


#: The keys of a source's persons without a valid BSN: their number within the source
#: (`person`) and the key as text; `number_other_persons` numbers them across sources.
OTHER_KEYS_SCHEMA = {"person": pl.Int64, "other_key": pl.String}


def assign_persons(
    rows: pl.DataFrame, *, invalid_bsn: InvalidBsnPolicy = "reject"
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`rows` (one source's canonical frame) with `person` (Int64), `bsn_invalid` and
    `bsn_rejected` added; and the source's other keys (`OTHER_KEYS_SCHEMA`).

    The BSN the file carries follows from `person`: below `FIRST_OTHER_PERSON` it is the BSN
    itself, above it the person is delivered as 999999999.

    `person` is final for a valid BSN. Every other key — V-nummer, else client id within its
    source, else the row itself (a person of its own) — is numbered here within the source
    only (`FIRST_OTHER_PERSON` + its rank), and the keys come back as a small table, not as a
    text column of every row: `number_other_persons` renumbers them across sources once the
    rows are reduced to registrations. Only those rows (a few percent) are touched: their
    keys are gathered, ranked and scattered back. Rows already rejected (or excluded) are not
    keyed, as they never become registrations: their `person` is whatever number the BSN
    text reads as, or null.

    Under `reject`, a row whose BSN is present but invalid and that has no earlier
    `reject_code` gets `bsn_rejected` (its rule, R05 or R06, is `bsn_rule()`; the rejects file
    resolves it, so the text columns of millions of rows are not rewritten here). Under
    `unknown` it is delivered as 999999999 and keyed by its V-nummer or client id.
    """
    if invalid_bsn not in POLICIES:
        raise ValueError(f"invalid_bsn policy must be one of {POLICIES}, not {invalid_bsn!r}")
    # lazily: the BSN text is parsed once and shared by the elfproef and the person number
    checks = (
        rows.lazy()
        .select("bsn", _number=bsn_number("bsn"))
        .select(
            valid=elfproef("bsn", number=pl.col("_number")),
            unknown=_bsn_unknown(),
            number=pl.col("_number").cast(pl.Int64),
        )
        .collect()
    )
    valid = checks.get_column("valid")
    invalid = ~valid & ~checks.get_column("unknown")
    rejected = (
        invalid & rows.get_column("reject_code").is_null()
        if invalid_bsn == "reject"
        else pl.repeat(False, rows.height, eager=True)
    )
    # keys only for rows that may still be delivered: a rejected or excluded row needs none
    keyed = ~valid & ~rejected & rows.get_column("reject_code").is_null()
    where = (keyed & rows.get_column("excluded").is_null()).arg_true()
    person = checks.drop_in_place("number")  # its only owner now: `scatter` needs no copy
    del checks
    others = pl.DataFrame(schema=OTHER_KEYS_SCHEMA)
    if not where.is_empty():
        keys = (
            rows.select("v_nummer", "client_id", "source", "source_row")[where]
            .select(_other_key())
            .to_series()
        )
        # dense ranks by way of the distinct keys (a fraction of the rows): sort those, look up
        distinct = keys.unique().sort()
        numbers = pl.int_range(len(distinct), dtype=pl.Int64, eager=True) + FIRST_OTHER_PERSON + 1
        person = person.scatter(where, keys.replace_strict(distinct, numbers))
        others = pl.DataFrame([numbers.alias("person"), distinct])
    return rows.with_columns(
        person.alias("person"), invalid.alias("bsn_invalid"), rejected.alias("bsn_rejected")
    ), others


def _other_key() -> pl.Expr:
    """The person key of a row without a valid BSN, as text: `V` + V-nummer, else `C` + source
    + client id, else `R` + source + line (nobody else's)."""
    v_nummer = pl.col("v_nummer")
    client = (
        pl.when(v_nummer.is_null()).then(pl.col("client_id")).str.strip_chars().replace("", None)
    )
    no_key = v_nummer.is_null() & client.is_null()
    return pl.coalesce(
        pl.concat_str(pl.lit("V"), v_nummer, separator=_SEP),
        pl.concat_str(
            pl.lit("C"),
            pl.when(client.is_not_null()).then(pl.col("source")),
            client,
            separator=_SEP,
        ),
        pl.concat_str(
            pl.lit("R"),
            pl.when(no_key).then(pl.col("source")),
            pl.when(no_key).then(pl.col("source_row")).cast(pl.String),
            separator=_SEP,
        ),
    ).alias("other_key")


def number_other_persons(
    regs: pl.DataFrame, others: pl.DataFrame, *, source: str = "_src"
) -> pl.DataFrame:
    """`regs` with the persons without a valid BSN numbered across all sources:
    `FIRST_OTHER_PERSON` + the rank of their key, and `group` (where there is one) again with
    that number.

    `others`: every source's other keys (`OTHER_KEYS_SCHEMA` plus `source`, the source's
    position) — `person` there and in `regs` is the number within that source. A V-nummer is
    one person in every source; a client id or a row stays within its source (its key says
    so). Ranks keep the keys' order, as the per-source numbers did.
    """
    if regs.is_empty():
        return regs
    where = (regs.get_column("person") >= FIRST_OTHER_PERSON).arg_true()
    if where.is_empty():
        return regs
    if others.is_empty():
        raise ValueError(
            "number_other_persons: persons without a valid BSN but no keys to number them by "
            "(give every source's `others` from assign_persons)"
        )
    # (source, number within it) as one integer: a look-up on the few rows concerned
    local = pl.col(source).cast(pl.Int64) * (1 << 32) + pl.col("person") - FIRST_OTHER_PERSON
    table = others.select(
        local.alias("local"),
        (pl.col("other_key").rank("dense").cast(pl.Int64) + FIRST_OTHER_PERSON).alias("number"),
    )
    numbers = (
        regs.select(source, "person")[where]
        .select(local.replace_strict(table["local"], table["number"], return_dtype=pl.Int64))
        .to_series()
    )
    person = regs.get_column("person").scatter(where, numbers)
    if "group" not in regs.columns:
        return regs.with_columns(person.alias("person"))
    # the group again with the new number, on those rows only
    kind = regs.get_column("group").gather(where) % GROUP_PERSON
    group = regs.get_column("group").scatter(where, numbers * GROUP_PERSON + kind)
    return regs.with_columns(person.alias("person"), group.alias("group"))
