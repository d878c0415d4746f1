"""Arrows and their labels: where the layout reserved room for them, never upwards.

A label sits at the sending end, above the line (or, for a second flow out of
the same send, at the receiving end below it): a descending line never
reaches there, so no label is crossed by its own arrow. Every arrow is an
edge whose SVG `id` is the arrow's id (`flow-3`, `in-4312-5`, `packet-7`), whose
`class` lists its kind and flows (`arrow msg flow-3`), and whose tooltip
describes it, so tests and tools map drawings back to the trace.
"""

from __future__ import annotations

from ipctrace.render.graphviz.sheet import Sheet
from ipctrace.render.layout.measure import arrow_label, head_size, label_font, loop_label_offset, loop_reach
from ipctrace.render.layout.model import Arrow, ArrowKind, LabelAt, Side


def _color(sheet: Sheet, arrow: Arrow) -> str:
    t = sheet.canvas.theme
    if arrow.kind in (ArrowKind.IN, ArrowKind.OUT):
        return t.kernel
    if arrow.kind is ArrowKind.PACKET:
        return t.packet
    if arrow.kind.dashed:
        return t.dashed
    return t.msg


def _ends(sheet: Sheet, arrow: Arrow) -> tuple[float, float, float, float]:
    """Page coordinates of an arrow's two ends, off the activation bars."""
    m, d = sheet.m, sheet.diagram
    x1, x2 = sheet.x(arrow.src), sheet.x(arrow.dst)
    y1, y2 = sheet.row_y(arrow.src_row), sheet.row_y(arrow.dst_row)
    if arrow.kind is ArrowKind.LOST:
        x2 = x1 + (x2 - x1) * 0.55
    elif arrow.kind is ArrowKind.FOUND:
        x1 = x2 - (x2 - x1) * 0.55
    direction = 1.0 if x2 >= x1 else -1.0
    half = sheet.size(m.bar / 2)
    if arrow.kind is ArrowKind.FORK:
        child = d.lane(arrow.dst)
        return x1 + direction * half, y1, x2 - direction * sheet.size(head_size(child, m).w) / 2, y2
    if arrow.kind is not ArrowKind.FOUND:
        x1 += direction * half
    if arrow.kind is not ArrowKind.LOST:
        x2 -= direction * half
    return x1, y1, x2, y2


def _attrs(sheet: Sheet, arrow: Arrow, color: str) -> dict[str, str | float]:
    flows = " ".join(f"flow-{i}" for i in arrow.flows)
    attrs: dict[str, str | float] = {
        "id": str(arrow.id),
        "class_": f"arrow {arrow.kind.value} {flows}".strip(),
        "color": color,
        "arrowhead": "dot" if arrow.kind is ArrowKind.LOST else "normal",
        "tooltip": arrow.title or arrow.label,
        "penwidth": 1.6 * max(sheet.s, 0.6),
    }
    if arrow.kind is ArrowKind.FOUND:
        attrs["arrowtail"] = "dot"
        attrs["dir"] = "both"
    if arrow.kind.dashed:
        attrs["style"] = "dashed"
    return attrs


def _label_body(sheet: Sheet, arrow: Arrow, color: str, align: str = "LEFT") -> tuple[str, float, float]:
    c, m = sheet.canvas, sheet.m
    size = arrow_label(arrow, m)
    if arrow.kind in (ArrowKind.FORK, ArrowKind.CONNECT, ArrowKind.EOF):
        return c.font(arrow.label, sheet.size(m.small), color), size.w, size.h
    mono = arrow.kind.carries_data
    ink = color if arrow.kind is not ArrowKind.PACKET else c.theme.fg
    main = c.font(arrow.label, sheet.size(label_font(arrow, m)), ink, mono=mono, bold=mono)
    detail = c.font(arrow.detail, sheet.size(m.small), c.theme.muted) if arrow.detail else ""
    if size.stacked:
        return c.lines_table([main, detail], align), size.w, size.h
    return main + (c.font("  ", sheet.size(m.small)) + detail if detail else ""), size.w, size.h


