"""The diagram as a script of statements, in drawing order, for the text formats (Mermaid, PlantUML).

Those formats place things themselves: they need what happens at each row
(loops, messages, activations, notes), not coordinates.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from ipctrace.render.layout.model import Diagram


@dataclass(frozen=True)
class ScriptItem:
    """One statement of a text sequence diagram, in drawing order."""

    kind: str  # loop, end-loop, message, activate, deactivate, note, over
    lane: str = ""
    other: str = ""
    text: str = ""
    lines: tuple[str, ...] = ()
    style: str = "solid"  # solid, dashed, lost
    side: str = "right"


def script(diagram: Diagram) -> list[ScriptItem]:
    """Walk the rows top to bottom: what a text format states at each, messages at their arrival."""
    folds_at = {f.row0: f for f in diagram.folds}
    fold_ends: Counter[int] = Counter(f.row1 for f in diagram.folds)
    data_rows = {(a.src, a.src_row) for a in diagram.arrows if a.kind in ("msg", "in", "lost")} | {
        (a.dst, a.dst_row) for a in diagram.arrows if a.kind in ("msg", "out", "found")
    }
    by_row: dict[int, list[ScriptItem]] = defaultdict(list)
    for bar in diagram.bars:
        if bar.kind in ("wait", "sleep", "open"):
            by_row[bar.row0].append(ScriptItem("activate", bar.lane))
    for call in diagram.calls:
        if call.kind == "enter" or (call.lane, call.row) not in data_rows:
            by_row[call.row].append(ScriptItem("note", call.lane, text=call.text, side=call.side))
    for arrow in diagram.arrows:
        row = arrow.dst_row
        text = f"{arrow.label} ({arrow.detail})" if arrow.detail else arrow.label
        style = "dashed" if arrow.dashed else "lost" if arrow.kind == "lost" else "solid"
        by_row[row].append(ScriptItem("message", arrow.src, arrow.dst, text=text, style=style))
    for note in diagram.notes:
        lines = tuple(
            line.text + (f" ⌨ {line.typed}" if line.typed else "") if line.kind != "in" else f"⌨ {line.text}"
            for line in note.lines
        )
        by_row[note.row].append(ScriptItem("note", note.lane, lines=lines, side=note.side))
    for bar in diagram.bars:
        if bar.kind in ("wait", "sleep"):
            by_row[bar.row1].append(ScriptItem("deactivate", bar.lane))
    for lane in diagram.lanes:
        if lane.kind == "process" and lane.end and not lane.open_end:
            by_row[lane.last_row].append(ScriptItem("over", lane.id, text=lane.end))
    out: list[ScriptItem] = []
    for row in diagram.rows:
        if row.index in folds_at:
            fold = folds_at[row.index]
            out.append(ScriptItem("loop", text=f"{fold.label} {fold.detail}".strip()))
        out.extend(by_row.get(row.index, ()))
        for _ in range(fold_ends.get(row.index, 0)):
            out.append(ScriptItem("end-loop"))
    for lane in diagram.lanes:
        if lane.open_end:
            out.append(ScriptItem("over", lane.id, text=lane.end))
    return out
