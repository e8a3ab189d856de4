"""Which counts the report hides: small ones, and the ones that would give a small one away.

Primary: a count from 1 to `small - 1` shows as "< 5". That alone is not enough: when the page
shows a total and all but one of its parts, the hidden part is the total minus the others. So
every total-and-parts the page shows (a *breakdown*: a table row or column with its total, also
across tables, e.g. the rows per gemeente add up to the rows among the key figures) is checked,
and while one of its hidden counts can be worked out, the smallest count still shown in it is
hidden as well (secondary, shown as "x"), until nothing changes. "Worked out" includes the
bounds the page gives away: "< 5" means 1 to 4 and an "x" at least 5 (zeros are never hidden),
so two "< 5" summing to 2 are both 1 and are not left alone either.

`suppress` is the one place this is decided; the page, its charts and the terminal summary all
render its `Masked` result, so the same count is hidden the same way everywhere. The signals'
detail lines quote counts too: `SIGNAL_COUNTS` says which table cells each one is or follows
from, `Masked.quoted` hides it accordingly (a small count in no table as "< 5" as well), and a
share or change of a hidden count is left out (`SIGNAL_DERIVED`). It audits each
breakdown on its own, as a reader subtracting along a row or a column would; it is no linear
programming audit across all breakdowns at once (what tau-argus does for published tables).
When every count of a breakdown is already hidden, the labels alone can still tell (a total
"< 5" over four parts "< 5": all 1); nothing left to hide changes that.

Persons do not add up: one person in two types (or gemeenten) counts once in each of them and
once in their total. What the page gives away about them is max(parts) <= total <= sum(parts),
so a hidden count of persons is bounded, not recovered by subtraction; it is recovered only when
those bounds and the labels leave it one value (total 10 over parts "< 5" and 6: the hidden part
is at least 4, so 4). Person breakdowns are audited with exactly these inequalities
(`Breakdown.additive` False), and hide more only then. What is not audited: that persons never
outnumber rows (a pair, not a breakdown).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Literal

import polars as pl

from dakl_etl.protocol.codes import ETHOS_CATEGORY
from dakl_etl.report.figures import INVALID, LENGTH_BUCKETS, Figures

Cell = tuple[str, ...]
State = Literal["small", "masked"]
Bounds = tuple[float, float]  # what a reader knows of a count: low, high (math.inf: no bound)
SMALL: State = "small"  # primary: 1 … small-1, shown "< small"
MASKED: State = "masked"  # secondary: would give a small count away, shown "x"


@dataclass(frozen=True)
class Breakdown:
    """A count the page shows and the counts it shows as its parts.

    `additive`: total = sum of parts (rows: each row is in one part). Otherwise the counts are
    of distinct persons, each in one part or more: max(parts) <= total <= sum(parts).
    """

    total: Cell
    parts: tuple[Cell, ...]
    additive: bool = True


@dataclass(frozen=True)
class Masked:
    """Counts as the report shows them: their values and which ones it hides, and how."""

    values: Mapping[Cell, int]
    small: int | None = None
    primary: frozenset[Cell] = frozenset()
    secondary: frozenset[Cell] = frozenset()

    def value(self, cell: Cell) -> int:
        return self.values.get(cell, 0)

    def state(self, cell: Cell) -> State | None:
        if cell in self.primary:
            return SMALL
        return MASKED if cell in self.secondary else None

    def hidden(self, cell: Cell) -> bool:
        return cell in self.primary or cell in self.secondary

    def quoted(self, quote: Quote, value: int | None = None) -> State | None:
        """How a count quoted outside the tables (a signal's detail line) shows.

        A count that is a table's cell shows as in its table. Any other is hidden as "< n" when
        small, and as "x" when a cell it follows from is hidden (with the others shown it
        would give that one away), or when it holds a small remainder that no table shows
        (`Quote.exact` False: the count less its cells would be that remainder). One that
        follows from shown cells only is on the page already; zeros are never hidden.
        `value`: the count (default: what its cells give).
        """
        cells = (*quote.cells, *quote.minus)
        if len(cells) == 1 and quote.exact and cells[0] in self.values:
            return self.state(cells[0])
        if self.small is None:
            return None
        value = quote.value(self) if value is None else value
        if 0 < value < self.small:
            return SMALL
        rest = abs(value - quote.value(self))
        if value and (any(self.hidden(c) for c in cells) or 0 < rest < self.small):
            return MASKED
        return None


def suppress(
    values: Mapping[Cell, int], breakdowns: Iterable[Breakdown], small: int | None
) -> Masked:
    """Hide the small counts of `values`, then enough others that none can be worked out.

    `small` None (or 1) hides nothing: `--show-small-counts`.
    """
    if small is None or small <= 1:
        return Masked(values)
    primary = {cell for cell, v in values.items() if 0 < v < small}
    secondary: set[Cell] = set()
    todo = list(breakdowns)
    changed = True
    while changed:
        changed = False
        for b in todo:
            if _recoverable(b, values, primary, secondary, small):
                extra = _next_smallest(b, values, primary | secondary)
                if extra is not None:
                    secondary.add(extra)
                    changed = True
    return Masked(values, small, frozenset(primary), frozenset(secondary))


def _recoverable(
    b: Breakdown,
    values: Mapping[Cell, int],
    primary: set[Cell],
    secondary: set[Cell],
    small: int,
) -> bool:
    """True when one hidden count of `b` has only one value left, given the shown ones."""
    if b.additive:
        return _recoverable_sum(b, values, primary, secondary, small)
    return _recoverable_union(b, values, primary, secondary, small)


def _bounds(
    cell: Cell, values: Mapping[Cell, int], primary: set[Cell], secondary: set[Cell], small: int
) -> Bounds:
    """What the page says of a count: "< n" 1 … n-1, "x" n or more, else its value."""
    if cell in primary:
        return 1, small - 1
    if cell in secondary:
        return small, math.inf
    value = values.get(cell, 0)
    return value, value


def _recoverable_union(
    b: Breakdown,
    values: Mapping[Cell, int],
    primary: set[Cell],
    secondary: set[Cell],
    small: int,
) -> bool:
    """`_recoverable` for counts of persons: max(parts) <= total <= sum(parts).

    The values a hidden count can take form a range (the constraints are linear), so it is
    recovered exactly when neither one more nor one less than its value fits.
    """
    bounds = {c: _bounds(c, values, primary, secondary, small) for c in (b.total, *b.parts)}
    for cell, (low, high) in bounds.items():
        if low == high:  # shown, or "< 2": the label itself says 1
            continue
        value = values.get(cell, 0)
        movable = False
        for other in (value - 1, value + 1):
            if low <= other <= high:
                fixed = bounds | {cell: (other, other)}
                movable = movable or _union_fits(fixed[b.total], [fixed[p] for p in b.parts])
        if not movable:
            return True
    return False


def _union_fits(total: Bounds, parts: list[Bounds]) -> bool:
    """Whether some total t within `total` and parts within `parts` have max <= t <= sum.

    Parts fit under t when each low <= t; their sum can then reach sum(min(high, t)). So t fits
    when g(t) = sum(min(high, t)) - t >= 0 on [low, high], t's range raised to every part's
    low. g is concave and piecewise linear, bending only at the parts' finite highs: its
    maximum on the range is at an end or a bend; with no upper end and two unbounded parts it
    grows without bound.
    """
    low = max([total[0], *(lo for lo, _ in parts)])
    high = total[1]
    if low > high:
        return False
    if high == math.inf and sum(hi == math.inf for _, hi in parts) >= 2:
        return True
    candidates = [low, *(hi for _, hi in parts if low < hi < high)]
    if high != math.inf:
        candidates.append(high)
    return any(sum(min(hi, t) for _, hi in parts) >= t for t in candidates)


def _recoverable_sum(
    b: Breakdown,
    values: Mapping[Cell, int],
    primary: set[Cell],
    secondary: set[Cell],
    small: int,
) -> bool:
    """`_recoverable` for counts of rows: total = sum(parts).

    total - sum(parts) = 0 with the shown counts moved to the right-hand side; each hidden
    count lies in its display's range (1 … small-1 for "< n", small … for "x"); a count is
    recovered when the others' ranges leave it a single value. A lone hidden count always is.
    """
    terms = [(b.total, 1), *((p, -1) for p in b.parts)]
    known = 0
    hidden: list[tuple[int, float, float]] = []  # sign, low, high
    for cell, sign in terms:
        if cell in primary:
            hidden.append((sign, 1, small - 1))
        elif cell in secondary:
            hidden.append((sign, small, math.inf))
        else:
            known += sign * values.get(cell, 0)
    if len(hidden) == 1:  # total minus the rest, whatever the bounds
        return True
    target = -known  # sum of sign * hidden value
    for i, (sign, low, high) in enumerate(hidden):
        if low == high:  # "< 2": the label itself says 1; nothing more to protect
            continue
        rest_low = rest_high = 0.0
        for j, (s, lo, hi) in enumerate(hidden):
            if j != i:
                rest_low += lo if s > 0 else -hi
                rest_high += hi if s > 0 else -lo
        if sign > 0:
            low, high = max(low, target - rest_high), min(high, target - rest_low)
        else:
            low, high = max(low, rest_low - target), min(high, rest_high - target)
        if low == high:
            return True
    return False


def _next_smallest(b: Breakdown, values: Mapping[Cell, int], hidden: set[Cell]) -> Cell | None:
    """The smallest count of `b` still shown, a part before the total; never a zero."""
    candidates = [
        (values.get(cell, 0), is_total, i, cell)
        for i, (cell, is_total) in enumerate([*((p, False) for p in b.parts), (b.total, True)])
        if cell not in hidden and values.get(cell, 0) > 0
    ]
    return min(candidates)[3] if candidates else None


# -- the counts of the report and how they add up ----------------------------------------------

#: Key figures that are counts of rows or persons; the number of gemeenten is not.
KEY_COUNTS = (
    "rows",
    "persons_bsn",
    "rows_unknown_bsn",
    "persons_unknown_bsn",
    "rows_invalid_bsn",
    "rows_with_v_nummer",
    "rows_without_v_nummer",
    "open_at_year_end",
    "end_unknown",
)
ROWS: Cell = ("key", "rows")
PERSONS: Cell = ("key", "persons_bsn")


def type_cell(level: str, code: str, column: str) -> Cell:
    """A cell of the per-type table; its total row is the key figure itself."""
    if level == "total":
        return ROWS if column == "rows" else PERSONS
    return (level, column, code)


def gemeente_cell(code: str, column: str) -> Cell:
    return ("gemeente", column, code)


def month_cell(period: str, column: str) -> Cell:
    return (column, period)  # column: starts | ends


def length_cell(bucket: str, ethos: str) -> Cell:
    return ("length", ethos, bucket)


def waiting_cell(bucket: str) -> Cell:
    return ("waiting", bucket)


def reden_cell(code: str) -> Cell:
    return ("reden", code)


def _category(code: str) -> str:
    return INVALID if code == INVALID else code[:2]


def layout(figures: Figures) -> tuple[dict[Cell, int], list[Breakdown]]:
    """Every count the report shows of one delivery, and the breakdowns among them.

    Breakdowns of rows add up; those of persons (per category, type and gemeente) do not.

    The same count in two places is one cell, or two cells in a breakdown of one part (ends
    "unknown" is the key figure `end_unknown`; ends "open" is reden "open"), so it is hidden
    alike in both.
    """
    values: dict[Cell, int] = {}
    out: list[Breakdown] = []
    key = figures.key.as_dict()
    values.update({("key", name): key[name] for name in KEY_COUNTS})
    out.append(Breakdown(ROWS, (("key", "rows_with_v_nummer"), ("key", "rows_without_v_nummer"))))

    per_type = figures.per_type.filter(pl.col("level") != "total")
    for level, code, rows, persons in per_type.select("level", "code", "rows", "persons").rows():
        values[type_cell(level, code, "rows")] = rows
        values[type_cell(level, code, "persons")] = persons
    categories = per_type.filter(pl.col("level") == "ethos")["code"].to_list()
    types = per_type.filter(pl.col("level") == "type")["code"].to_list()
    for column, total in (("rows", ROWS), ("persons", PERSONS)):
        additive = column == "rows"  # a person can be in two types and two categories
        parts = tuple(type_cell("ethos", c, column) for c in categories)
        out.append(Breakdown(total, parts, additive))
        for c in categories:
            parts = tuple(type_cell("type", t, column) for t in types if _category(t) == c)
            out.append(Breakdown(type_cell("ethos", c, column), parts, additive))

    gemeenten = figures.per_gemeente.select("gemeentecode", "rows", "persons")
    codes = gemeenten["gemeentecode"].to_list()
    for code, rows, persons in gemeenten.rows():
        values[gemeente_cell(code, "rows")] = rows
        values[gemeente_cell(code, "persons")] = persons
    out.append(Breakdown(ROWS, tuple(gemeente_cell(c, "rows") for c in codes)))
    out.append(Breakdown(PERSONS, tuple(gemeente_cell(c, "persons") for c in codes), False))

    periods = figures.per_month["period"].to_list()
    for period, starts, ends in figures.per_month.select("period", "starts", "ends").rows():
        values[month_cell(period, "starts")] = starts
        values[month_cell(period, "ends")] = ends
    for column in ("starts", "ends"):
        out.append(Breakdown(ROWS, tuple(month_cell(p, column) for p in periods)))
    out.append(Breakdown(("key", "end_unknown"), (month_cell("unknown", "ends"),)))

    lengths = figures.lengths
    buckets = lengths["bucket"].to_list()
    ethos_columns = [c for c in lengths.columns if c != "bucket"]
    for row in lengths.rows(named=True):
        for c in ethos_columns:
            values[length_cell(row["bucket"], c)] = row[c]
    for c in ethos_columns:
        parts = tuple(length_cell(b, c) for b in buckets)
        out.append(Breakdown(type_cell("ethos", c, "rows"), parts))
    if "unknown" in buckets:
        parts = tuple(length_cell("unknown", c) for c in ethos_columns)
        out.append(Breakdown(("key", "end_unknown"), parts))

    waiting = figures.waiting["bucket"].to_list()
    values.update({waiting_cell(b): n for b, n in figures.waiting.select("bucket", "rows").rows()})
    out.append(Breakdown(ROWS, tuple(waiting_cell(b) for b in waiting)))

    reden = figures.reden["reden"].to_list()
    values.update({reden_cell(c): n for c, n in figures.reden.select("reden", "rows").rows()})
    out.append(Breakdown(ROWS, tuple(reden_cell(c) for c in reden)))
    out.append(Breakdown(month_cell("open", "ends"), (reden_cell("open"),)))
    return values, out


@dataclass(frozen=True)
class Quote:
    """A count the report quotes outside its tables and the table cells it follows from: the
    sum of `cells` less those of `minus` (one cell and no `minus`: it is that cell)."""

    cells: tuple[Cell, ...]
    minus: tuple[Cell, ...] = ()
    previous: bool = False  # a count of the previous delivery: its masks apply
    #: False: the count holds more than its cells give, a remainder that no table shows
    exact: bool = True

    def value(self, masked: Masked) -> int:
        return sum(masked.value(c) for c in self.cells) - sum(masked.value(c) for c in self.minus)


_LONG = LENGTH_BUCKETS[-1][0]  # longer than a year
#: Where each key figure that counts rows or persons shows in the tables. The number of
#: gemeenten is no such count and is never hidden. Long episodes include those ended on an
#: unknown date that started more than a year before 31 December, which the length table
#: puts under "end date unknown" whatever their length: no table shows how many they are.
KEY_QUOTES: Mapping[str, Quote] = MappingProxyType(
    {
        **{name: Quote((("key", name),)) for name in KEY_COUNTS},
        "melding_after_start": Quote((waiting_cell("<0"),)),
        "rows_with_melding": Quote((ROWS,), minus=(waiting_cell("none"),)),
        "long_episodes": Quote(
            tuple(length_cell(_LONG, c) for c in (*ETHOS_CATEGORY, INVALID)), exact=False
        ),
        "long_episodes_ethos2": Quote((length_cell(_LONG, "02"),), exact=False),
    }
)


def _key(name: str, previous: bool = False) -> Quote:
    return replace(KEY_QUOTES[name], previous=previous)


#: Signal id -> the counts of its detail line, by their name in `Signal.measured` (or, for a
#: count a share is taken of, a name of its own), and where the tables show each.
SIGNAL_COUNTS: Mapping[str, Mapping[str, Quote]] = MappingProxyType(
    {
        "P01": {"persons": _key("persons_bsn"), "previous": _key("persons_bsn", True)},
        "P02": {"rows": _key("rows"), "persons": _key("persons_bsn")},
        "P03": {"rows_unknown_bsn": _key("rows_unknown_bsn"), "of_rows": _key("rows")},
        "P06": {
            "rows": _key("melding_after_start"),
            "rows_with_melding": _key("rows_with_melding"),
        },
        "P07": {"episodes": _key("long_episodes"), "of_rows": _key("rows")},
        "P08": {
            "episodes": _key("long_episodes_ethos2"),
            "of_rows": Quote((type_cell("ethos", "02", "rows"),)),
        },
    }
)
#: Signal id -> its shares, ratios and changes and the counts of `SIGNAL_COUNTS` they are
#: computed from: shown only when all of those are (a share and one count give the other).
#: P05 has one change per type, from the type's rows now and before (`type_rows`).
SIGNAL_DERIVED: Mapping[str, Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "P01": {"change": ("persons", "previous")},
        "P02": {"rows_per_person": ("rows", "persons")},
        "P03": {"share": ("rows_unknown_bsn", "of_rows")},
        "P06": {"share": ("rows", "rows_with_melding")},
        "P07": {"share": ("episodes", "of_rows")},
        "P08": {"share": ("episodes", "of_rows")},
    }
)


def type_rows(code: str, previous: bool = False) -> Quote:
    """The rows of one TypeOpvang in P05's detail line: its cell of the per-type table."""
    return Quote((type_cell("type", code, "rows"),), previous=previous)


def mask_figures(figures: Figures, small: int | None) -> Masked:
    """The counts of one delivery as every rendering of the report shows them."""
    values, breakdowns = layout(figures)
    return suppress(values, breakdowns, small)
