"""Charts for the report: matplotlib figures rendered to inline SVG text.

No pyplot (no global state, no GUI backend); text stays text in the SVG (`svg.fonttype: none`)
so the page is small and uses the reader's own sans-serif font; fixed hash salt and no date
make the output byte-for-byte repeatable.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence

import matplotlib as mpl
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

_STYLE = {
    "svg.fonttype": "none",
    "svg.hashsalt": "dakl-etl",
    "font.family": "sans-serif",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.grid.axis": "y",
    "grid.color": "#dddddd",
    "axes.axisbelow": True,
}
NOW_COLOUR = "#1f5fa8"
SECOND_COLOUR = "#e08a1e"
PREVIOUS_COLOUR = "#9aa5b1"
_PROLOG = re.compile(r"^.*?(?=<svg)", re.DOTALL)
_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.DOTALL)
WIDTH_IN = 6.8  # fits an A4 page with margins


def _svg(fig: Figure, prefix: str) -> str:
    """SVG text for inlining: no prolog or metadata, ids prefixed so charts share a page."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None})
    text = _PROLOG.sub("", buffer.getvalue(), count=1)
    text = _METADATA.sub("", text, count=1)
    text = text.replace(' id="', f' id="{prefix}').replace("url(#", f"url(#{prefix}")
    text = text.replace('href="#', f'href="#{prefix}')
    # The page carries its own alt text; a fixed width attribute would not scale on print.
    return re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"', r"<svg\1", text, count=1)


def _shown(values: Sequence[int], small: int | None) -> tuple[list[int], list[bool]]:
    """Values to draw and which of them are suppressed small counts (drawn at `small`)."""
    if small is None:
        return list(values), [False] * len(values)
    hidden = [0 < v < small for v in values]
    return [small if h else v for v, h in zip(values, hidden, strict=True)], hidden


def bars(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[int], str]],
    *,
    small: int | None,
    small_label: str,
    name: str,
    horizontal: bool = False,
    height_in: float = 2.6,
) -> str:
    """Grouped bars: one group per label, one bar per (name, values, colour) series.

    `name` makes the SVG's element ids unique within the page.

    With `small`, counts between 1 and small-1 are drawn hatched at height `small`, so the chart
    does not show what the tables hide.
    """
    with mpl.rc_context(_STYLE):
        fig = Figure(figsize=(WIDTH_IN, height_in))
        ax = fig.add_subplot()
        n = max(len(series), 1)
        width = 0.8 / n
        positions = list(range(len(labels)))
        any_hidden = False
        for i, (series_name, values, colour) in enumerate(series):
            drawn, hidden = _shown(values, small)
            any_hidden |= any(hidden)
            offsets = [p - 0.4 + width * (i + 0.5) for p in positions]
            draw = ax.barh if horizontal else ax.bar
            patches = draw(offsets, drawn, width, label=series_name, color=colour)
            for patch, h in zip(patches, hidden, strict=True):
                if h:
                    patch.set_hatch("///")
                    patch.set_facecolor("white")
                    patch.set_edgecolor(colour)
        # Counts: whole numbers on the value axis (no 17.5 persons, no decimal point to localise).
        (ax.xaxis if horizontal else ax.yaxis).set_major_locator(MaxNLocator(integer=True))
        if horizontal:
            ax.set_yticks(positions, labels)
            ax.invert_yaxis()
            ax.grid(axis="x")
            ax.grid(axis="y", visible=False)
        else:
            ax.set_xticks(positions, labels)
        # Legend from the series' colours: a series whose first bar is hatched stays solid here.
        handles = [Patch(color=colour) for _, _, colour in series]
        names = [series_name for series_name, _, _ in series]
        if any_hidden:
            handles.append(Patch(facecolor="white", edgecolor="#555555", hatch="///"))
            names.append(small_label)
        if len(names) > 1:
            ax.legend(
                handles,
                names,
                frameon=False,
                fontsize=8,
                loc="lower left",
                bbox_to_anchor=(0, 1.0),
                ncols=min(len(names), 4),
            )
        fig.tight_layout()
        return _svg(fig, f"{name}-")
