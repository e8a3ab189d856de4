"""Charts for the report: matplotlib figures rendered to inline SVG text.

No pyplot (no global state, no GUI backend); text stays text in the SVG (`svg.fonttype: none`)
so the page is small and uses the reader's own sans-serif font; fixed hash salt and no date
make the output byte-for-byte repeatable.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from typing import NamedTuple

import matplotlib as mpl
from matplotlib.artist import Artist
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
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


class Series(NamedTuple):
    """One bar per label: its counts, colour and, per count, what the tables hide of it."""

    name: str
    values: Sequence[int]
    colour: str
    states: Sequence[str | None] = ()  # None shown, "small" (< n) or "masked" (x)


def _shown(series: Series, small: int | None) -> tuple[list[int], list[str | None]]:
    """Heights to draw: a small count at `small` (hatched), a masked one not at all."""
    states = list(series.states) or [None] * len(series.values)
    drawn = [
        (small or 0) if state == "small" else 0 if state == "masked" else v
        for v, state in zip(series.values, states, strict=True)
    ]
    return drawn, states


def bars(
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    small: int | None,
    small_label: str,
    name: str,
    masked_label: str = "x",
    horizontal: bool = False,
    height_in: float = 2.6,
) -> str:
    """Grouped bars: one group per label, one bar per series.

    `name` makes the SVG's element ids unique within the page.

    A count the tables show as "< n" is drawn hatched at height `small`; one they show as "x"
    gets no bar, only an "x" at its foot: the chart must not show what the tables hide.
    """
    with mpl.rc_context(_STYLE):
        fig = Figure(figsize=(WIDTH_IN, height_in))
        ax = fig.add_subplot()
        n = max(len(series), 1)
        width = 0.8 / n
        positions = list(range(len(labels)))
        any_small = any_masked = False
        for i, s in enumerate(series):
            drawn, states = _shown(s, small)
            any_small |= "small" in states
            any_masked |= "masked" in states
            offsets = [p - 0.4 + width * (i + 0.5) for p in positions]
            draw = ax.barh if horizontal else ax.bar
            patches = draw(offsets, drawn, width, label=s.name, color=s.colour)
            for patch, state, at in zip(patches, states, offsets, strict=True):
                if state == "small":
                    patch.set_hatch("///")
                    patch.set_facecolor("white")
                    patch.set_edgecolor(s.colour)
                elif state == "masked":
                    xy = (0, at) if horizontal else (at, 0)
                    ax.annotate(
                        "x",
                        xy,
                        xytext=(3, 0) if horizontal else (0, 2),
                        textcoords="offset points",
                        ha="left" if horizontal else "center",
                        va="center" if horizontal else "bottom",
                        color=s.colour,
                        fontsize=8,
                    )
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
        handles: list[Artist] = [Patch(color=s.colour) for s in series]
        names = [s.name for s in series]
        if any_small:
            handles.append(Patch(facecolor="white", edgecolor="#555555", hatch="///"))
            names.append(small_label)
        if any_masked:
            handles.append(Line2D([], [], linestyle="none", marker="x", color="#555555"))
            names.append(masked_label)
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
