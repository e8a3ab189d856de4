"""Who is who: the person key, the BSN that goes into the file, the invalid-BSN policy.

RULES.md: the person key is the BSN when valid; else the V-nummer; else the source's own
client id (scoped to that source). A row with none of these is a person of its own: two unknown
persons are never merged. The key is an integer (`person`) so that sorting and grouping millions
of rows stays cheap: a valid BSN is its own number, every other key gets a number above all BSNs.
"""

from __future__ import annotations

from typing import Literal

import polars as pl

from dakl_etl.protocol.bsn import elfproef
from dakl_etl.protocol.codes import UNKNOWN_BSN

InvalidBsnPolicy = Literal["reject", "unknown"]
POLICIES: tuple[str, ...] = ("reject", "unknown")

#: Person numbers at or above this are not BSNs (a BSN has 9 digits): every other key gets
#: `FIRST_OTHER_PERSON + its rank`, so all person numbers stay below 2·10⁹ for < 10⁹ rows.
FIRST_OTHER_PERSON = 1_000_000_000

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


def assign_persons(
    frame: pl.LazyFrame, *, invalid_bsn: InvalidBsnPolicy = "reject"
) -> pl.LazyFrame:
    """Add `person` (Int64 key), `bsn_invalid` and `bsn_rejected` (booleans).

    The BSN the file carries follows from `person`: below `FIRST_OTHER_PERSON` it is the BSN
    itself, above it the person is delivered as 999999999.

    Under `reject`, a row whose BSN is present but invalid and that has no earlier
    `reject_code` gets `bsn_rejected` (its rule, R05 or R06, is `bsn_rule()`; the rejects file
    resolves it, so the text columns of millions of rows are not rewritten here). Under
    `unknown` it is delivered as 999999999 and keyed by its V-nummer or client id.
    """
    if invalid_bsn not in POLICIES:
        raise ValueError(f"invalid_bsn policy must be one of {POLICIES}, not {invalid_bsn!r}")
    frame = frame.with_columns(_valid=elfproef("bsn")).with_columns(
        bsn_invalid=~pl.col("_valid") & ~_bsn_unknown()
    )
    valid = pl.col("_valid")
    rejected = (
        (pl.col("bsn_invalid") & pl.col("reject_code").is_null())
        if (invalid_bsn == "reject")
        else pl.lit(False)
    )
    # One dictionary for every key that is not a BSN, built and ranked only on those rows (a
    # few percent): V-nummer, else client id within its source, else the row itself (a person
    # of its own). The ranks of that subset are spread back by the running count of its rows.
    other = ~valid

    def sub(column: str) -> pl.Expr:
        return pl.col(column).filter(other)

    v_nummer = sub("v_nummer")
    client = pl.when(v_nummer.is_null()).then(sub("client_id")).str.strip_chars().replace("", None)
    no_key = v_nummer.is_null() & client.is_null()
    other_key = pl.coalesce(
        pl.concat_str(pl.lit("V"), v_nummer, separator=_SEP),
        pl.concat_str(
            pl.lit("C"),
            pl.when(client.is_not_null()).then(sub("source")),
            client,
            separator=_SEP,
        ),
        pl.concat_str(
            pl.lit("R"),
            pl.when(no_key).then(sub("source")),
            pl.when(no_key).then(sub("source_row")).cast(pl.String),
            separator=_SEP,
        ),
    )
    # a leading 0 keeps the gather in range when every BSN is valid (the subset is empty)
    ranks = pl.lit(0, pl.Int64).append(other_key.rank("dense").cast(pl.Int64))
    person = (
        pl.when(valid)
        .then(pl.col("bsn").cast(pl.Int64, strict=False))
        .otherwise(ranks.gather(other.cum_sum()) + FIRST_OTHER_PERSON)
    )
    return frame.with_columns(person=person, bsn_rejected=rejected).drop("_valid")
