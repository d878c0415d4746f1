"""Lifelines and what sits on them: heads (repeated at the top of each slide), endings, activation bars."""

from __future__ import annotations

from ipctrace.render.graphviz.sheet import Sheet
from ipctrace.render.layout.measure import end_lines, end_size, head_lines, head_size
from ipctrace.render.layout.model import BarKind, EndKind, Lane, LaneKind, RowKind
from ipctrace.render.layout.pages import repeated_head_h


def _head_colors(sheet: Sheet, lane: Lane) -> tuple[str, str]:
    t = sheet.canvas.theme
    return {
        LaneKind.PROCESS: (t.process_fill, t.process_line),
        LaneKind.CHANNEL: (t.channel_fill, t.channel_line),
        LaneKind.SOCKET: (t.socket_fill, t.socket_line),
    }[lane.kind]


def _head(sheet: Sheet, lane: Lane, y: float, subtitle: str | None, continued: bool) -> None:
    """A lane's head: title and subtitle; repeated on a later page, its title alone (`⋮` when a call goes on)."""
    c, m = sheet.canvas, sheet.m
    size = head_size(lane, m)
    fill, line = _head_colors(sheet, lane)
    if subtitle is None:
        mark = "⋮ " if continued else ""
        rows = [c.font(mark + lane.title, sheet.size(m.small), c.theme.fg, bold=True)]
        height = repeated_head_h(m)
    else:
        rows = [c.font(lane.title, sheet.size(m.font), c.theme.fg, bold=True)]
        rows += [c.font(line, sheet.size(m.small), c.theme.muted) for line in (subtitle, lane.detail) if line]
        height = size.h
    label = c.lines_table(rows, align="CENTER")
    c.box(
        sheet.x(lane.id),
        y,
        sheet.size(size.w),
        sheet.size(height),
        name=f"head-{lane.id}",
        shape="box",
        style="rounded,filled,dashed" if subtitle is None else "rounded,filled",
        fillcolor=fill,
        color=line,
        penwidth=1.6,
        margin="0",
        label=f"<{label}>",
        id=f"lane-{lane.id}",
        class_=f"lane {lane.kind.value}{' continued' if subtitle is None else ''}",
        tooltip=f"{lane.title} ({' · '.join(head_lines(lane))})",
    )


def head_top(sheet: Sheet, lane: Lane) -> float:
    """Diagram y where a lane's lifeline starts: below its head."""
    row = sheet.diagram.rows[lane.first_row]
    return row.head_y if row.head_y is not None else row.y


def heads(sheet: Sheet) -> None:
    page = sheet.page
    continued = set(page.continued) if page is not None else set()
    for lane in sheet.diagram.lanes:
        if lane.id not in sheet.lane_x:
            continue
        if sheet.has(lane.first_row):
            _head(sheet, lane, sheet.y(head_top(sheet, lane)), lane.subtitle, False)
        elif page is not None and lane.first_row < sheet.row0:
            band = page.dy - sheet.size(repeated_head_h(sheet.m)) / 2 - sheet.m.pad * 0.5
            _head(sheet, lane, band, None, lane.id in continued)


def _end_y(sheet: Sheet, lane: Lane) -> float:
    """Diagram y of the centre of a lane's ending box."""
    d, m = sheet.diagram, sheet.m
    if lane.end is None:
        return 0.0
    size = end_size(lane.end, m)
    if lane.open_end:
        return d.rows[-1].bottom + m.line * 0.5 + size.h / 2
    row = d.rows[lane.last_row]
    if row.kind is RowKind.EXIT and row.lane == lane.id:
        return row.y
    return row.bottom - size.h / 2 - m.line * 0.15


