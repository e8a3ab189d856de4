"""The elfproef for BSNs, as a vectorised Polars expression and for single values.

`is_valid_bsn` is python-stdnum's verdict (the reference); `elfproef` is the fast form used on
frames. A property test checks that the two agree.
"""

from __future__ import annotations

from functools import cache

import polars as pl
from stdnum.nl import bsn as _stdnum_bsn

_WEIGHTS = (9, 8, 7, 6, 5, 4, 3, 2, -1)


def is_valid_bsn(value: str) -> bool:
    """A real BSN: 9 digits, passes the elfproef, not 000000000 (999999999 is *not* valid)."""
    return (
        len(value) == 9
        and value.isascii()
        and value.isdigit()
        and value != "000000000"
        and _stdnum_bsn.is_valid(value)
    )


@cache
def _partial_sums() -> tuple[pl.Series, pl.Series]:
    """Weighted digit sums of every 4-digit head and 5-digit tail of a BSN (lookup tables)."""
    head = pl.int_range(0, 10_000, eager=True)
    tail = pl.int_range(0, 100_000, eager=True)
    head_sum = sum(((head // 10 ** (3 - i)) % 10) * w for i, w in enumerate(_WEIGHTS[:4]))
    tail_sum = sum(((tail // 10 ** (4 - i)) % 10) * w for i, w in enumerate(_WEIGHTS[4:]))
    return head_sum.cast(pl.Int32), tail_sum.cast(pl.Int32)


def bsn_number(column: str | pl.Expr) -> pl.Expr:
    """The text as an unsigned integer (null where it is not one): parsed once, it serves
    `elfproef` (`number=`) and whoever needs the number too."""
    text = pl.col(column) if isinstance(column, str) else column
    return text.cast(pl.UInt32, strict=False)


def elfproef(column: str | pl.Expr, *, number: pl.Expr | None = None) -> pl.Expr:
    """True where the text value is a valid BSN, False otherwise (null input gives False).

    The weighted digit sum is two table look-ups (head and tail of the number) instead of nine
    digit extractions. "Nine digits" is checked without a regex: nine bytes that parse as an
    unsigned integer are nine digits, except a leading `+` (the parser accepts a sign). The
    number is never null (0 fails anyway), so the look-ups take no null-masking path; the
    modulo keeps the index in range for longer values that are rejected by the length test.

    `number`: `bsn_number(column)` when the caller has it already. The number is used three
    times, and eager `select`s do not share subexpressions: on millions of rows pass it as a
    column (`with_columns` first), or collect lazily.
    """
    text = pl.col(column) if isinstance(column, str) else column
    number = (bsn_number(text) if number is None else number).fill_null(0)
    shaped = (text.str.len_bytes() == 9) & ~text.str.starts_with("+") & (number != 0)
    head_sum, tail_sum = _partial_sums()
    checksum = pl.lit(head_sum).gather(number // 100_000 % 10_000) + pl.lit(tail_sum).gather(
        number % 100_000
    )
    valid = (shaped & (checksum % 11 == 0)).fill_null(False)
    try:
        return valid.alias(text.meta.output_name())
    except pl.exceptions.ComputeError:  # an expression without one root column
        return valid


def pad_bsn(column: str | pl.Expr) -> pl.Expr:
    """8-digit values that lost their leading zero in Excel, padded back to 9 digits."""
    text = pl.col(column) if isinstance(column, str) else column
    return pl.when(text.str.contains(r"^[0-9]{1,8}$")).then(text.str.zfill(9)).otherwise(text)
