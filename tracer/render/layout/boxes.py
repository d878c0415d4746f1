"""Where every label and line of a diagram lies, in diagram points: what the painter draws, as rectangles.

The layout reserves room so that nothing overlaps; this module says where
things end up, so that the claim can be checked (the tests do, for every
scenario and view) and so that other renderers (an HTML step-through page)
can place things without repeating the painter's arithmetic.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

from ipctrace.render.layout.measure import arrow_label, call_size, end_size, head_size, loop_label_offset, note_size
from ipctrace.render.layout.model import Arrow, ArrowKind, BarKind, Diagram, LabelAt, Lane, RowKind, Side


class BoxKind(StrEnum):
    CALL = "call"
    NOTE = "note"
    LABEL = "label"  # an arrow's label
    HEAD = "head"
    END = "end"
    BAR = "bar"


@dataclass(frozen=True, slots=True)
class Box:
    kind: BoxKind
    ref: str  # what it belongs to: a lane id, an arrow id, `call-3`
    row: int
    x0: float
    y0: float
    x1: float
    y1: float

    def overlaps(self, other: Box, slack: float = 0.5) -> bool:
        return (
            self.x0 + slack < other.x1
            and other.x0 + slack < self.x1
            and self.y0 + slack < other.y1
            and other.y0 + slack < self.y1
        )


@dataclass(frozen=True, slots=True)
class Segment:
    ref: str  # the arrow's id
    x0: float
    y0: float
    x1: float
    y1: float

    def crosses(self, box: Box, slack: float = 0.5) -> bool:
        """True when the segment passes through the inside of `box` (Liang–Barsky clipping)."""
        x0, y0, dx, dy = self.x0, self.y0, self.x1 - self.x0, self.y1 - self.y0
        lo, hi = 0.0, 1.0
        for p, q in (
            (-dx, x0 - (box.x0 + slack)),
            (dx, (box.x1 - slack) - x0),
            (-dy, y0 - (box.y0 + slack)),
            (dy, (box.y1 - slack) - y0),
        ):
            if p == 0:
                if q < 0:
                    return False
                continue
            t = q / p
            if p < 0:
                lo = max(lo, t)
            else:
                hi = min(hi, t)
            if lo > hi:
                return False
        return hi - lo > 1e-6


def _beside(x: float, side: Side, w: float, diagram: Diagram) -> tuple[float, float]:
    m = diagram.metrics
    offset = m.bar / 2 + m.pad * 0.6
    return (x + offset, x + offset + w) if side is Side.RIGHT else (x - offset - w, x - offset)


def head_y(diagram: Diagram, lane: Lane) -> float:
    row = diagram.rows[lane.first_row]
    return row.head_y if row.head_y is not None else row.y


def end_y(diagram: Diagram, lane: Lane) -> float:
    m = diagram.metrics
    assert lane.end is not None
    size = end_size(lane.end, m)
    if lane.open_end:
        return diagram.rows[-1].bottom + m.line * 0.5 + size.h / 2
    row = diagram.rows[lane.last_row]
    if row.kind is RowKind.EXIT and row.lane == lane.id:
        return row.y
    return row.bottom - size.h / 2 - m.line * 0.15


def arrow_ends(diagram: Diagram, arrow: Arrow) -> tuple[float, float, float, float]:
    m = diagram.metrics
    x1, x2 = diagram.lane(arrow.src).x, diagram.lane(arrow.dst).x
    y1, y2 = diagram.rows[arrow.src_row].y, diagram.rows[arrow.dst_row].y
    if arrow.kind is ArrowKind.LOST:
        x2 = x1 + (x2 - x1) * 0.55
    elif arrow.kind is ArrowKind.FOUND:
        x1 = x2 - (x2 - x1) * 0.55
    direction = 1.0 if x2 >= x1 else -1.0
    half = m.bar / 2
    if arrow.kind is ArrowKind.FORK:
        return x1 + direction * half, y1, x2 - direction * head_size(diagram.lane(arrow.dst), m).w / 2, y2
    if arrow.kind is not ArrowKind.FOUND:
        x1 += direction * half
    if arrow.kind is not ArrowKind.LOST:
        x2 -= direction * half
    return x1, y1, x2, y2


def label_box(diagram: Diagram, arrow: Arrow) -> Box:
    """Where an arrow's label is drawn: above its sending end, below its receiving end, or beside its loop."""
    m = diagram.metrics
    size = arrow_label(arrow, m)
    lead = m.pad * 0.6
    if arrow.src == arrow.dst:
        x = diagram.lane(arrow.src).x
        side = -1.0 if arrow.side is Side.LEFT else 1.0
        cx = x + side * (loop_label_offset(m) + size.w / 2)
        cy = (diagram.rows[arrow.src_row].y + diagram.rows[arrow.dst_row].y) / 2  # inside the loop's height
        return Box(
            BoxKind.LABEL,
            str(arrow.id),
            arrow.src_row,
            cx - size.w / 2,
            cy - size.h / 2,
            cx + size.w / 2,
            cy + size.h / 2,
        )
    x1, y1, x2, y2 = arrow_ends(diagram, arrow)
    if arrow.label_at is LabelAt.SRC:
        toward = 1.0 if x2 >= x1 else -1.0
        cx, cy, row = x1 + toward * (lead + size.w / 2), y1 - size.h / 2 - m.line * 0.15, arrow.src_row
    else:
        away = -1.0 if x2 >= x1 else 1.0
        cx, cy, row = x2 + away * (lead + size.w / 2), y2 + size.h / 2 + m.line * 0.2, arrow.dst_row
    return Box(BoxKind.LABEL, str(arrow.id), row, cx - size.w / 2, cy - size.h / 2, cx + size.w / 2, cy + size.h / 2)