def lifelines(sheet: Sheet) -> None:
    t, d = sheet.canvas.theme, sheet.diagram
    for lane in d.lanes:
        if lane.id not in sheet.lane_x:
            continue
        top = head_top(sheet, lane)
        ends = lane.kind is LaneKind.PROCESS and lane.end is not None  # a slide build: no ending yet
        bottom = _end_y(sheet, lane) if ends else d.rows[lane.last_row].y
        span = sheet.clip(top, bottom)
        if span is None:
            continue
        x = sheet.x(lane.id)
        color = {LaneKind.PROCESS: t.lifeline, LaneKind.CHANNEL: t.channel_line, LaneKind.SOCKET: t.socket_line}
        sheet.canvas.line(
            x,
            sheet.y(span[0]),
            x,
            sheet.y(span[1]),
            arrowhead="none",
            style="dashed" if lane.kind is LaneKind.PROCESS else "dotted",
            color=color[lane.kind],
            penwidth=1.2,
            id=f"lifeline-{lane.id}",
            class_=f"lifeline {lane.kind.value}",
        )


def ends(sheet: Sheet) -> None:
    c, m, d = sheet.canvas, sheet.m, sheet.diagram
    for lane in d.lanes:
        end = lane.end
        if end is None or lane.id not in sheet.lane_x:
            continue
        row = len(d.rows) - 1 if lane.open_end else lane.last_row
        if not sheet.has(row):
            continue
        size = end_size(end, m)
        first, *rest = end_lines(end)
        lines = [c.font(first, sheet.size(m.small), _end_text(sheet, end.kind), bold=True)]
        lines += [c.font(line, sheet.size(m.small), _end_text(sheet, end.kind)) for line in rest]
        style, fill, line = _end_style(sheet, end.kind)
        c.box(
            sheet.x(lane.id),
            sheet.y(_end_y(sheet, lane)),
            sheet.size(size.w),
            sheet.size(size.h),
            name=f"end-{lane.id}",
            shape="box",
            style=style,
            fillcolor=fill,
            color=line,
            penwidth=1.4,
            margin="0",
            label=f"<{c.lines_table(lines, 'CENTER')}>",
            id=f"end-{lane.id}",
            class_=f"end {end.kind.value}",
        )


def _end_style(sheet: Sheet, kind: EndKind) -> tuple[str, str, str]:
    t = sheet.canvas.theme
    if kind in (EndKind.EXIT, EndKind.STOPPED, EndKind.RUNNING):
        return "rounded,filled", t.end_fill, t.end_fill
    if kind is EndKind.EXPECTED:
        return "rounded,filled,dashed", t.bg, t.expected
    return "rounded,filled,bold", t.open_fill, t.error


def _end_text(sheet: Sheet, kind: EndKind) -> str:
    t = sheet.canvas.theme
    if kind in (EndKind.EXIT, EndKind.STOPPED, EndKind.RUNNING):
        return t.end_text
    return t.expected if kind is EndKind.EXPECTED else t.error


def bars(sheet: Sheet) -> None:
    c, m, d = sheet.canvas, sheet.m, sheet.diagram
    t = c.theme
    styles = {
        BarKind.WAIT: (t.wait_fill, t.wait_line, "filled"),
        BarKind.SLEEP: (t.sleep_fill, t.sleep_line, "filled"),
        BarKind.OPEN: (t.open_fill, t.open_line, "filled,dashed"),
        BarKind.HELD: (t.held_fill, t.held_line, "filled"),
    }
    for n, bar in sheet.items.bars:
        if bar.lane not in sheet.lane_x:
            continue
        fill, line, style = styles[bar.kind]
        first, last = d.rows[bar.row0], d.rows[bar.row1]
        top = first.y if bar.kind is BarKind.HELD else first.y - m.line * 0.35
        bottom = last.y + (0.0 if bar.kind is BarKind.HELD else m.line * 0.35)
        if bar.kind is BarKind.OPEN:
            bottom = d.rows[-1].bottom + m.line * 0.4
        span = sheet.clip(top, bottom)
        if span is None:
            continue
        width = sheet.size(m.bar * (0.7 if bar.kind is BarKind.HELD else 1.0))
        y0, y1 = sheet.y(span[0]), sheet.y(span[1])
        c.box(
            sheet.x(bar.lane),
            (y0 + y1) / 2,
            width,
            y1 - y0,
            shape="box",
            style=style,
            fillcolor=fill,
            color=line,
            label="",
            id=f"bar-{n}",
            class_=f"bar {bar.kind.value}",
            tooltip=f"{bar.kind.value} {bar.label}".strip(),
        )
