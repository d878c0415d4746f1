"""One drawing surface: the whole diagram (the SVG) or one slide, with its window on the rows.

The painters (`paint_lanes`, `paint_arrows`, `paint_text`) read a `Sheet`:
which rows it shows, where each lane is on it, and how diagram points map
onto it; they write into its canvas.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ipctrace.render.graphviz.canvas import Canvas, Transform
from ipctrace.render.layout.model import Arrow, Bar, CallLabel, Diagram, Fold, LaneId, Metrics, Note, Page


@dataclass
class Items:
    """What a sheet may draw, each with its index in the diagram (the SVG ids number them)."""

    calls: list[tuple[int, CallLabel]] = field(default_factory=list)
    notes: list[tuple[int, Note]] = field(default_factory=list)
    arrows: list[Arrow] = field(default_factory=list)
    bars: list[tuple[int, Bar]] = field(default_factory=list)
    folds: list[tuple[int, Fold]] = field(default_factory=list)


def every_item(diagram: Diagram) -> Items:
    return Items(
        list(enumerate(diagram.calls)),
        list(enumerate(diagram.notes)),
        list(diagram.arrows),
        list(enumerate(diagram.bars)),
        list(enumerate(diagram.folds)),
    )


def items_by_page(diagram: Diagram, pages: Sequence[Page]) -> list[Items]:
    """Each page's items, found in one pass: an item goes to every page its rows reach (linear in the diagram)."""
    starts = [p.row0 for p in pages]
    out = [Items() for _ in pages]

    def reach(lo: int, hi: int) -> range:  # from the first of the slides (lane windows) sharing lo's rows
        first = max(bisect_right(starts, lo) - 1, 0)
        return range(bisect_left(starts, starts[first]) if starts else 0, bisect_right(starts, hi))

    def spread(target: str, lo: int, hi: int, item: object) -> None:
        for k in reach(lo, hi):
            if pages[k].row0 <= hi and lo < pages[k].row1:
                getattr(out[k], target).append(item)

    for n, call in enumerate(diagram.calls):
        spread("calls", call.row, call.row, (n, call))
    for n, note in enumerate(diagram.notes):
        spread("notes", note.row, note.row, (n, note))
    for arrow in diagram.arrows:
        spread("arrows", arrow.src_row, arrow.dst_row, arrow)
    for n, bar in enumerate(diagram.bars):
        spread("bars", bar.row0, bar.row1, (n, bar))
    for n, fold in enumerate(diagram.folds):
        spread("folds", fold.row0, fold.row1, (n, fold))
    return out


@dataclass
class Sheet:
    diagram: Diagram
    canvas: Canvas
    transform: Transform
    row0: int
    row1: int  # rows [row0, row1) are drawn
    y0: float  # the diagram's y window: things are clipped to it
    y1: float
    lane_x: Mapping[LaneId, float]  # diagram x of every lane drawn here
    items: Items
    page: Page | None = None  # None: the master SVG

    @property
    def m(self) -> Metrics:
        return self.diagram.metrics

    @property
    def s(self) -> float:
        return self.transform.scale

    def has(self, row: int) -> bool:
        return self.row0 <= row < self.row1

    def x(self, lane: LaneId) -> float:
        """Page x of a lane's lifeline."""
        return self.transform.x(self.lane_x[lane])

    def y(self, y: float) -> float:
        return self.transform.y(y)

    def row_y(self, row: int) -> float:
        return self.transform.y(self.diagram.rows[row].y)

    def size(self, points: float) -> float:
        """A diagram size (a font size, a width) on this sheet."""
        return points * self.transform.scale

    def clip(self, top: float, bottom: float) -> tuple[float, float] | None:
        """A diagram y range cut to this sheet's window, or None when nothing of it is here."""
        a, b = max(top, self.y0), min(bottom, self.y1)
        return (a, b) if b > a else None
