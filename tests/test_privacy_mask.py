"""Masking is the same in Python and in Polars, and never shows more than 3 digits."""

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from dakl_etl.protocol.privacy import mask, mask_expr


@given(st.lists(st.none() | st.text("0123456789 abc€", max_size=14), max_size=20))
def test_vectorised_mask_equals_scalar_mask(values):
    # an absent value stays absent in a frame (the scalar `mask` gives "" for None)
    frame = pl.DataFrame({"v": values}, schema={"v": pl.String})
    expected = [None if v is None else mask(v) for v in values]
    assert frame.select(mask_expr("v"))["v"].to_list() == expected


@given(st.text("0123456789", min_size=4, max_size=12))
def test_mask_keeps_length_and_only_the_last_three(value):
    masked = mask(value)
    assert len(masked) == len(value)
    assert masked.endswith(value[-3:])
    assert set(masked[:-3]) == {"*"}


def test_mask_examples():
    assert mask("123456782") == "******782"
    assert mask("12") == "**"
    assert mask(None) == ""
