"""Secondary suppression: no hidden count of the report can be worked out by subtraction."""

from __future__ import annotations

import re

import polars as pl
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from dakl_etl.protocol.fields import COLUMNS
from dakl_etl.report import build_report, render_html, render_summary
from dakl_etl.report import figures as fig
from dakl_etl.report.charts import Series, _shown, bars
from dakl_etl.report.suppression import (
    MASKED,
    PERSONS,
    SMALL,
    Breakdown,
    Masked,
    layout,
    mask_figures,
    suppress,
)
from test_report import row_strategy
from test_report_data import Spec, delivery, rows, write_dakl

# -- the audit the tests hold `suppress` to ------------------------------------------------------


def _one_per_breakdown_violations(masked: Masked, breakdowns) -> list[Breakdown]:
    """Additive breakdowns with exactly one hidden count (the total too): subtraction gives it.

    Not so for persons: a lone hidden count there is only bounded (see `_pinned`).
    """
    return [
        b
        for b in breakdowns
        if b.additive and sum(masked.hidden(c) for c in (b.total, *b.parts)) == 1
    ]


def _allowed(masked: Masked, cell, value: int) -> bool:
    """Whether a hidden count's label allows `value`: "< n" = 1 … n-1, "x" = n or more."""
    n = masked.small
    return 1 <= value <= n - 1 if masked.state(cell) == SMALL else value >= n


def _movable_in_sum(masked: Masked, b: Breakdown, cell) -> bool:
    """total = sum(parts): `cell` moves by one and another hidden count compensates.

    The ranges are intervals, so one such move exists whenever any does.
    """
    terms = [(b.total, 1), *((p, -1) for p in b.parts)]
    hidden = [(c, s) for c, s in terms if masked.hidden(c)]
    sign = dict(terms)[cell]
    value = masked.value(cell)
    return any(
        _allowed(masked, cell, value + step)
        and _allowed(masked, other, masked.value(other) - sign * other_sign * step)
        for step in (1, -1)
        for other, other_sign in hidden
        if other != cell
    )


def _fits_union(masked: Masked, b: Breakdown, cell, value: int) -> bool:
    """Persons: can `cell` be `value`, max(parts) <= total <= sum(parts), the rest as shown?

    Brute force over the total: every t in its range up to well past anything the page could
    force (the least fitting total is at most twice the largest lower bound), parts at most t
    each and together at least t.
    """
    n = masked.small

    def reader_range(c) -> tuple[int, int | None]:
        if c == cell:
            return value, value
        if masked.state(c) == SMALL:
            return 1, n - 1
        if masked.state(c) == MASKED:
            return n, None
        return masked.value(c), masked.value(c)

    parts = [reader_range(p) for p in b.parts]
    low, high = reader_range(b.total)
    far = 2 * (max(masked.value(c) for c in (b.total, *b.parts)) + n + 1)
    for t in range(low, (far if high is None else high) + 1):
        tops = [t if hi is None else min(hi, t) for _, hi in parts]
        if all(lo <= top for (lo, _), top in zip(parts, tops, strict=True)) and sum(tops) >= t:
            return True
    return False


def _movable_in_union(masked: Masked, b: Breakdown, cell) -> bool:
    value = masked.value(cell)
    return any(
        _allowed(masked, cell, value + step) and _fits_union(masked, b, cell, value + step)
        for step in (1, -1)
    )


def _pinned(masked: Masked, breakdowns) -> list[tuple[Breakdown, tuple]]:
    """Hidden counts that one breakdown leaves a single value, given what the page shows.

    A reader knows: shown counts, "< n" = 1 … n-1, "x" = n or more, and how the breakdown's
    counts relate: total = sum(parts) for rows, max(parts) <= total <= sum(parts) for persons.
    The values a hidden count can take form an interval, so it is pinned when it can move by
    neither +1 nor -1. Written apart from `suppress`'s arithmetic on purpose.
    """
    out = []
    for b in breakdowns:
        movable = _movable_in_sum if b.additive else _movable_in_union
        for cell in (b.total, *b.parts):
            if not masked.hidden(cell):
                continue
            if masked.small == 2 and masked.state(cell) == SMALL:
                continue  # "< 2" says 1 by itself: no breakdown gives anything away
            if not movable(masked, b, cell):
                out.append((b, cell))
    return out


def _pinned_with_something_left_to_hide(masked: Masked, breakdowns) -> list:
    """Pinned counts in breakdowns that still show a count `suppress` could have hidden.

    When every count of a breakdown is hidden, the labels alone can still pin one (four parts
    "< 5" under a total "< 5" are all 1); no further suppression changes that.
    """
    return [
        (b, cell)
        for b, cell in _pinned(masked, breakdowns)
        if any(not masked.hidden(c) and masked.value(c) > 0 for c in (b.total, *b.parts))
    ]


