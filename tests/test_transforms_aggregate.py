"""`episodes.aggregate_episodes` against the RULES.md choices written the slow obvious way: per
episode the earliest start and melding, open when any deciding registration is open (the
precedence sources decide where one takes part), else the latest known end and the reden of
the last-ending registration, the first V-nummer, a conflict where a closed registration ends
on or after an open one starts, and the counts. `keys.run_maxima` (what it reduces with) is
checked on its own against per-run maxima, wide values included."""

from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from dakl_etl.transforms.episodes import (
    REGISTRATION_COLUMNS,
    EpisodeSettings,
    aggregate_episodes,
    merge_episodes,
)
from dakl_etl.transforms.keys import run_maxima
from dakl_etl.transforms.persons import GROUP_PERSON

FIRST = dt.date(2023, 1, 1)
GROUPS = [p * GROUP_PERSON + 201 * 10_000 + 363 for p in (912345678, 923456789)] + [
    923456789 * GROUP_PERSON + 301 * 10_000 + 599
]


@st.composite
def registration_frames(draw) -> pl.DataFrame:
    rows = []
    for i in range(draw(st.integers(1, 30))):
        start = FIRST + dt.timedelta(days=draw(st.integers(0, 60)))
        state = draw(st.sampled_from(["closed", "closed", "open", "unknown"]))
        end = start + dt.timedelta(days=draw(st.integers(0, 20))) if state == "closed" else None
        group = draw(st.sampled_from(GROUPS))
        rows.append(
            {
                "_src": draw(st.integers(0, 2)),
                "night": False,
                "person": group // GROUP_PERSON,
                "group": group,
                "v_nummer": draw(st.sampled_from([None, None, "0000000001", "0000000002"])),
                "startdatum": start,
                "einddatum": end,
                "is_open": state == "open",
                "ended_unknown": state == "unknown",
                "reden": draw(st.sampled_from([None, "19", "21", "99"])),
                "datum_melding": draw(
                    st.sampled_from([None, None, start - dt.timedelta(days=3), start])
                ),
                "n_rows": draw(st.integers(1, 5)),
                "first_row": i + 2,
                "precedence": False,
            }
        )
    types = {"v_nummer": pl.String, "reden": pl.String, "_src": pl.Int32}
    dates = {"einddatum": pl.Date, "datum_melding": pl.Date}
    frame = pl.DataFrame(rows, schema_overrides={**types, **dates})
    return frame.with_columns(precedence=pl.col("_src") == 2).select(REGISTRATION_COLUMNS)


def reference(regs: pl.DataFrame, precedence: bool) -> list[dict]:
    """One dict per episode from the numbered registrations, in episode order."""
    by_episode: dict[int, list[dict]] = {}
    for r in regs.to_dicts():
        by_episode.setdefault(r["episode"], []).append(r)
    out = []
    for episode, items in sorted(by_episode.items()):
        deciding = [r for r in items if r["precedence"]] if precedence else []
        deciding = deciding or items
        closed = [r for r in deciding if not r["is_open"]]
        is_open = any(r["is_open"] for r in deciding)
        known = [r["einddatum"] for r in closed if r["einddatum"] is not None]
        last = max((r["_end_day"] for r in closed), default=None)
        reden = next((r["reden"] for r in closed if r["_end_day"] == last), None)
        closed_ends = [r["_end_day"] for r in items if not r["is_open"]]
        open_starts = [r["startdatum"] for r in items if r["is_open"]]
        meldingen = [r["datum_melding"] for r in items if r["datum_melding"] is not None]
        end = None if is_open else max(known, default=None)
        out.append(
            {
                "episode": episode,
                "person": items[0]["person"],
                "group": items[0]["group"],
                "v_nummer": next((r["v_nummer"] for r in items if r["v_nummer"]), None),
                "startdatum": min(r["startdatum"] for r in items),
                "datum_melding": min(meldingen, default=None),
                "is_open": is_open,
                "conflict": bool(closed_ends and open_starts)
                and max(closed_ends) >= min(_day(d) for d in open_starts),
                "n_registrations": len(items),
                "n_rows": sum(r["n_rows"] for r in items),
                "einddatum": end,
                "ended_unknown": not is_open and end is None,
                "reden": None if is_open else reden,
            }
        )
    return out


def _day(date: dt.date) -> int:
    """A date as `episodes._day` numbers it: the end days of `_end_day` compare with it."""
    return (date - dt.date(1970, 1, 1)).days + (1 << 23)


@settings(max_examples=200, deadline=None)
@given(registration_frames(), st.integers(0, 2), st.booleans())
def test_episodes_are_the_reference_choices(frame, gap, precedence):
    numbered = merge_episodes(frame, settings=EpisodeSettings(merge_gap_days=gap)).collect()
    got = aggregate_episodes(numbered, precedence=precedence).collect()
    want = reference(numbered, precedence)
    assert got.select(list(want[0])).to_dicts() == want
    assert got["episode"].to_list() == list(range(1, got.height + 1))


def maxima_reference(keys: list[int], values: list[int | None]) -> list[int]:
    out: list[int] = []
    for i, (key, value) in enumerate(zip(keys, values, strict=True)):
        if i and key == keys[i - 1]:
            out[-1] = max(out[-1], value or 0)
        else:
            out.append(value or 0)
    return out


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 3), st.none() | st.integers(0, 2**62)), min_size=1, max_size=40
    ),
    st.booleans(),
)
def test_run_maxima_are_the_largest_value_of_each_run(pairs, descending):
    # runs need only be together: keys ascending or descending
    pairs = sorted(pairs, key=lambda pair: pair[0], reverse=descending)
    keys = [k for k, _ in pairs]
    # an unsorted column of values: runs need only be together, not in value order
    values = [v for _, v in reversed(pairs)]
    frame = pl.DataFrame({"k": keys, "v": values}, schema={"k": pl.Int64, "v": pl.Int64})
    runs = run_maxima(frame, "k", {"top": pl.col("v")}, first_at_max={"at": pl.col("v")})
    assert runs["top"].to_list() == maxima_reference(keys, values)
    starts = [i for i in range(len(keys)) if i == 0 or keys[i] != keys[i - 1]]
    assert runs["_first"].to_list() == starts
    lengths = [b - a for a, b in zip(starts, [*starts[1:], len(keys)], strict=True)]
    assert runs["_length"].to_list() == lengths
    # the first row of its run holding the run's largest value
    for first, length, top, at in runs.select("_first", "_length", "top", "at").iter_rows():
        run = [v or 0 for v in values[first : first + length]]
        assert at == first + run.index(top)


def test_run_maxima_of_no_rows_is_empty():
    frame = pl.DataFrame(schema={"k": pl.Int64, "v": pl.Int64})
    runs = run_maxima(frame, "k", {"top": pl.col("v")}, first_at_max={"at": pl.col("v")})
    assert runs.height == 0
    assert runs.columns == ["_first", "_length", "top", "at"]