def _label(sheet: Sheet, arrow: Arrow, x1: float, y1: float, x2: float, y2: float, color: str) -> None:
    m = sheet.m
    anchor = arrow.src_row if arrow.label_at is LabelAt.SRC else arrow.dst_row
    if not sheet.has(anchor) or not (arrow.label or arrow.detail):
        return
    body, w, h = _label_body(sheet, arrow, color)
    w, h = sheet.size(w), sheet.size(h)
    lead = sheet.size(m.pad * 0.6)
    if arrow.label_at is LabelAt.SRC:
        toward = 1.0 if x2 >= x1 else -1.0
        cx, cy = x1 + toward * (lead + w / 2), y1 - h / 2 - sheet.size(m.line * 0.15)
    else:
        away = -1.0 if x2 >= x1 else 1.0
        cx, cy = x2 + away * (lead + w / 2), y2 + h / 2 + sheet.size(m.line * 0.2)
    sheet.canvas.text(
        cx, cy, body, w, h, name=f"label-{arrow.id}", id=f"label-{arrow.id}", class_=f"label {arrow.kind.value}"
    )


def _self_arrow(sheet: Sheet, arrow: Arrow, attrs: dict[str, str | float], color: str) -> None:
    """A message a process reads back itself (pipe2's lesson): a loop beside its own lifeline, its label beside it."""
    m = sheet.m
    x = sheet.x(arrow.src)
    y1, y2 = sheet.row_y(arrow.src_row), sheet.row_y(arrow.dst_row)
    side = -1.0 if arrow.side is Side.LEFT else 1.0
    half, reach = sheet.size(m.bar / 2), sheet.size(loop_reach(m))
    start, tip = (x + side * half, y1), (x + side * half, y2)
    end = (tip[0] + side * sheet.size(m.line * 0.45), y2)
    sheet.canvas.curve([start, (x + side * reach, y1), (x + side * reach, y2), end], tip, **attrs)
    body, w, h = _label_body(sheet, arrow, color, "RIGHT" if side < 0 else "LEFT")  # its lines lean on the loop
    w, h = sheet.size(w), sheet.size(h)
    cx = x + side * (sheet.size(loop_label_offset(m)) + w / 2)
    sheet.canvas.text(
        cx,
        (y1 + y2) / 2,  # inside the loop's height: beside the loop, not level with another lane's call
        body,
        w,
        h,
        name=f"label-{arrow.id}",
        id=f"label-{arrow.id}",
        class_=f"label {arrow.kind.value}",
    )


def arrows(sheet: Sheet) -> None:
    marked = sheet.diagram.marked
    for arrow in sheet.items.arrows:
        if arrow.src not in sheet.lane_x or arrow.dst not in sheet.lane_x:
            continue
        if not (sheet.has(arrow.src_row) or sheet.has(arrow.dst_row)):
            continue
        color = _color(sheet, arrow)
        attrs = _attrs(sheet, arrow, color)
        if (arrow.dst, arrow.dst_row) in marked or (arrow.src, arrow.src_row) in marked:
            color = sheet.canvas.theme.mark  # the message the marked call took (or sent)
            wide = 3.4 * max(sheet.s, 0.6)
            attrs = {**attrs, "color": color, "penwidth": wide, "class_": f"{attrs['class_']} marked"}
        if arrow.src == arrow.dst and arrow.kind is ArrowKind.MSG:
            if sheet.has(arrow.src_row) and sheet.has(arrow.dst_row):
                _self_arrow(sheet, arrow, attrs, color)
            continue
        x1, y1, x2, y2 = _ends(sheet, arrow)
        if not sheet.has(arrow.src_row) or not sheet.has(arrow.dst_row):  # cut by a forced page break
            y1, y2, attrs = _clipped(sheet, arrow, y1, y2, attrs)
        sheet.canvas.line(x1, y1, x2, y2, **attrs)
        _label(sheet, arrow, x1, y1, x2, y2, color)


def _clipped(sheet: Sheet, arrow: Arrow, y1: float, y2: float, attrs: dict[str, str | float]):
    top, bottom = sheet.y(sheet.y0), sheet.y(sheet.y1)
    if not sheet.has(arrow.dst_row):
        y2 = bottom
        attrs = {**attrs, "arrowhead": "none", "style": "dashed"}
    if not sheet.has(arrow.src_row):
        y1 = top
    return y1, y2, attrs
