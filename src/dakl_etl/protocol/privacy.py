"""Masking of personal data (BSN, V-nummer): everywhere except inside the DAKL file itself."""

from __future__ import annotations

import polars as pl

VISIBLE_DIGITS = 3


def mask(value: object) -> str:
    """`123456782` -> `******782`; short or empty values are masked whole."""
    if value is None:
        return ""
    text = str(value)
    if len(text) <= VISIBLE_DIGITS:
        return "*" * len(text)
    return "*" * (len(text) - VISIBLE_DIGITS) + text[-VISIBLE_DIGITS:]


def mask_expr(column: str | pl.Expr) -> pl.Expr:
    """The same masking as `mask`, vectorised."""
    text = (pl.col(column) if isinstance(column, str) else column).cast(pl.String)
    n = text.str.len_chars()
    return (
        pl.when(n <= VISIBLE_DIGITS)
        .then(pl.lit("*").repeat_by(n).list.join(""))
        .otherwise(
            pl.lit("*").repeat_by(n - VISIBLE_DIGITS).list.join("")
            + text.str.slice(-VISIBLE_DIGITS)
        )
    )