def boxes(diagram: Diagram) -> Iterator[Box]:
    """Every label, head, ending and bar of the drawing, as a rectangle."""
    m, rows = diagram.metrics, diagram.rows
    for n, call in enumerate(diagram.calls):
        size = call_size(call, m)
        x0, x1 = _beside(diagram.lane(call.lane).x, call.side, size.w, diagram)
        y = rows[call.row].y
        yield Box(BoxKind.CALL, f"call-{n}", call.row, x0, y - size.h / 2, x1, y + size.h / 2)
    for n, note in enumerate(diagram.notes):
        size = note_size(note, m)
        x0, x1 = _beside(diagram.lane(note.lane).x, note.side, size.w, diagram)
        y = rows[note.row].y
        yield Box(BoxKind.NOTE, f"note-{n}", note.row, x0, y - size.h / 2, x1, y + size.h / 2)
    for arrow in diagram.arrows:
        if arrow.label or arrow.detail:
            yield label_box(diagram, arrow)
    for lane in diagram.lanes:
        size = head_size(lane, m)
        y = head_y(diagram, lane)
        yield Box(
            BoxKind.HEAD,
            str(lane.id),
            lane.first_row,
            lane.x - size.w / 2,
            y - size.h / 2,
            lane.x + size.w / 2,
            y + size.h / 2,
        )
        if lane.end is not None:
            size = end_size(lane.end, m)
            y = end_y(diagram, lane)
            row = len(rows) - 1 if lane.open_end else lane.last_row
            yield Box(
                BoxKind.END, str(lane.id), row, lane.x - size.w / 2, y - size.h / 2, lane.x + size.w / 2, y + size.h / 2
            )
    for n, bar in enumerate(diagram.bars):
        if bar.kind is BarKind.HELD:
            continue  # a kernel lane's held bytes: arrows into the buffer end on it by design
        x = diagram.lane(bar.lane).x
        top = rows[bar.row0].y - m.line * 0.35
        bottom = rows[-1].bottom + m.line * 0.4 if bar.kind is BarKind.OPEN else rows[bar.row1].y + m.line * 0.35
        yield Box(BoxKind.BAR, f"bar-{n}", bar.row0, x - m.bar / 2, top, x + m.bar / 2, bottom)


def _suspect(diagram: Diagram, arrow: Arrow) -> bool:
    over_lanes = abs(diagram.lane(arrow.src).column - diagram.lane(arrow.dst).column) > 1
    over_rows = diagram.rows[arrow.dst_row].band - diagram.rows[arrow.src_row].band > 1
    return over_lanes or over_rows or arrow.kind.dashed


def segments(diagram: Diagram) -> Iterator[Segment]:
    """Every straight arrow as a line segment (the loops of self-messages are left out)."""
    for arrow in diagram.arrows:
        if arrow.src != arrow.dst:
            yield Segment(str(arrow.id), *arrow_ends(diagram, arrow))


def crossings(diagram: Diagram, suspects_only: bool = False) -> list[tuple[Segment, Box]]:
    """Every arrow that runs through a label (or a head or ending) that is not its own.

    `suspects_only`: look only at arrows that pass over another lane or another row, the only ones
    the layout cannot keep clear by construction (this keeps a long diagram's check cheap).
    """
    by_id = {str(a.id): a for a in diagram.arrows}
    candidates = [s for s in segments(diagram) if not suspects_only or _suspect(diagram, by_id[s.ref])]
    if not candidates:
        return []
    labels = sorted((b for b in boxes(diagram) if b.kind is not BoxKind.BAR), key=lambda b: b.y0)
    tops = [b.y0 for b in labels]
    tallest = max((b.y1 - b.y0 for b in labels), default=0.0)
    ends = {str(a.id): (str(a.src), str(a.dst)) for a in diagram.arrows}
    found = []
    for seg in candidates:
        lo, hi = min(seg.y0, seg.y1), max(seg.y0, seg.y1)
        for i in range(bisect_left(tops, lo - tallest), bisect_right(tops, hi)):
            box = labels[i]
            if box.ref == seg.ref or box.y1 < lo:
                continue
            if box.kind in (BoxKind.HEAD, BoxKind.END) and box.ref in ends[seg.ref]:
                continue
            if seg.crosses(box):
                found.append((seg, box))
    return found
