"""`keys.sorted_positions` / `packed_order`: the packed sort gives a stable multi-column sort's
order, and its key steps tell a change in the leading keys from a step in the last one — what
`episodes._run_starts` reads the runs of nights from."""

from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from dakl_etl.transforms.episodes import EpisodeSettings, _run_starts
from dakl_etl.transforms.keys import packed_order, sorted_positions
from dakl_etl.transforms.persons import GROUP_PERSON

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


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.integers(-3, 3), st.integers(-(2**40), 2**40)),
            st.integers(0, 2),
            st.integers(-20, 20),
        ),
        max_size=60,
    ),
    st.integers(0, 9),
)
def test_packed_order_steps_more_than_the_headroom_where_a_leading_key_changes(rows, headroom):
    frame = pl.DataFrame(rows, schema=["g", "s", "d"], orient="row")
    order = packed_order(frame, [pl.col("g"), pl.col("s"), pl.col("d")], headroom=headroom)
    assert order is not None  # few rows: a wide `g` is ranked into the word
    positions = order.positions().to_list()
    assert positions == stable_order(frame, ["g", "s", "d"])
    steps = order.key_steps().to_list()
    assert steps[:1] == [None] * min(1, len(rows))
    for before, after, step in zip(positions[:-1], positions[1:], steps[1:], strict=True):
        (g0, s0, d0), (g1, s1, d1) = rows[before], rows[after]
        if (g0, s0) == (g1, s1):
            assert step == d1 - d0
        else:
            assert step > headroom
    # only at some places of the order: the same positions
    at = pl.Series(list(range(0, len(rows), 3)), dtype=pl.Int64)
    assert order.positions(at).to_list() == positions[::3]


def test_keys_that_fit_no_word_give_no_packed_order():
    frame = pl.DataFrame({"a": [-(2**62), 2**62, 0], "b": [5, 4, 3]})
    assert packed_order(frame, [pl.col("b"), pl.col("a")], headroom=1) is None


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


def reference_starts(
    frame: pl.DataFrame, settings: EpisodeSettings
) -> tuple[list[bool], list[int]]:
    """A run starts at a new group or source, or a night more than `1 + gap` days after the
    one before it: on Polars' own stable sort, column by column."""
    day = pl.col("startdatum").cast(pl.Int64)
    ordered = frame.with_row_index("_i").sort("group", "_src", "startdatum", "_i")
    return ordered.select(
        (
            (pl.col("group") != pl.col("group").shift(1))
            | (pl.col("_src") != pl.col("_src").shift(1))
            | (day > day.shift(1) + 1 + settings.gap_days())
        ).fill_null(True)
    ).to_series().to_list(), ordered["_i"].cast(pl.Int64).to_list()


GAPS = EpisodeSettings(merge_gap_days=0, merge_gap_days_by_type={"0201": 2, "0302": 1})


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([0, 1]),  # person
            st.sampled_from([201, 203, 302]),  # TypeOpvang
            st.integers(0, 1),  # source
            st.integers(0, 12),  # day
        ),
        max_size=40,
    ),
    st.builds(
        EpisodeSettings,
        merge_gap_days=st.integers(-2, 3),  # below 0 only through the Python API
        merge_gap_days_by_type=st.dictionaries(
            st.sampled_from(["0201", "0203", "0302"]), st.integers(0, 4)
        ),
    ),
)
def test_run_starts_on_the_packed_order_equal_those_of_a_column_sort(rows, gaps):
    frame = pl.DataFrame(
        {
            "group": [p * GROUP_PERSON + t * 10_000 + 363 for p, t, _, _ in rows],
            "_src": pl.Series([s for _, _, s, _ in rows], dtype=pl.Int32),
            "startdatum": [dt.date(2024, 3, 1) + dt.timedelta(days=d) for *_, d in rows],
        },
        schema={"group": pl.Int64, "_src": pl.Int32, "startdatum": pl.Date},
    )
    starts, positions = _run_starts(frame, gaps)
    assert (starts.to_list(), positions(None).to_list()) == reference_starts(frame, gaps)


def test_nights_too_far_apart_for_one_word_take_the_column_sort():
    """Dates ±200 000 years apart and 2¹⁷ nights: 28 + 17 + 17 bits do not fit a word."""
    n = 1 << 17
    days = pl.int_range(n, eager=True) % 97
    frame = pl.DataFrame(
        {
            "group": (pl.int_range(n, eager=True) * 7919 % n) * GROUP_PERSON + 2_010_363,
            "_src": pl.repeat(0, n, dtype=pl.Int32, eager=True),
            "startdatum": days.cast(pl.Date),
        }
    ).with_columns(
        startdatum=pl.when(pl.int_range(pl.len()) == 5)
        .then(pl.date(-200_000, 1, 1))
        .when(pl.int_range(pl.len()) == 6)
        .then(pl.date(200_000, 1, 1))
        .otherwise(pl.col("startdatum"))
    )
    keys = [pl.col("group"), pl.col("_src"), pl.col("startdatum")]
    assert packed_order(frame, keys, headroom=3) is None
    starts, positions = _run_starts(frame, GAPS)
    assert (starts.to_list(), positions(None).to_list()) == reference_starts(frame, GAPS)
