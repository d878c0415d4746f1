"""The layout model of a sequence diagram, computed once and read by every renderer.

From a linked, ordered trace to lanes (one per process, plus one per pipe /
socket buffer in the kernel view, one per socket in the packets view), rows
(one per step of `ipctrace.order`'s topological order, so a receive is never
drawn before its send), arrows, activation bars, notes and folded loops —
with positions in points, y growing downwards, and 16:9 pages, so that
graphviz (and any other renderer) only draws.

The stages are pure functions from frozen input to frozen output (STYLE.md,
processors), one module each; read them in this order:

- `model`: the records renderers read (`Diagram`, `Lane`, `Row`, `Arrow`, `Page`, ...).
- `lanes` (and `roles`): `assign_lanes`, which lifelines a view has, left to right, and their names.
- `steps`: `build_steps`, what gets a row, in topological order.
- `folding`: `fold_steps`, repeated exchanges become one iteration with a count.
- `items` (with `rows`, `descriptors`, `sources`, `handlers`, `beside`, `arrows`, `ends`): rows and
  what is drawn at them.
- `measure` and `geometry`: label sizes; sides, columns, bands and positions, in points.
- `clearing`: no arrow through another's label: bands given room, or a label moved to its message's
  receiving end.
- `pages`: the 16:9 slides, broken only between exchanges.
- `build`: `build_diagram`, the stages in order.
- `script`: the diagram as statements, for Mermaid and PlantUML.
"""

from __future__ import annotations

from ipctrace.render.layout.build import build_diagram, choose_fonts, default_title
from ipctrace.render.layout.measure import text_width
from ipctrace.render.layout.model import (
    Arrow,
    ArrowId,
    ArrowKind,
    Bar,
    BarKind,
    CallKind,
    CallLabel,
    ChannelLane,
    Diagram,
    EndKind,
    Fold,
    Lane,
    LaneEnd,
    LaneId,
    LaneKind,
    LegendEntry,
    Metrics,
    Note,
    NoteKind,
    NoteLine,
    Page,
    PageLane,
    ProcessLane,
    Row,
    RowKind,
    Side,
    SocketLane,
)

__all__ = [
    "Arrow",
    "ArrowId",
    "ArrowKind",
    "Bar",
    "BarKind",
    "CallKind",
    "CallLabel",
    "ChannelLane",
    "Diagram",
    "EndKind",
    "Fold",
    "Lane",
    "LaneEnd",
    "LaneId",
    "LaneKind",
    "LegendEntry",
    "Metrics",
    "Note",
    "NoteKind",
    "NoteLine",
    "Page",
    "PageLane",
    "ProcessLane",
    "Row",
    "RowKind",
    "Side",
    "SocketLane",
    "build_diagram",
    "choose_fonts",
    "default_title",
    "text_width",
]
