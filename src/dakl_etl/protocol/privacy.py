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
    """The same masking as `mask`, vectorised; keeps the column's name."""
    text = (pl.col(column) if isinstance(column, str) else column).cast(pl.String)
    n = text.str.len_chars()
    return (
        pl.when(n <= VISIBLE_DIGITS)
        .then(text.str.replace_all(r"(?s).", "*"))
        .otherwise(text.str.slice(-VISIBLE_DIGITS).str.pad_start(n, "*"))
    )
