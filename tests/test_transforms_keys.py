"""`keys.sorted_positions` / `sorted_keys`: the packed sort gives a stable multi-column sort's
order, and the key values that come with it."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from dakl_etl.transforms.keys import sorted_keys, sorted_positions

INT64 = st.integers(-(2**63), 2**63 - 1)


def stable_order(frame: pl.DataFrame, columns: list[str]) -> list[int]:
    """The reference: Python's stable sort of the row positions by the columns' values."""
    rows = frame.rows()
    index = [frame.columns.index(c) for c in columns]
    return sorted(range(frame.height), key=lambda i: tuple(rows[i][j] for j in index))


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 4).flatmap(
        lambda width: st.tuples(
            st.just(width),
            st.lists(
                st.tuples(*[st.one_of(st.integers(-50, 50), INT64)] * width),
                max_size=60,
            ),
        )
    ),
    st.randoms(use_true_random=False),
)
def test_sorted_positions_is_a_stable_sort_by_the_keys(case, random):
    width, rows = case
    columns = [f"k{i}" for i in range(width)]
    frame = pl.DataFrame(rows, schema=dict.fromkeys(columns, pl.Int64), orient="row")
    keys = random.sample(columns, k=random.randint(1, width))
    got = sorted_positions(frame, [pl.col(c) for c in keys])
    assert got.dtype == pl.Int64
    assert got.to_list() == stable_order(frame, keys)
    # the values that come with the order: unpacked from the word, gathered otherwise
    values = sorted_keys(frame, {c: pl.col(c) for c in keys})
    assert values.columns == ["_pos", *keys]
    assert values.to_dicts() == frame.with_row_index("_pos")[got].select(values.columns).to_dicts()


def test_keys_too_wide_to_pack_take_the_multi_column_sort():
    big = [-(2**63), 2**63 - 1, 0, 2**63 - 1, -(2**63)]
    frame = pl.DataFrame({"a": big, "b": list(reversed(big)), "c": [1, 0, 1, 0, 1]})
    got = sorted_positions(frame, [pl.col("a"), pl.col("b"), pl.col("c")])  # 64+64+1 bits
    assert got.to_list() == stable_order(frame, ["a", "b", "c"])


def test_dates_and_small_keys_pack_into_one_word():
    frame = pl.DataFrame(
        {"d": pl.date_range(pl.date(2024, 1, 1), pl.date(2024, 1, 5), eager=True).reverse()}
    ).with_columns(g=pl.Series([1, 1, 0, 0, 1]))
    got = sorted_positions(frame, [pl.col("g"), pl.col("d")])
    assert got.to_list() == [3, 2, 4, 1, 0]


def test_a_wide_key_with_few_values_is_ranked_into_one_word():
    """A person × type × gemeente group spans ~54 bits but has few distinct values: ranked,
    it packs with the day and the position into one Int64 word, in the same order."""
    groups = [90_001_543_302_010_344, 100_001_000_002_010_599, 90_001_543_302_010_344, 7]
    frame = pl.DataFrame({"g": groups * 3, "d": [5, 1, 5, 2, 9, 0, 5, 5, 1, 1, 3, 0]})
    got = sorted_positions(frame, [pl.col("g"), pl.col("d")])
    assert got.to_list() == stable_order(frame, ["g", "d"])
