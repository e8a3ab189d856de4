"""Masking of personal data (BSN, V-nummer): everywhere except inside the DAKL file itself."""

from __future__ import annotations

import re

import polars as pl

VISIBLE_DIGITS = 3
#: A run of digits long enough to be a BSN (9) or V-nummer (10), or one that lost a leading
#: zero (8). `\d`, not [0-9], on purpose: a number in another script is masked too.
DIGIT_RUN = re.compile(r"\d{8,}")


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
    shown = pl.when(n > VISIBLE_DIGITS).then(text.str.slice(-VISIBLE_DIGITS)).otherwise(pl.lit(""))
    return shown.str.pad_start(n, "*")


def mask_digit_runs(text: str | None) -> str:
    """Free text (a label, a column name, a library's error) with every `DIGIT_RUN` masked."""
    return DIGIT_RUN.sub(lambda m: mask(m.group()), text or "")


def mask_if_digit_run(column: str | pl.Expr) -> pl.Expr:
    """The value masked whole (`mask_expr`) where it holds a `DIGIT_RUN`, else as it is.

    For columns that are not personal by definition but may hold a BSN all the same: a
    client number, or a label column shifted in an export.
    """
    text = (pl.col(column) if isinstance(column, str) else column).cast(pl.String)
    return pl.when(text.str.contains(DIGIT_RUN.pattern)).then(mask_expr(text)).otherwise(text)
