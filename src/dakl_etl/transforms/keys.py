"""Sorting by several integer columns as one: each packed into its bits of one integer.

A stable sort of millions of rows by three or four columns is what costs most in a run. When
the columns are integers, each needs only as many bits as its range in the data; with the row
position in the lowest bits every packed key is unique, so a plain sort of one column (Int64,
or Int128 where the bits need it) gives the order of a stable multi-column sort, several times
faster. One Int64 word sorts faster still than Int128 (and packs in cheap arithmetic): a key
with a wide range but few distinct values — a person × type × gemeente group — is replaced by
its rank among them when that makes the whole key fit one word. Such a sorted word also
answers "same leading keys, and how far apart in the last?" by one difference of neighbours
(`PackedOrder.key_steps`), which is how runs of nights are found without unpacking columns.

The same packing reduces runs of sorted rows: with the run's index above a value's bits, one
running maximum over all rows restarts at every run (`run_maxima`), which is how episodes
are made from their registrations without a group-by.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import polars as pl

#: Int128 is signed: 127 bits hold a non-negative key; Int64 words hold 62 bits each.
_BITS = 126
_WORD = 62


@dataclass(frozen=True)
class PackedOrder:
    """Rows in key order, each as one integer word: its keys' fields above `position_bits`
    bits of its row position, sorted. What an ordered step needs is read off the words —
    arithmetic on one column — instead of gathered from the frame at millions of random
    positions. `packed_order` gives Int64 words only; `sorted_positions` may use Int128."""

    words: pl.Series
    position_bits: int

    def positions(self, at: pl.Series | None = None) -> pl.Series:
        """The row positions (Int64) in key order; `at`: only at these places of the order."""
        words = self.words if at is None else self.words.gather(at)
        position = pl.col("_w") % (1 << self.position_bits)
        return words.to_frame("_w").select(position.cast(pl.Int64).alias("_pos")).to_series()

    def key_steps(self) -> pl.Series:
        """How far each row's keys lie above the previous row's, as one number (null first).

        With `packed_order(..., headroom=h)`: a step of at most `h` means the same leading
        keys and the last key that much higher; any change in a leading key steps more.
        """
        key = pl.col("_w") // (1 << self.position_bits)
        return self.words.to_frame("_w").select(key.diff().alias("_step")).to_series()


def packed_order(
    frame: pl.DataFrame, keys: Sequence[pl.Expr], *, headroom: int = 0
) -> PackedOrder | None:
    """`frame`'s rows ordered by `keys` (integer expressions without nulls), ties in input
    order, as a `PackedOrder`; None when the keys and the position need more than one word.

    `headroom`: the last key's field is made wide enough that its range plus `headroom` fits,
    so that a change in any leading key steps more than `headroom` (`PackedOrder.key_steps`).
    """
    if headroom < 0:
        raise ValueError(f"headroom must be 0 or more, not {headroom}")
    if frame.height == 0:
        return PackedOrder(pl.Series("_w", [], dtype=pl.Int64), 1)
    layout = _Layout.of(frame, keys, headroom)
    if layout.bits > _WORD:
        return None
    return _sorted_words(frame, layout)


def sorted_positions(frame: pl.DataFrame, keys: Sequence[pl.Expr]) -> pl.Series:
    """The row positions (Int64) of `frame` ordered by `keys` (integer expressions without
    nulls), ties in input order: the row index of `frame.sort(*keys, maintain_order=True)`.

    Keys whose ranges and the position need more than 126 bits together (not met in real
    data: dates span a few thousand days) take the multi-column sort instead.
    """
    if frame.height == 0:
        return pl.Series("_pos", [], dtype=pl.Int64)
    layout = _Layout.of(frame, keys)
    if layout.bits > _BITS:
        positions = pl.int_range(pl.len(), dtype=pl.Int64).sort_by(list(keys), maintain_order=True)
        return frame.select(positions.alias("_pos")).to_series()
    return _sorted_words(frame, layout).positions()


def _sorted_words(frame: pl.DataFrame, layout: _Layout) -> PackedOrder:
    fields = [*layout.fields(), (pl.int_range(pl.len(), dtype=pl.Int64), layout.position_bits)]
    # streaming: the packing (a hash look-up where a key is ranked) runs on every core
    words = frame.lazy().select(_pack(fields).alias("_w")).collect(engine="streaming")
    # Polars' parallel sort: numpy's vectorised one took half its time on 8M words on one
    # machine of this kind and four times its time on another (AMD EPYC: 0.50 against 0.13 s)
    return PackedOrder(words.to_series().sort(), layout.position_bits)


@dataclass
class _Layout:
    """The bits each key takes in the packed word: its range in the data (a key ranked to fit
    one word takes its rank instead), then the row position's bits."""

    keys: list[pl.Expr]
    lows: list[int]
    widths: list[int]
    position_bits: int

    @classmethod
    def of(cls, frame: pl.DataFrame, keys: Sequence[pl.Expr], headroom: int = 0) -> _Layout:
        exprs = list(keys)
        bounds = frame.select(
            *(k.min().cast(pl.Int64).alias(f"lo{i}") for i, k in enumerate(exprs)),
            *(k.max().cast(pl.Int64).alias(f"hi{i}") for i, k in enumerate(exprs)),
        ).row(0)
        lows, highs = list(bounds[: len(exprs)]), bounds[len(exprs) :]
        spans = [hi - lo if lo is not None else None for lo, hi in zip(lows, highs, strict=True)]
        if spans and spans[-1] is not None:
            spans[-1] += headroom
        widths = [max(1, span.bit_length()) if span is not None else _BITS for span in spans]
        layout = cls(exprs, lows, widths, max(1, (frame.height - 1).bit_length()))
        if layout.bits > _WORD:
            # the headroom key keeps its values: its steps are what the caller reads
            layout._rank_widest(frame, len(exprs) - 1 if headroom else len(exprs))
        return layout

    @property
    def bits(self) -> int:
        return sum(self.widths) + self.position_bits

    def fields(self) -> list[tuple[pl.Expr, int]]:
        return [
            # a field wider than a word is computed in Int128 (its difference may not fit Int64)
            ((key.cast(pl.Int64 if width <= _WORD else pl.Int128) - lo), width)
            for key, lo, width in zip(self.keys, self.lows, self.widths, strict=True)
        ]

    def _rank_widest(self, frame: pl.DataFrame, among: int) -> None:
        """Replace the widest of the first `among` keys by its rank among its distinct values
        (which keeps their order) when that surely makes all fit one word — there are at most
        as many ranks as rows.

        One key at most: each rank is a hash look-up per row, which costs more than the
        Int128 sort it saves.
        """
        if not among:
            return
        i = max(range(among), key=lambda i: self.widths[i])
        most = max(1, (frame.height - 1).bit_length())
        if self.bits - self.widths[i] + most > _WORD or most >= self.widths[i]:
            return
        values = frame.select(self.keys[i].cast(pl.Int64)).to_series()
        # the first of each value, by index: a third cheaper than `unique` on millions of rows
        distinct = values.gather(values.arg_unique()).sort()
        ranks = pl.int_range(len(distinct), dtype=pl.Int64, eager=True)
        self.keys[i] = (
            self.keys[i].cast(pl.Int64).replace_strict(distinct, ranks, return_dtype=pl.Int64)
        )
        self.lows[i], self.widths[i] = 0, max(1, (len(distinct) - 1).bit_length())


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