def _two_way(table: list[list[int]]) -> tuple[dict, list[Breakdown]]:
    """Cells and breakdowns of a table with row totals, column totals and a grand total."""
    n_rows, n_cols = len(table), len(table[0])
    values = {("c", i, j): v for i, row in enumerate(table) for j, v in enumerate(row)}
    values |= {("r", i): sum(row) for i, row in enumerate(table)}
    values |= {("k", j): sum(row[j] for row in table) for j in range(n_cols)}
    values[("g",)] = sum(map(sum, table))
    breakdowns = [
        *(Breakdown(("r", i), tuple(("c", i, j) for j in range(n_cols))) for i in range(n_rows)),
        *(Breakdown(("k", j), tuple(("c", i, j) for i in range(n_rows))) for j in range(n_cols)),
        Breakdown(("g",), tuple(("r", i) for i in range(n_rows))),
        Breakdown(("g",), tuple(("k", j) for j in range(n_cols))),
    ]
    return values, breakdowns


counts = st.one_of(st.integers(0, 6), st.integers(0, 40))
tables = st.integers(1, 5).flatmap(
    lambda cols: st.lists(st.lists(counts, min_size=cols, max_size=cols), min_size=1, max_size=5)
)


@settings(max_examples=300, deadline=None)
@given(tables, st.sampled_from([2, 3, 5, 10]))
def test_no_suppressed_count_can_be_recovered_from_any_row_or_column(table, small):
    values, breakdowns = _two_way(table)
    masked = suppress(values, breakdowns, small)
    assert masked.primary == {c for c, v in values.items() if 0 < v < small}
    # secondary counts are real counts, never zeros or small ones (a reader may rely on that)
    assert all(values[c] >= small for c in masked.secondary)
    assert not masked.primary & masked.secondary
    assert _one_per_breakdown_violations(masked, breakdowns) == []
    assert _pinned_with_something_left_to_hide(masked, breakdowns) == []


@given(tables)
def test_show_small_counts_hides_nothing(table):
    values, breakdowns = _two_way(table)
    for small in (None, 1):
        masked = suppress(values, breakdowns, small)
        assert not masked.primary and not masked.secondary
        assert all(masked.state(c) is None for c in values)


def test_one_small_part_takes_the_next_smallest_part_with_it():
    values = {"t": 33, "a": 3, "b": 10, "c": 20}
    masked = suppress(values, [Breakdown("t", ("a", "b", "c"))], 5)
    assert (masked.state("a"), masked.state("b")) == (SMALL, MASKED)
    assert masked.state("c") is None and masked.state("t") is None


def test_two_small_parts_that_can_only_be_ones_are_not_left_alone():
    # total 9, shown 7: the two "< 5" add up to 2, so both are 1 unless a third is hidden
    values = {"t": 9, "a": 1, "b": 1, "c": 7}
    masked = suppress(values, [Breakdown("t", ("a", "b", "c"))], 5)
    assert masked.hidden("c") and not masked.hidden("t")
    # 4 + 4 = 8 is just as telling
    values = {"t": 20, "a": 4, "b": 4, "c": 12}
    assert suppress(values, [Breakdown("t", ("a", "b", "c"))], 5).hidden("c")
    # 2 + 3 = 5 is not: 1 + 4 and 4 + 1 fit too
    values = {"t": 17, "a": 2, "b": 3, "c": 12}
    assert not suppress(values, [Breakdown("t", ("a", "b", "c"))], 5).hidden("c")


def test_suppression_spreads_along_both_dimensions_until_stable():
    #      a    b    c  | row
    # x    2   30   40  |  72
    # y   50   60    7  | 117
    table = [[2, 30, 40], [50, 60, 7]]
    values, breakdowns = _two_way(table)
    masked = suppress(values, breakdowns, 5)
    assert masked.state(("c", 0, 0)) == SMALL
    # row x takes 30 along, column a takes 50, then column b (one hidden now) takes 60
    assert masked.secondary == {("c", 0, 1), ("c", 1, 0), ("c", 1, 1)}
    assert _one_per_breakdown_violations(masked, breakdowns) == []


def test_a_hidden_total_with_all_its_parts_shown_is_protected_too():
    values = {"g": 100, "t1": 3, "t2": 97, "a": 60, "b": 37}
    breakdowns = [Breakdown("g", ("t1", "t2")), Breakdown("t2", ("a", "b"))]
    masked = suppress(values, breakdowns, 5)
    # t1 < 5 hides t2 (x); then t2 = a + b would give it back, so b goes as well
    assert masked.state("t2") == MASKED and masked.state("b") == MASKED
    assert _pinned(masked, breakdowns) == []


