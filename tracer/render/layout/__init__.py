"""The layout model of a sequence diagram, computed once and read by every renderer.

From a linked, ordered trace to lanes (one per process, plus one per pipe /
socket buffer in the kernel view, one per socket in the packets view), rows
(one per step of `ipctrace.order`'s topological order, so a receive is never
drawn before its send), arrows, activation bars, notes and folded loops —
with positions in points, y growing downwards, so that graphviz only draws.

The stages are pure functions applied in order (STYLE.md, processors), one
module each; read them in this order:

- `model`: the records renderers read (`Diagram`, `Lane`, `Row`, `Arrow`, ...).
- `lanes`: `assign_lanes`, which lifelines a view has, left to right.
- `steps`: `build_steps`, what gets a row, in topological order.
- `folding`: `fold_steps`, repeated exchanges become one iteration with a count.
- `items`: rows and what is drawn at them (calls, notes, arrows, bars, folds).
- `geometry`: text sizes, row heights and lane gaps, in points.
- `build`: `build_diagram`, the stages in order and the final placement.
- `script`: the diagram as statements, for Mermaid and PlantUML.

Everything public is re-exported here: import from `ipctrace.render.layout`.
"""

from __future__ import annotations

from ipctrace.render.layout.build import build_diagram, choose_fonts, default_title, legend_entries
from ipctrace.render.layout.folding import MAX_PERIOD, FoldedSteps, fold_steps
from ipctrace.render.layout.geometry import (
    HEAD_HEIGHT_LINES,
    Metrics,
    arrow_label_width,
    call_width,
    head_width,
    note_width,
    text_width,
)
from ipctrace.render.layout.items import NOTE_LINES
from ipctrace.render.layout.lanes import IP_KINDS, Lanes, assign_lanes
from ipctrace.render.layout.model import (
    Arrow,
    Bar,
    CallLabel,
    Diagram,
    Fold,
    Lane,
    LegendEntry,
    Note,
    NoteLine,
    Row,
)
from ipctrace.render.layout.script import ScriptItem, script
from ipctrace.render.layout.steps import BLOCKING_CALLS, OUTPUT_CALLS, SLOW_NANOS, Step, build_steps

__all__ = [
    "BLOCKING_CALLS",
    "HEAD_HEIGHT_LINES",
    "IP_KINDS",
    "MAX_PERIOD",
    "NOTE_LINES",
    "OUTPUT_CALLS",
    "SLOW_NANOS",
    "Arrow",
    "Bar",
    "CallLabel",
    "Diagram",
    "Fold",
    "FoldedSteps",
    "Lane",
    "Lanes",
    "LegendEntry",
    "Metrics",
    "Note",
    "NoteLine",
    "Row",
    "ScriptItem",
    "Step",
    "arrow_label_width",
    "assign_lanes",
    "build_diagram",
    "build_steps",
    "call_width",
    "choose_fonts",
    "default_title",
    "fold_steps",
    "head_width",
    "legend_entries",
    "note_width",
    "script",
    "text_width",
]
