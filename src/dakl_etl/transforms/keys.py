"""Sorting by several integer columns as one: each packed into its bits of an Int128.

A stable sort of millions of rows by three or four columns is what costs most in a run. When
the columns are integers, each needs only as many bits as its range in the data; with the row
position in the lowest bits every packed key is unique, so a plain sort of one column gives
the order of a stable multi-column sort, several times faster. One Int64 word sorts faster
still than Int128 (and packs and unpacks in cheap arithmetic): a key with a wide range but few
distinct values — a person × type × gemeente group — is replaced by its rank among them when
that makes the whole key fit one word.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

#: Int128 is signed: 127 bits hold a non-negative key; Int64 words hold 62 bits each.
_BITS = 126
_WORD = 62


def sorted_positions(frame: pl.DataFrame, keys: Sequence[pl.Expr]) -> pl.Series:
    """The row positions (Int64) of `frame` ordered by `keys` (integer expressions without
    nulls), ties in input order: the row index of `frame.sort(*keys, maintain_order=True)`.

    Keys whose ranges and the position need more than 126 bits together (not met in real
    data: dates span a few thousand days) take the multi-column sort instead.
    """
    n = frame.height
    if n == 0:
        return pl.Series("_pos", [], dtype=pl.Int64)
    bounds = frame.select(
        *(k.min().cast(pl.Int64).alias(f"lo{i}") for i, k in enumerate(keys)),
        *(k.max().cast(pl.Int64).alias(f"hi{i}") for i, k in enumerate(keys)),
    ).row(0)
    lows, highs = bounds[: len(keys)], bounds[len(keys) :]
    keys = list(keys)
    widths = [
        max(1, (hi - lo).bit_length()) if lo is not None else _BITS
        for lo, hi in zip(lows, highs, strict=True)
    ]
    w_pos = max(1, (n - 1).bit_length())
    if sum(widths) + w_pos > _WORD:
        keys, lows, widths = _ranked(frame, keys, lows, widths, _WORD - w_pos)
    if sum(widths) + w_pos > _BITS:
        positions = pl.int_range(pl.len(), dtype=pl.Int64).sort_by(keys, maintain_order=True)
        return frame.select(positions.alias("_pos")).to_series()
    fields = [
        # a field wider than a word is computed in Int128 (its difference may not fit Int64)
        ((key.cast(pl.Int64 if width <= _WORD else pl.Int128) - lo), width)
        for key, lo, width in zip(keys, lows, widths, strict=True)
    ]
    fields.append((pl.int_range(pl.len(), dtype=pl.Int64), w_pos))
    order = frame.select(_pack(fields).alias("_pos")).to_series().sort()
    return order.to_frame().select((pl.col("_pos") % (1 << w_pos)).cast(pl.Int64)).to_series()


def _ranked(
    frame: pl.DataFrame, keys: list[pl.Expr], lows: list, widths: list[int], room: int
) -> tuple[list[pl.Expr], list, list[int]]:
    """`keys` with the widest one replaced by its rank among its distinct values (which keeps
    their order) when that surely makes all fit `room` bits — there are at most as many ranks
    as rows —; else unchanged. One key at most: each rank is a hash look-up per row, which
    costs more than the Int128 sort it saves."""
    i = max(range(len(keys)), key=lambda i: widths[i])
    most = max(1, (frame.height - 1).bit_length())
    if sum(widths) - widths[i] + most > room or most >= widths[i]:
        return keys, lows, widths
    distinct = frame.select(keys[i].unique().sort()).to_series()
    ranks = pl.int_range(len(distinct), dtype=pl.Int64, eager=True)
    keys, lows, widths = list(keys), list(lows), list(widths)
    keys[i] = keys[i].replace_strict(distinct, ranks, return_dtype=pl.Int64)
    lows[i], widths[i] = 0, max(1, (len(distinct) - 1).bit_length())
    return keys, lows, widths


def _pack(fields: list[tuple[pl.Expr, int]]) -> pl.Expr:
    """Non-negative fields of the given bit widths, most significant first, as one integer.

    Neighbouring fields are combined in Int64 words of at most 62 bits (Int64 arithmetic is
    several times cheaper than Int128); only the words are combined in Int128.
    """
    words: list[tuple[pl.Expr, int]] = []
    for expr, width in fields:
        if words and words[-1][1] + width <= _WORD and width <= _WORD:
            word, bits = words[-1]
            words[-1] = (word * (1 << width) + expr, bits + width)
        else:
            words.append((expr, width))
    if len(words) == 1:
        return words[0][0]
    packed = words[0][0].cast(pl.Int128)
    for word, bits in words[1:]:
        packed = packed * (1 << bits) + word
    return packed