def run_maxima(
    rows: pl.DataFrame,
    key: str,
    maxima: Mapping[str, pl.Expr],
    *,
    first_at_max: Mapping[str, pl.Expr] | None = None,
) -> pl.DataFrame:
    """One row per run of equal `key` values in `rows` (each run's rows together): `_first`
    (the position of its first row), `_length`, the largest of each of `maxima` in the run,
    and for each of `first_at_max` the position of the run's first row where it is largest.

    The expressions give non-negative integers (null counts as 0). Each is one running
    maximum over all rows, restarted at every run by the run's index packed above the values'
    bits (Int128 where the two need more than a word): a pass per value instead of a group-by,
    several times faster on hundreds of thousands of short runs (Polars 2.1).
    """
    first_at_max = first_at_max or {}
    names = [*maxima, *first_at_max]
    starts = (pl.col(key) != pl.col(key).shift(1)).fill_null(True)
    position = pl.int_range(pl.len(), dtype=pl.Int64)
    frame = (
        rows.lazy()
        .select(
            _run=starts.cum_sum().cast(pl.Int64) - 1,
            _first=pl.when(starts).then(position).otherwise(0).cum_max(),
            _last=(pl.col(key) != pl.col(key).shift(-1)).fill_null(True),
            **{n: e.fill_null(0).cast(pl.Int64) for n, e in {**maxima, **first_at_max}.items()},
        )
        .with_columns(_within=position - pl.col("_first"))
        .collect()
    )
    tops = frame.select(pl.col("_run", "_within", *names).max()).row(0, named=True)
    within_bits = max(1, (tops["_within"] or 0).bit_length())
    last_within = (1 << within_bits) - 1
    # one width for all values, so that one base column serves them all
    bits = max(
        [max(1, (tops[n] or 0).bit_length()) for n in maxima]
        + [max(1, (tops[n] or 0).bit_length()) + within_bits for n in first_at_max],
        default=1,
    )
    dtype = pl.Int64 if max(1, (tops["_run"] or 0).bit_length()) + bits <= _WORD else pl.Int128
    base = pl.col("_base")

    def running(name: str) -> pl.Expr:
        value = pl.col(name).cast(dtype)
        if name in first_at_max:  # the value above the reversed position: the earliest wins
            value = value * pl.lit(1 << within_bits, dtype) + (last_within - pl.col("_within"))
        return (base + value).cum_max().alias(name)

    def value_at_last(name: str) -> pl.Expr:
        top = pl.col(name) - base
        if name in maxima:
            return top.cast(pl.Int64).alias(name)
        at = last_within - top % pl.lit(1 << within_bits, dtype)
        return (pl.col("_first") + at.cast(pl.Int64)).alias(name)

    return (
        frame.lazy()
        .with_columns(_base=pl.col("_run").cast(dtype) * pl.lit(1 << bits, dtype))
        .select("_first", "_last", "_within", "_base", *(running(n) for n in names))
        .filter(pl.col("_last"))
        .select(
            "_first",
            (pl.col("_within") + 1).alias("_length"),
            *(value_at_last(n) for n in names),
        )
        .collect()
    )