def test_labels_alone_can_pin_a_fully_hidden_breakdown_and_nothing_is_left_to_hide():
    values = {"t": 4, "a": 1, "b": 1, "c": 1, "d": 1}
    breakdowns = [Breakdown("t", ("a", "b", "c", "d"))]
    masked = suppress(values, breakdowns, 5)
    assert masked.primary == set(values) and not masked.secondary
    assert _pinned(masked, breakdowns) and not _pinned_with_something_left_to_hide(
        masked, breakdowns
    )


# -- counts of persons: bounded by their parts, not their sum ----------------------------------


def test_persons_in_two_types_hide_nothing_more_when_nothing_is_pinned():
    # the reported case: 5 persons in ETHOS 02, 1 of them in 0201 and all 5 in 0203
    values = {"t": 5, "a": 1, "b": 5, "c": 0, "d": 0}
    persons = [Breakdown("t", ("a", "b", "c", "d"), additive=False)]
    masked = suppress(values, persons, 5)
    assert masked.primary == {"a"} and not masked.secondary  # a is 1 … 4: 5 <= a + 5 says nothing
    assert _pinned(masked, persons) == []
    # read as a sum, t - b = 0 would contradict "< 5": the additive audit does not fit persons
    as_sum = [Breakdown("t", ("a", "b", "c", "d"))]
    assert _pinned(masked, as_sum) == [(as_sum[0], "a")]


def test_persons_bounds_that_pin_a_hidden_part_hide_the_next_smallest():
    # 10 <= a + 6 and a < 5: a is 4
    values = {"t": 10, "a": 4, "b": 6, "c": 9}
    persons = [Breakdown("t", ("a", "b", "c"), additive=False)]
    unprotected = Masked(values, 5, primary=frozenset({"a"}))
    assert _pinned(unprotected, persons) == []  # c = 9 shown: a + 6 + 9 >= 10 anyway
    values = {"t": 10, "a": 4, "b": 6}
    persons = [Breakdown("t", ("a", "b"), additive=False)]
    unprotected = Masked(values, 5, primary=frozenset({"a"}))
    assert _pinned(unprotected, persons) == [(persons[0], "a")]
    masked = suppress(values, persons, 5)
    assert masked.secondary == {"b"} and _pinned(masked, persons) == []
    # 10 <= a + 7 leaves a 3 or 4: nothing more to hide
    values = {"t": 10, "a": 3, "b": 7}
    assert not suppress(values, persons, 5).secondary


def test_a_hidden_total_of_persons_is_pinned_by_a_single_part():
    # t is hidden along g = t + s; over persons (a, 0), a <= t <= a gives t back
    values = {"g": 8, "t": 6, "s": 2, "a": 6, "z": 0}
    breakdowns = [Breakdown("g", ("t", "s")), Breakdown("t", ("a", "z"), additive=False)]
    masked = suppress(values, breakdowns, 5)
    assert masked.state("t") == MASKED and masked.state("a") == MASKED
    assert _pinned_with_something_left_to_hide(masked, breakdowns) == []


def _persons(stays: list[tuple[int, int, int]]) -> tuple[dict, list[Breakdown]]:
    """Distinct persons per type and per gemeente of (person, type, gemeente) stays."""
    values: dict = {("total",): len({p for p, _, _ in stays})}
    for axis in (1, 2):
        for group in range(3):
            values[(axis, group)] = len({s[0] for s in stays if s[axis] == group})
    breakdowns = [
        Breakdown(("total",), tuple((axis, g) for g in range(3)), additive=False) for axis in (1, 2)
    ]
    return values, breakdowns


stays = st.lists(
    st.tuples(st.integers(0, 30), st.integers(0, 2), st.integers(0, 2)), min_size=1, max_size=60
)


@settings(max_examples=300, deadline=None)
@given(stays, st.sampled_from([2, 3, 5, 10]))
def test_no_suppressed_count_of_persons_can_be_pinned_by_its_bounds(data, small):
    values, breakdowns = _persons(data)
    masked = suppress(values, breakdowns, small)
    assert masked.primary == {c for c, v in values.items() if 0 < v < small}
    assert all(values[c] >= small for c in masked.secondary)
    assert _pinned_with_something_left_to_hide(masked, breakdowns) == []


# -- the report's own counts -------------------------------------------------------------------


def _frame(data: list[list[str]]) -> pl.DataFrame:
    return pl.DataFrame(data, schema=dict.fromkeys(COLUMNS, pl.String), orient="row")


def _in_types(bsn: str, type_opvang: str) -> list[str]:
    return ["202503010930", "0363", bsn, "", type_opvang, "20220101", "", "", ""]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(row_strategy, min_size=1, max_size=40))
