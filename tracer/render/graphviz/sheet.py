"""One drawing surface: the whole diagram (the SVG) or one slide, with its window on the rows.

The painters (`paint_lanes`, `paint_arrows`, `paint_text`) read a `Sheet`:
which rows it shows, where each lane is on it, and how diagram points map
onto it; they write into its canvas.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ipctrace.render.graphviz.canvas import Canvas, Transform
from ipctrace.render.layout.model import Diagram, LaneId, Metrics, Page


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
