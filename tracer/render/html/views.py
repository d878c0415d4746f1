"""One view's layout model as the classroom page draws it: lanes, rows, arrows, bars, labels, folds and steps.

Positions are the layout's own (points, y down) and where labels sit comes from
`layout.boxes`, the painter's arithmetic as rectangles, so the page draws what
the SVG draws without repeating it. Rows name their nodes by their place in the
causal order (`nodes.Facts.rank`). Results, payloads and printed lines are
marked as secrets for exercise mode: a label is a list of segments, a secret
one a one-element list.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ipctrace.order import Node, PacketNode
from ipctrace.render.layout.boxes import Box, BoxKind, arrow_ends, boxes
from ipctrace.render.layout.geometry import fold_room
from ipctrace.render.layout.measure import arrow_label, end_lines, label_font, note_text
from ipctrace.render.layout.model import (
    Arrow,
    ArrowId,
    ArrowKind,
    CallKind,
    CallLabel,
    Diagram,
    LabelAt,
    Lane,
    NoteKind,
    Side,
)
from ipctrace.render.layout.reveal import reveal_steps

Segments = list[Any]


def _r(x: float) -> float:
    return round(x, 1)


def _box(box: Box | None) -> list[float]:
    return [] if box is None else [_r(box.x0), _r(box.y0), _r(box.x1), _r(box.y1)]


def split_result(text: str) -> Segments:
    """`read(fd 3, 30) → 13  (waited 4.9 ms)` → the result as a secret: `read(fd 3, 30) → `, [`13`], `  (…)`."""
    head, arrow, rest = text.partition(" → ")
    if not arrow:
        return [text]
    result, sep, tail = rest.partition("  (")
    out: Segments = [head + arrow, [result]]
    if sep:
        out.append(sep + tail)
    return out


def _lane(diagram: Diagram, lane: Lane, found: Mapping[tuple[BoxKind, str], Box]) -> dict[str, Any]:
    ref = str(lane.id)
    item: dict[str, Any] = {
        "id": ref,
        "t": lane.title,
        "s": lane.subtitle,
        "k": lane.kind.value,
        "x": _r(lane.x),
        "col": lane.column,
        "r0": lane.first_row,
        "r1": lane.last_row,
        "hb": _box(found.get((BoxKind.HEAD, ref))),
    }
    if lane.pid is not None:
        item["pid"] = lane.pid
    if lane.detail:
        item["d"] = lane.detail  # the head's third line (the pid, with --pids)
    if lane.end is not None:
        item["end"] = {
            "k": lane.end.kind.value,
            "t": lane.end.text,
            "n": lane.end.note,
            "lines": list(end_lines(lane.end)),
            "b": _box(found.get((BoxKind.END, ref))),
            "open": lane.open_end,
        }
    return item


def _arrow(
    diagram: Diagram, arrow: Arrow, ref: str, found: Mapping[tuple[BoxKind, str], Box], rank: Mapping[Node, int]
) -> dict[str, Any]:
    """An arrow; fields left out take their defaults (no label, no flows, label at the sending end, ...)."""
    m = diagram.metrics
    lane_at = diagram.lane_index
    x1, y1, x2, y2 = arrow_ends(diagram, arrow)
    item: dict[str, Any] = {
        "id": ref,
        "k": arrow.kind.value,
        "s": lane_at[arrow.src],
        "d": lane_at[arrow.dst],
        "r0": arrow.src_row,
        "r1": arrow.dst_row,
        "xy": [_r(x1), _r(y1), _r(x2), _r(y2)],
    }
    if arrow.label:
        if arrow.kind.carries_data:
            item["lab"] = [[arrow.label]]
        elif arrow.kind is ArrowKind.FORK:
            item["lab"] = split_result(arrow.label)
        else:
            item["lab"] = [arrow.label]
    if arrow.detail:
        item["det"] = arrow.detail
    if arrow.flows:
        item["fl"] = list(arrow.flows)
    if arrow.packet is not None:
        item["pk"] = rank.get(PacketNode(arrow.packet), -1)
    box = found.get((BoxKind.LABEL, ref))
    if box is not None:
        item["bx"] = _box(box)
        if arrow_label(arrow, m).stacked:
            item["stk"] = True
        size = label_font(arrow, m)
        if size != m.font:
            item["fs"] = _r(size)
    if arrow.side is not Side.RIGHT:
        item["side"] = arrow.side.value
    if arrow.label_at is not LabelAt.SRC:
        item["at"] = arrow.label_at.value
    return item


def _call(call: CallLabel, box: Box | None) -> dict[str, Any]:
    item: dict[str, Any] = {
        "l": -1,
        "r": call.row,
        "t": split_result(call.text) if call.kind is not CallKind.ENTER else [call.text],
        "bx": _box(box),
    }
    if call.details:
        item["d"] = list(call.details)
    if call.kind is not CallKind.CALL:
        item["k"] = call.kind.value
    if call.side is not Side.RIGHT:
        item["side"] = call.side.value
    if call.handler:
        item["h"] = call.handler
    if call.mark:
        item["mk"] = list(call.mark)
    return item


def view_layout(diagram: Diagram, rank: Mapping[Node, int]) -> dict[str, Any]:
    """The JSON-ready layout of one view (see the module docstring)."""
    m = diagram.metrics
    lane_at = diagram.lane_index
    drawn = list(boxes(diagram))
    found: dict[tuple[BoxKind, str], Box] = {(b.kind, b.ref): b for b in drawn}
    tops = [b.y0 for b in drawn] + [r.top for r in diagram.rows[:1]]
    lefts = [b.x0 for b in drawn] + [0.0]
    bottoms = [b.y1 for b in drawn] + [r.bottom for r in diagram.rows[-1:]]
    lanes = [_lane(diagram, lane, found) for lane in diagram.lanes]
    rows = [
        [
            row.kind.value,
            lane_at[row.lane],
            [rank[k] for k in row.keys if k in rank],
            _r(row.y),
            _r(row.top),
            _r(row.bottom),
            row.band,
        ]
        for row in diagram.rows
    ]
    arrows: list[dict[str, Any]] = []
    index_of: dict[ArrowId, int] = {}
    marked = diagram.marked
    for arrow in diagram.arrows:
        index_of[arrow.id] = len(arrows)
        arrows.append(_arrow(diagram, arrow, str(arrow.id), found, rank))
        if (arrow.dst, arrow.dst_row) in marked or (arrow.src, arrow.src_row) in marked:
            arrows[-1]["mk"] = True  # the message the marked call took (or sent)
    bars = [[lane_at[b.lane], b.row0, b.row1, b.kind.value, b.label] for b in diagram.bars]
    calls = []
    for n, call in enumerate(diagram.calls):
        item = _call(call, found.get((BoxKind.CALL, f"call-{n}")))
        item["l"] = lane_at[call.lane]
        calls.append(item)
    notes = []
    for n, note in enumerate(diagram.notes):
        lines = []
        for line in note.lines:
            secret = line.kind in (NoteKind.OUT, NoteKind.ERR)
            text = note_text(line)  # what was typed comes with its ⌨, as the layout measured it
            lines.append([[text.printed] if secret else text.printed, line.kind.value, text.typed])
        item = {
            "l": lane_at[note.lane],
            "r": note.row,
            "lines": lines,
            "bx": _box(found.get((BoxKind.NOTE, f"note-{n}"))),
        }
        if note.side is not Side.RIGHT:
            item["side"] = note.side.value
        notes.append(item)
    folds = [
        {
            "r0": f.row0,
            "r1": f.row1,
            "n": f.count,
            "lab": f.label,
            "det": f.detail,
            "lines": list(f.lines),
            "y0": _r(diagram.rows[f.row0].top - fold_room(f, m)),
            "y1": _r(diagram.rows[f.row1].bottom + m.pad),
        }
        for f in diagram.folds
    ]
    steps = [[index_of[a] for a in step.arrows if a in index_of] for step in reveal_steps(diagram)]
    return {
        "title": diagram.title,
        "caption": diagram.caption,
        "subtitle": diagram.subtitle,
        "ending": diagram.ending,
        "w": _r(diagram.width),
        "h": _r(diagram.height),
        "x0": _r(min(lefts) - m.pad),  # the drawing's extent, heads and endings included
        "y0": _r(min(tops, default=0.0) - m.pad),
        "y1": _r(max(bottoms, default=0.0) + m.line),
        "m": {k: _r(getattr(m, k)) for k in ("small", "font", "title", "line", "pad", "bar")},
        "lanes": lanes,
        "rows": rows,
        "arrows": arrows,
        "bars": bars,
        "calls": calls,
        "notes": notes,
        "folds": folds,
        "steps": steps,
        "legend": [[e.symbol.value, e.text] for e in diagram.legend],
    }