@example(  # one person in 0201 and 0203: persons in ETHOS 02 are not the sum of their types
    [_in_types("900000004", "0201")]
    + [
        _in_types(bsn, "0203")
        for bsn in ("900000004", "900000016", "900000028", "900000041", "900000107")
    ]
)
def test_every_breakdown_of_the_report_is_protected(data):
    figures = fig.compute(_frame(data), 2024)
    values, breakdowns = layout(figures)
    # the layout claims the relation that holds: rows add up, persons (one can be in two
    # types or gemeenten) lie between the largest part and the sum
    for b in breakdowns:
        total, parts = values.get(b.total, 0), [values.get(p, 0) for p in b.parts]
        of_persons = any("persons" in c or c == PERSONS for c in (b.total, *b.parts))
        assert b.additive != of_persons, b
        if b.additive:
            assert total == sum(parts), b
        else:
            assert max(parts, default=0) <= total <= sum(parts), b
    masked = mask_figures(figures, 5)
    assert _one_per_breakdown_violations(masked, breakdowns) == []
    assert _pinned_with_something_left_to_hide(masked, breakdowns) == []


def _column(page: str, section: str, index: int) -> dict[str, str]:
    """First cell -> the cell at `index` for each body row of a section's table."""
    body = page.split(f'<section id="{section}">')[1].split("</section>")[0]
    out = {}
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body.split("<tbody>")[1], re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row)
        out[cells[0]] = cells[index]
    return out


def test_page_hides_the_next_smallest_gemeente_with_a_small_one(tmp_path):
    data = rows(Spec(persons=80, unknown_share=0.0))
    for row in data[:3]:
        row[1] = "0344"  # Utrecht: 3 rows, 3 persons at most
    report = build_report(write_dakl(tmp_path, data))
    assert report.accepted
    page = render_html(report)
    rows_shown = _column(page, "per-gemeente", 2)
    assert rows_shown["0344"] == "&lt; 5"
    masked = [code for code, cell in rows_shown.items() if cell == "x"]
    assert len(masked) == 1
    per_gemeente = dict(report.now.figures.per_gemeente.select("gemeentecode", "rows").rows())
    others = {c: n for c, n in per_gemeente.items() if c != "0344"}
    assert per_gemeente[masked[0]] == min(others.values())  # the next smallest
    # the page explains the x; with --show-small-counts every count is there
    assert "Een \u201cx\u201d verbergt" in page
    shown = _column(render_html(report, suppress_small=False), "per-gemeente", 2)
    assert shown == {c: str(n) for c, n in per_gemeente.items()}


def test_summary_and_page_hide_the_same_key_figures(tmp_path):
    # few V-nummers: "rows with" is small, so "rows without" would give it away (rows - without)
    report = build_report(delivery(tmp_path, Spec(persons=30, unknown_share=0.1, seed=5)))
    key = report.now.figures.key
    assert 0 < key.rows_with_v_nummer < 5 <= key.rows_without_v_nummer
    page = render_html(report, lang="en")
    shown = _column(page, "key", 1)
    assert shown["Rows with a V-nummer"] == "&lt; 5"
    assert shown["Rows without a V-nummer"] == "x"
    assert shown["Rows (shelter episodes)"] == str(key.rows)
    summary = render_summary(report, "en")
    assert re.search(r"Rows with a V-nummer\s+< 5\n", summary)
    assert re.search(r"Rows without a V-nummer\s+x\n", summary)
    everything = render_summary(report, "en", suppress_small=False)
    assert re.search(rf"Rows without a V-nummer\s+{key.rows_without_v_nummer}\n", everything)


def test_no_change_is_shown_next_to_a_hidden_count(tmp_path):
    now = delivery(tmp_path, Spec(persons=30, unknown_share=0.1, seed=5))
    before = delivery(tmp_path, Spec(year=2023, persons=40, seed=2))
    report = build_report(now, previous=before)
    page = render_html(report, lang="en")
    body = page.split('<section id="key">')[1].split("</section>")[0]
    row = re.search(r"<td>Rows without a V-nummer</td>(.*?)</tr>", body, re.S).group(1)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row)
    assert cells[0] == "x" and cells[2:] == ["", ""]  # now, before, change, change %
    summary = render_summary(report, "en")
    line = next(x for x in summary.splitlines() if "Rows without a V-nummer" in x)
    assert line.rstrip().endswith(")") and "," not in line.split("(")[1]


def test_charts_do_not_draw_what_the_tables_hide():
    series = Series("now", [3, 40, 12], "#000000", [SMALL, MASKED, None])
    assert _shown(series, 5) == ([5, 0, 12], [SMALL, MASKED, None])
    svg = bars(
        ["a", "b", "c"],
        [series],
        small=5,
        small_label="< 5",
        masked_label="x: hidden",
        name="t",
    )
    assert "x: hidden" in svg and "&lt; 5" in svg
    plain = bars(["a"], [Series("now", [3], "#000000")], small=5, small_label="< 5", name="u")
    assert "x: hidden" not in plain and "<pattern" not in plain
