"""Sorting by several integer columns as one: each packed into its bits of one integer.

A stable sort of millions of rows by three or four columns is what costs most in a run. When
the columns are integers, each needs only as many bits as its range in the data; with the row
position in the lowest bits every packed key is unique, so a plain sort of one column (Int64,
or Int128 where the bits need it) gives the order of a stable multi-column sort, several times
faster. One Int64 word sorts faster still than Int128 (and packs and unpacks in cheap
arithmetic): a key with a wide range but few distinct values — a person × type × gemeente
group — is replaced by its rank among them when that makes the whole key fit one word.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

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
    keyed = {f"_k{i}": k for i, k in enumerate(keys)}
    return _sorted(frame, keyed, values=False).get_column("_pos")


def sorted_keys(frame: pl.DataFrame, keys: Mapping[str, pl.Expr]) -> pl.DataFrame:
    """`_pos` (`sorted_positions`) and each key's value (Int64) in that order.

    Where the key packs into one Int64 word, the values are unpacked from the sorted word —
    arithmetic on one column — instead of gathered from `frame` at random positions.
    """
    return _sorted(frame, keys, values=True)


def _sorted(frame: pl.DataFrame, keys: Mapping[str, pl.Expr], *, values: bool) -> pl.DataFrame:
    """`_pos`, and with `values` the keys' values (see `sorted_keys`)."""
    names, exprs = list(keys), list(keys.values())
    n = frame.height
    if n == 0:
        return pl.DataFrame(schema=dict.fromkeys(["_pos", *(names if values else [])], pl.Int64))
    bounds = frame.select(
        *(k.min().cast(pl.Int64).alias(f"lo{i}") for i, k in enumerate(exprs)),
        *(k.max().cast(pl.Int64).alias(f"hi{i}") for i, k in enumerate(exprs)),
    ).row(0)
    lows, highs = list(bounds[: len(exprs)]), bounds[len(exprs) :]
    widths = [
        max(1, (hi - lo).bit_length()) if lo is not None else _BITS
        for lo, hi in zip(lows, highs, strict=True)
    ]
    w_pos = max(1, (n - 1).bit_length())
    packed = list(exprs)
    ranked: dict[int, pl.Series] = {}
    if sum(widths) + w_pos > _WORD:
        ranked = _ranked(frame, packed, lows, widths, _WORD - w_pos)
    if sum(widths) + w_pos > _BITS:
        positions = pl.int_range(pl.len(), dtype=pl.Int64).sort_by(exprs, maintain_order=True)
        positions = frame.select(positions.alias("_pos")).to_series()
        return _gathered(frame, positions, names, exprs) if values else positions.to_frame()
    fields = [
        # a field wider than a word is computed in Int128 (its difference may not fit Int64)
        ((key.cast(pl.Int64 if width <= _WORD else pl.Int128) - lo), width)
        for key, lo, width in zip(packed, lows, widths, strict=True)
    ]
    fields.append((pl.int_range(pl.len(), dtype=pl.Int64), w_pos))
    order = frame.select(_pack(fields).alias("_w")).to_series().sort()
    position = (pl.col("_w") % (1 << w_pos)).cast(pl.Int64).alias("_pos")
    if not values:
        return order.to_frame().select(position)
    if sum(widths) + w_pos > _WORD:
        return _gathered(frame, order.to_frame().select(position).to_series(), names, exprs)
    shifts = [w_pos + sum(widths[i + 1 :]) for i in range(len(widths))]
    unpacked = order.to_frame().select(
        position,
        *(
            (pl.col("_w") // (1 << shift) % (1 << width) + lo).alias(name)
            for name, shift, width, lo in zip(names, shifts, widths, lows, strict=True)
        ),
    )
    return unpacked.with_columns(
        ranked[i].gather(unpacked.get_column(names[i])).alias(names[i]) for i in ranked
    )


def _gathered(
    frame: pl.DataFrame, positions: pl.Series, names: list[str], exprs: list[pl.Expr]
) -> pl.DataFrame:
    return frame.select(
        pl.lit(positions).alias("_pos"),
        *(k.cast(pl.Int64).gather(positions).alias(n) for n, k in zip(names, exprs, strict=True)),
    )


def _ranked(
    frame: pl.DataFrame, keys: list[pl.Expr], lows: list, widths: list[int], room: int
) -> dict[int, pl.Series]:
    """Replace (in place) the widest of `keys` by its rank among its distinct values (which
    keeps their order) when that surely makes all fit `room` bits — there are at most as many
    ranks as rows —; return {its index: the distinct values, sorted}, or {} when not.

    One key at most: each rank is a hash look-up per row, which costs more than the Int128
    sort it saves.
    """
    i = max(range(len(keys)), key=lambda i: widths[i])
    most = max(1, (frame.height - 1).bit_length())
    if sum(widths) - widths[i] + most > room or most >= widths[i]:
        return {}
    distinct = frame.select(keys[i].cast(pl.Int64).unique().sort()).to_series()
    ranks = pl.int_range(len(distinct), dtype=pl.Int64, eager=True)
    keys[i] = keys[i].cast(pl.Int64).replace_strict(distinct, ranks, return_dtype=pl.Int64)
    lows[i], widths[i] = 0, max(1, (len(distinct) - 1).bit_length())
    return {i: distinct}


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
