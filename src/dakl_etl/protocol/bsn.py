"""The elfproef for BSNs, as a vectorised Polars expression and for single values.

`is_valid_bsn` is python-stdnum's verdict (the reference); `elfproef` is the fast form used on
frames. A property test checks that the two agree.
"""

from __future__ import annotations

import polars as pl
from stdnum.nl import bsn as _stdnum_bsn

from dakl_etl.protocol.codes import UNKNOWN_BSN

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


def elfproef(column: str | pl.Expr) -> pl.Expr:
    """True where the text value is a valid BSN, False otherwise (null input gives False).

    Works on the digits of the integer value (one cast, arithmetic only), so it stays
    vectorised on millions of rows.
    """
    text = pl.col(column) if isinstance(column, str) else column
    shaped = text.str.contains(r"^\d{9}$")
    number = pl.when(shaped).then(text).otherwise(None).cast(pl.Int64, strict=False)
    checksum = pl.sum_horizontal(
        (number // 10 ** (8 - i) % 10) * w for i, w in enumerate(_WEIGHTS)
    )
    return ((checksum % 11 == 0) & (number != 0)).fill_null(False) & shaped.fill_null(False)


def is_unknown_bsn(column: str | pl.Expr) -> pl.Expr:
    text = pl.col(column) if isinstance(column, str) else column
    return text == UNKNOWN_BSN


def pad_bsn(column: str | pl.Expr) -> pl.Expr:
    """8-digit values that lost their leading zero in Excel, padded back to 9 digits."""
    text = pl.col(column) if isinstance(column, str) else column
    return pl.when(text.str.contains(r"^\d{1,8}$")).then(text.str.zfill(9)).otherwise(text)
