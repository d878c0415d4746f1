"""SVG, PNG and PDF through graphviz: ipctrace places everything, `neato -n2` only draws it.

DESIGN.md measured why: `dot` with rank=same rows kinks arrows and is slow,
while fixed positions (`pos="x,y!"`, `splines=line`, labels as their own
nodes) look like a real sequence diagram and draw 10,000 arrows in under a
second. The SVG is the master (one tall drawing); PNG and PDF are paged,
16:9 slides by default, because cairo caps a PNG at 32,767 pixels.

Every drawn arrow is an edge whose SVG `id` is the arrow's id (`flow-3`,
`in-4312-5`, `packet-7`, `fork-4313`, ...), whose `class` lists its kind and
its flows (`arrow msg flow-3`), and whose `<title>` describes it
(`flow pipe#1 0-13`), so tests and tools map drawings back to the trace.
"""

from __future__ import annotations

import html
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass

from ipctrace.render.base import Renderer, RenderError
from ipctrace.render.layout import (
    Arrow,
    Diagram,
    Metrics,
    Note,
    arrow_label_width,
    call_width,
    head_width,
    note_width,
    text_width,
)

PT_PER_INCH = 72.0
READABLE_PX = 20.0  # font size on a 1920-pixel slide that still reads from the back of a room


@dataclass(frozen=True)
class Theme:
    bg: str
    fg: str
    muted: str
    lifeline: str
    msg: str
    kernel: str
    packet: str
    dashed: str
    error: str
    typed: str
    process_fill: str
    process_line: str
    channel_fill: str
    channel_line: str
    socket_fill: str
    socket_line: str
    wait_fill: str
    wait_line: str
    sleep_fill: str
    sleep_line: str
    open_fill: str
    open_line: str
    held_fill: str
    held_line: str
    note_fill: str
    note_line: str
    fold_line: str
    fold_fill: str
    end_fill: str
    end_text: str


THEMES = {
    "light": Theme(
        bg="#ffffff",
        fg="#1f2328",
        muted="#59636e",
        lifeline="#8c959f",
        msg="#0550ae",
        kernel="#1a7f37",
        packet="#8250df",
        dashed="#6e7781",
        error="#cf222e",
        typed="#1a7f37",
        process_fill="#ddf4ff",
        process_line="#0969da",
        channel_fill="#fff8c5",
        channel_line="#9a6700",
        socket_fill="#fbefff",
        socket_line="#8250df",
        wait_fill="#ffd8b5",
        wait_line="#bc4c00",
        sleep_fill="#d0d7de",
        sleep_line="#57606a",
        open_fill="#ffebe9",
        open_line="#cf222e",
        held_fill="#fff1a8",
        held_line="#bf8700",
        note_fill="#f6f8fa",
        note_line="#afb8c1",
        fold_line="#6e7781",
        fold_fill="#eaeef2",
        end_fill="#424a53",
        end_text="#ffffff",
    ),
    "dark": Theme(
        bg="#0d1117",
        fg="#e6edf3",
        muted="#9198a1",
        lifeline="#6e7681",
        msg="#58a6ff",
        kernel="#3fb950",
        packet="#bc8cff",
        dashed="#8b949e",
        error="#ff7b72",
        typed="#7ee787",
        process_fill="#0c2d6b",
        process_line="#58a6ff",
        channel_fill="#3b2e05",
        channel_line="#d29922",
        socket_fill="#2e1a4a",
        socket_line="#bc8cff",
        wait_fill="#5a2d0c",
        wait_line="#f0883e",
        sleep_fill="#30363d",
        sleep_line="#8b949e",
        open_fill="#4a1e22",
        open_line="#f85149",
        held_fill="#4b3b0a",
        held_line="#d29922",
        note_fill="#161b22",
        note_line="#3d444d",
        fold_line="#8b949e",
        fold_fill="#21262d",
        end_fill="#c9d1d9",
        end_text="#0d1117",
    ),
    "print": Theme(
        bg="#ffffff",
        fg="#000000",
        muted="#404040",
        lifeline="#808080",
        msg="#000000",
        kernel="#000000",
        packet="#404040",
        dashed="#606060",
        error="#000000",
        typed="#000000",
        process_fill="#ffffff",
        process_line="#000000",
        channel_fill="#f0f0f0",
        channel_line="#000000",
        socket_fill="#f0f0f0",
        socket_line="#000000",
        wait_fill="#d9d9d9",
        wait_line="#000000",
        sleep_fill="#ffffff",
        sleep_line="#000000",
        open_fill="#ffffff",
        open_line="#000000",
        held_fill="#eeeeee",
        held_line="#606060",
        note_fill="#ffffff",
        note_line="#000000",
        fold_line="#000000",
        fold_fill="#eeeeee",
        end_fill="#000000",
        end_text="#ffffff",
    ),
}


def require_graphviz() -> None:
    """Graphviz's programs must be on PATH; say how to get them, never show a traceback."""
    missing = [prog for prog in ("neato", "dot") if shutil.which(prog) is None]
    if missing:
        raise RenderError(
            f"graphviz is not installed (no `{missing[0]}` on PATH), so no diagram can be drawn: "
            "install it with `apt-get install graphviz`."
        )


def run_neato(source: str, fmt: str, renderer: str | None = None) -> bytes:
    """Draw DOT source whose nodes all carry fixed positions (`neato -n2`)."""
    require_graphviz()
    import graphviz

    try:
        return graphviz.pipe("neato", fmt, source.encode("utf-8"), renderer=renderer, neato_no_op=2, quiet=True)
    except graphviz.ExecutableNotFound:
        raise RenderError(
            "graphviz is not installed (no `neato` on PATH): install it with `apt-get install graphviz`."
        ) from None
    except graphviz.CalledProcessError as exc:
        detail = (exc.stderr or b"").decode("utf-8", "replace").strip().splitlines()
        raise RenderError(
            f"graphviz could not draw the diagram ({detail[-1] if detail else exc}); "
            "please report it with the trace file."
        ) from None


# -- DOT writing ------------------------------------------------------------------------------------


def _q(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _h(text: str) -> str:
    """Text for an HTML-like label (backslashes stay literal there, so `\\0` shows as written)."""
    return html.escape(text, quote=True)


@dataclass(frozen=True)
class Window:
    """The part of the diagram one page shows: rows [a, b), the y range, and where it goes on the page."""

    a: int
    b: int
    y0: float  # top of the window in diagram coordinates
    y1: float
    dy: float  # page y = diagram y - y0 + dy
    page: int = 1
    pages: int = 1


class _Dot:
    """Collects nodes and edges with positions in diagram coordinates (y down) and writes DOT (y up)."""

    def __init__(self, height: float) -> None:
        self.height = height
        self.lines: list[str] = []
        self.n = 0

    def _pos(self, x: float, y: float) -> str:
        return f'"{x:.2f},{self.height - y:.2f}!"'

    def node(self, x: float, y: float, name: str | None = None, **attrs: str | float) -> str:
        if name is None:
            self.n += 1
            name = f"n{self.n}"
        parts = [f"pos={self._pos(x, y)}"]
        for key, value in attrs.items():
            key = key.rstrip("_")
            if key == "label" and isinstance(value, str) and value.startswith("<"):
                parts.append(f"label={value}")
            elif isinstance(value, float):
                parts.append(f"{key}={value:.3f}")
            else:
                parts.append(f"{key}={_q(str(value))}")
        self.lines.append(f"{_q(name)} [{', '.join(parts)}];")
        return name

    def point(self, x: float, y: float, name: str | None = None) -> str:
        return self.node(x, y, name, shape="point", width=0.0001, height=0.0001, style="invis", label="")

    def edge(self, a: str, b: str, **attrs: str | float) -> None:
        parts = []
        for key, value in attrs.items():
            key = key.rstrip("_")
            parts.append(f"{key}={value:.3f}" if isinstance(value, float) else f"{key}={_q(str(value))}")
        self.lines.append(f"{_q(a)} -> {_q(b)} [{', '.join(parts)}];")

    def curve(
        self, a: str, b: str, points: Sequence[tuple[float, float]], tip: tuple[float, float], **attrs: str | float
    ) -> None:
        """An edge drawn along a given cubic Bézier (4 points) ending in an arrowhead at `tip`; y down."""
        spline = " ".join(f"{x:.2f},{self.height - y:.2f}" for x, y in points)
        pos = f"e,{tip[0]:.2f},{self.height - tip[1]:.2f} {spline}"
        self.edge(a, b, pos=pos, **attrs)

    def box(self, x: float, y: float, w: float, h: float, name: str | None = None, **attrs: str | float) -> str:
        return self.node(
            x, y, name, width=max(w, 0.5) / PT_PER_INCH, height=max(h, 0.5) / PT_PER_INCH, fixedsize="true", **attrs
        )

    def text(
        self, x: float, y: float, html_label: str, w: float, h: float, name: str | None = None, **attrs: str | float
    ) -> str:
        """A label as its own node, centred at (x, y), filled with the background so lines pass behind it."""
        return self.box(x, y, w, h, name, shape="plaintext", margin="0", label=f"<{html_label}>", **attrs)


class _Painter:
    """Draws one window of a diagram into a `_Dot`."""

    def __init__(
        self, diagram: Diagram, window: Window, page_width: float, page_height: float, x_offset: float
    ) -> None:
        self.d = diagram
        self.o = diagram.options
        self.t = THEMES[self.o.theme]
        self.m = Metrics.of(self.o.font_size)
        self.w = window
        self.dx = x_offset
        self.page_width = page_width
        self.page_height = page_height
        self.dot = _Dot(page_height)
        self.lane_x = {lane.id: lane.x + x_offset for lane in diagram.lanes}
        self.row_y = {row.index: row.y for row in diagram.rows}

    # coordinates

    def y(self, diagram_y: float) -> float:
        return diagram_y - self.w.y0 + self.w.dy

    def in_window(self, row: int) -> bool:
        return self.w.a <= row < self.w.b

    def row_top(self, row: int) -> float:
        r = self.d.rows[row]
        return r.y - r.height / 2 - r.pre

    def row_bottom(self, row: int) -> float:
        r = self.d.rows[row]
        return r.y + r.height / 2

    def font(
        self, text: str, size: float | None = None, color: str | None = None, mono: bool = False, bold: bool = False
    ) -> str:
        face = self.d.mono if mono else self.d.font
        inner = _h(text)
        if bold:
            inner = f"<B>{inner}</B>"
        return f'<FONT FACE="{face}" POINT-SIZE="{size or self.m.font:.1f}" COLOR="{color or self.t.fg}">{inner}</FONT>'

    # the page

    def paint(self) -> str:
        dot = self.dot
        t = self.t
        header = [
            "digraph sequence {",
            f'graph [splines=line, outputorder="edgesfirst", bgcolor={_q(t.bg)}, pad="0", margin="0", '
            f'fontname={_q(self.d.font)}, id="sequence", '
            f'bb="0,0,{self.page_width:.2f},{self.page_height:.2f}"];',
            f"node [fontname={_q(self.d.font)}, fontsize={self.m.font:.1f}, fontcolor={_q(t.fg)}, penwidth=1.2];",
            f"edge [fontname={_q(self.d.font)}, penwidth=1.6, arrowsize=0.9, color={_q(t.fg)}];",
        ]
        dot.point(0, 0, "corner-top")
        dot.point(self.page_width, self.page_height, "corner-bottom")
        self.title()
        if self.o.legend and self.d.legend:
            self.legend()
        self.folds()
        self.lifelines()
        self.bars()
        self.arrows()
        self.calls()
        self.notes()
        self.heads()
        return "\n".join([*header, *dot.lines, "}"]) + "\n"

    def title(self) -> None:
        m, t = self.m, self.t
        x = self.dx + m.pad * 2
        title = self.d.title
        if self.w.pages > 1:
            title += f"   ({self.w.page}/{self.w.pages})"
        size = m.font * 1.5
        w = text_width(title, size) + m.pad
        self.dot.text(
            x + w / 2,
            m.pad + size * 0.7,
            self.font(title, size, t.fg, bold=True),
            w,
            size * 1.4,
            name="title",
            id="title",
        )
        sw = text_width(self.d.subtitle, m.small) + m.pad
        self.dot.text(
            x + sw / 2,
            m.pad + size * 1.4 + m.line * 0.6,
            self.font(self.d.subtitle, m.small, t.muted),
            sw,
            m.line,
            name="subtitle",
        )

    def legend(self) -> None:
        m, t = self.m, self.t
        symbols = {
            "msg": ("──▶", t.msg),
            "kernel": ("──▶", t.kernel),
            "packet": ("──▶", t.packet),
            "dashed": ("╌╌▶", t.dashed),
            "wait": ("▮", t.wait_line),
            "sleep": ("▮", t.sleep_line),
            "open": ("▯", t.open_line),
            "note": ("▭", t.note_line),
            "error": ("✗", t.error),
            "loop": ("⟳", t.fold_line),
        }
        cells = []
        widths = []
        for entry in self.d.legend:
            sym, color = symbols.get(entry.symbol, ("•", t.fg))
            cells.append(
                f'<TD ALIGN="LEFT">{self.font(sym, m.small, color, bold=True)}</TD>'
                f'<TD ALIGN="LEFT">{self.font(entry.text, m.small * 0.95, t.muted)}</TD>'
            )
            widths.append(text_width("▶▶▶▶ " + entry.text, m.small) + m.pad * 3)
        # two rows of entries keep the legend low, out of the way of the lanes' heads
        half = (len(cells) + 1) // 2
        rows = [cells[:half], cells[half:]]
        columns = [max(widths[i], widths[i + half] if i + half < len(widths) else 0.0) for i in range(half)]
        table = "".join(f"<TR>{''.join(r)}</TR>" for r in rows if r)
        label = f'<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="2" CELLPADDING="1">{table}</TABLE>'
        lw = sum(columns) + m.pad * 2
        lh = m.line * 2.4
        x = self.page_width - lw / 2 - m.pad
        title_w = text_width(self.d.title, m.font * 1.5) + self.dx + m.pad * 4
        if x - lw / 2 < title_w:  # not beside the title: keep it on the right all the same
            x = max(x, title_w + lw / 2)
        self.dot.text(x, m.pad + lh / 2, label, lw, lh, name="legend", id="legend")

    def lifelines(self) -> None:
        t = self.t
        for lane in self.d.lanes:
            first = self.d.rows[lane.first_row] if lane.first_row < len(self.d.rows) else None
            top = 0.0 if first is None else first.y - first.height / 2 - first.pre / 2 if first.pre else first.y
            bottom = self.d.rows[lane.last_row].y if lane.last_row < len(self.d.rows) else top
            if lane.open_end:
                bottom = self.d.rows[-1].y + self.m.line
            y0, y1 = max(top, self.w.y0), min(bottom, self.w.y1)
            if y1 <= y0:
                continue
            x = self.lane_x[lane.id]
            a = self.dot.point(x, self.y(y0))
            b = self.dot.point(x, self.y(y1))
            style = "dashed" if lane.kind == "process" else "dotted"
            color = (
                t.lifeline if lane.kind == "process" else (t.channel_line if lane.kind == "channel" else t.socket_line)
            )
            self.dot.edge(
                a,
                b,
                arrowhead="none",
                style=style,
                color=color,
                penwidth=1.2,
                id=f"lifeline-{lane.id}",
                class_=f"lifeline {lane.kind}",
            )

    def heads(self) -> None:
        m, t = self.m, self.t
        for lane in self.d.lanes:
            fill, line = {
                "process": (t.process_fill, t.process_line),
                "channel": (t.channel_fill, t.channel_line),
                "socket": (t.socket_fill, t.socket_line),
            }[lane.kind]
            w = head_width(lane, m)
            h = 2 * m.line + m.pad
            label = (
                f'<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="0">'
                f"<TR><TD>{self.font(lane.title, m.font, t.fg, bold=True)}</TD></TR>"
                f"<TR><TD>{self.font(lane.subtitle, m.small, t.muted)}</TD></TR></TABLE>"
            )
            x = self.lane_x[lane.id]
            if self.in_window(lane.first_row):
                first = self.d.rows[lane.first_row]
                y = first.y - first.height / 2 - first.pre / 2 if first.pre else first.y
                self.dot.box(
                    x,
                    self.y(y),
                    w,
                    h,
                    name=f"head-{lane.id}",
                    shape="box",
                    style="rounded,filled",
                    fillcolor=fill,
                    color=line,
                    penwidth=1.6,
                    margin="0",
                    label=f"<{label}>",
                    id=f"lane-{lane.id}",
                    class_=f"lane {lane.kind}",
                )
            elif lane.first_row < self.w.a <= lane.last_row:
                # a continuation page: the lane's head again, at the top
                self.dot.box(
                    x,
                    self.w.dy - h / 2 - m.pad / 2,
                    w,
                    h,
                    name=f"head-{lane.id}",
                    shape="box",
                    style="rounded,filled,dashed",
                    fillcolor=fill,
                    color=line,
                    margin="0",
                    label=f"<{label}>",
                    id=f"lane-{lane.id}",
                    class_=f"lane {lane.kind} continued",
                )
            if lane.kind == "process" and self.in_window(lane.last_row) and lane.end:
                ew = text_width(lane.end, m.small) + m.pad * 2
                eh = m.line * 1.2
                y = self.d.rows[lane.last_row].y
                if lane.open_end:
                    y = self.d.rows[-1].y + self.m.line + eh / 2
                    if not self.in_window(len(self.d.rows) - 1):
                        continue
                    self.dot.box(
                        x,
                        self.y(y),
                        ew,
                        eh,
                        name=f"end-{lane.id}",
                        shape="box",
                        style="rounded,dashed",
                        color=t.open_line,
                        label=f"<{self.font(lane.end, m.small, t.open_line)}>",
                        id=f"end-{lane.id}",
                        class_="end open",
                    )
                else:
                    self.dot.box(
                        x,
                        self.y(y),
                        ew,
                        eh,
                        name=f"end-{lane.id}",
                        shape="box",
                        style="rounded,filled",
                        fillcolor=t.end_fill,
                        color=t.end_fill,
                        label=f"<{self.font(lane.end, m.small, t.end_text, bold=True)}>",
                        id=f"end-{lane.id}",
                        class_="end",
                    )

    def bars(self) -> None:
        m, t = self.m, self.t
        styles = {
            "wait": (t.wait_fill, t.wait_line, "filled"),
            "sleep": (t.sleep_fill, t.sleep_line, "filled"),
            "open": (t.open_fill, t.open_line, "filled,dashed"),
            "held": (t.held_fill, t.held_line, "filled"),
        }
        for n, bar in enumerate(self.d.bars):
            fill, line, style = styles[bar.kind]
            top = self.row_top(bar.row0) + (self.d.rows[bar.row0].height / 2 if bar.kind == "held" else m.line * 0.3)
            bottom = self.d.rows[bar.row1].y + (m.line * 0.35 if bar.kind != "held" else 0)
            if bar.kind == "open":
                bottom = self.d.rows[-1].y + m.line
            y0, y1 = max(top, self.w.y0), min(bottom, self.w.y1)
            if y1 <= y0:
                continue
            width = m.bar * (0.7 if bar.kind == "held" else 1.0)
            x = self.lane_x[bar.lane]
            self.dot.box(
                x,
                self.y((y0 + y1) / 2),
                width,
                y1 - y0,
                shape="box",
                style=style,
                fillcolor=fill,
                color=line,
                label="",
                id=f"bar-{n}",
                class_=f"bar {bar.kind}",
                tooltip=f"{bar.kind} {bar.label}".strip(),
            )

    def _arrow_ends(self, arrow: Arrow) -> tuple[float, float, float, float]:
        m = self.m
        x1, x2 = self.lane_x[arrow.src], self.lane_x[arrow.dst]
        y1, y2 = self.row_y[arrow.src_row], self.row_y[arrow.dst_row]
        if arrow.kind in ("lost", "found"):
            span = (x2 - x1) if arrow.kind == "lost" else (x1 - x2)
            if arrow.kind == "lost":
                x2 = x1 + span * 0.55
            else:
                x1 = x2 - span * 0.55
        direction = 1 if x2 >= x1 else -1
        half = m.bar / 2
        if arrow.kind == "fork":
            lane = next(lane for lane in self.d.lanes if lane.id == arrow.dst)
            return x1 + direction * half, y1, x2 - direction * head_width(lane, m) / 2, y2
        if arrow.kind != "found":
            x1 += direction * half
        if arrow.kind != "lost":
            x2 -= direction * half
        return x1, y1, x2, y2

    def arrows(self) -> None:
        t = self.t
        colors = {
            "msg": t.msg,
            "lost": t.msg,
            "found": t.msg,
            "in": t.kernel,
            "out": t.kernel,
            "packet": t.packet,
            "fork": t.dashed,
            "connect": t.dashed,
            "eof": t.dashed,
        }
        for arrow in self.d.arrows:
            x1, y1, x2, y2 = self._arrow_ends(arrow)
            if y2 < self.w.y0 or y1 > self.w.y1:
                continue
            cx1, cy1, cx2, cy2 = x1, y1, x2, y2
            if y1 < self.w.y0:
                f = (self.w.y0 - y1) / (y2 - y1)
                cx1, cy1 = x1 + (x2 - x1) * f, self.w.y0
            if y2 > self.w.y1:
                f = (self.w.y1 - y1) / (y2 - y1)
                cx2, cy2 = x1 + (x2 - x1) * f, self.w.y1
            color = colors.get(arrow.kind, t.fg)
            a = self.dot.point(cx1, self.y(cy1))
            b = self.dot.point(cx2, self.y(cy2))
            head = "normal" if cy2 == y2 else "none"
            if arrow.kind == "lost":
                head = "dot" if cy2 == y2 else "none"
            flows = " ".join(f"flow-{i}" for i in arrow.flows)
            attrs: dict[str, str | float] = {
                "id": arrow.id,
                "class_": f"arrow {arrow.kind} {flows}".strip(),
                "color": color,
                "arrowhead": head,
                "tooltip": arrow.title or arrow.label,
            }
            if arrow.kind == "found":
                attrs["arrowtail"] = "dot"
                attrs["dir"] = "both"
            if arrow.dashed:
                attrs["style"] = "dashed"
                attrs["penwidth"] = 1.3
            elif arrow.kind == "packet":
                attrs["penwidth"] = 1.4
            if arrow.src == arrow.dst and cy2 == y2 and cy1 == y1:
                self._self_arrow(arrow, a, b, attrs, color)
                continue
            self.dot.edge(a, b, **attrs)
            self.arrow_label(arrow, x1, y1, x2, y2, color)

    def _self_arrow(self, arrow: Arrow, a: str, b: str, attrs: dict[str, str | float], color: str) -> None:
        """A message a process reads back itself (pipe2's lesson): a loop beside its own lifeline.

        The loop goes to the side where this lane has no call labels at those rows, and its label beside it.
        """
        m, t = self.m, self.t
        x = self.lane_x[arrow.src]
        y1, y2 = self.y(self.row_y[arrow.src_row]), self.y(self.row_y[arrow.dst_row])
        rows = range(arrow.src_row, arrow.dst_row + 1)
        right_taken = any(c.lane == arrow.src and c.row in rows and c.side == "right" for c in self.d.calls)
        side = -1.0 if right_taken else 1.0
        half, reach = m.bar / 2, m.line * 2.2
        start, tip = (x + side * half, y1), (x + side * half, y2)
        head = m.line * 0.45
        end = (tip[0] + side * head, y2)
        self.dot.curve(a, b, [start, (x + side * reach, y1), (x + side * reach, y2), end], tip, **attrs)
        body = self.font(arrow.label, m.font, color, mono=True, bold=True)
        if arrow.detail:
            body += self.font("  " + arrow.detail, m.small, t.muted)
        w = arrow_label_width(arrow, m) + m.pad * 0.5
        cx = x + side * (reach * 0.8 + m.pad + w / 2)
        self.dot.text(
            cx,
            (y1 + y2) / 2,
            body,
            w,
            m.line,
            name=f"label-{arrow.id}",
            style="filled",
            fillcolor=t.bg,
            id=f"label-{arrow.id}",
            class_=f"label {arrow.kind}",
        )

    def arrow_label(self, arrow: Arrow, x1: float, y1: float, x2: float, y2: float, color: str) -> None:
        m, t = self.m, self.t
        anchor_row = arrow.src_row if arrow.label_at == "src" else arrow.dst_row
        if not self.in_window(anchor_row):
            return
        if arrow.kind == "fork":
            return self._fork_label(arrow, x1, y1, x2, color)
        mono = arrow.kind in ("msg", "in", "out", "lost", "found")
        size = m.font if arrow.kind not in ("connect", "eof", "fork") else m.small
        w = arrow_label_width(arrow, m) + m.pad * 0.5
        h = m.line
        body = self.font(
            arrow.label,
            size,
            color if arrow.kind != "packet" else t.fg,
            mono=mono,
            bold=arrow.kind in ("msg", "in", "out"),
        )
        if arrow.detail:
            body += self.font("  " + arrow.detail, m.small, t.muted)
        left, right = min(x1, x2), max(x1, x2)
        if arrow.label_at == "src":
            # above the sending end: a descending arrow never reaches there
            cx = (left + right) / 2
            cy = y1 - h / 2 - m.line * 0.15
        else:
            cx = (left + right) / 2
            cy = y2 + h / 2 + m.line * 0.2
        if arrow.kind in ("connect", "eof") and y2 > y1:
            # a dashed slanted arrow: its label sits by its middle, to the side
            cx, cy = (x1 + x2) / 2, (y1 + y2) / 2 - h * 0.6
        style = "filled"
        self.dot.text(
            cx,
            self.y(cy),
            body,
            w,
            h,
            name=f"label-{arrow.id}",
            style=style,
            fillcolor=t.bg,
            id=f"label-{arrow.id}",
            class_=f"label {arrow.kind}",
        )

    def _fork_label(self, arrow: Arrow, x1: float, y1: float, x2: float, color: str) -> None:
        m = self.m
        w = text_width(arrow.label, m.small) + m.pad
        cx = (x1 + x2) / 2
        self.dot.text(
            cx,
            self.y(y1 - m.line * 0.6),
            self.font(arrow.label, m.small, color),
            w,
            m.line,
            name=f"label-{arrow.id}",
            style="filled",
            fillcolor=self.t.bg,
            id=f"label-{arrow.id}",
            class_="label fork",
        )

    def calls(self) -> None:
        m, t = self.m, self.t
        colors = {"call": t.fg, "enter": t.muted, "error": t.error, "blocked": t.open_line}
        for n, call in enumerate(self.d.calls):
            if not self.in_window(call.row):
                continue
            w = call_width(call, m) + m.pad * 0.5
            x = self.lane_x[call.lane]
            offset = m.bar / 2 + m.pad * 0.6 + w / 2
            cx = x + offset if call.side == "right" else x - offset
            y = self.row_y[call.row]
            text = call.text
            body = self.font(text, m.small, colors.get(call.kind, t.fg), bold=call.kind == "error")
            self.dot.text(
                cx,
                self.y(y),
                body,
                w,
                m.line,
                name=f"call-{n}",
                style="filled",
                fillcolor=t.bg,
                id=f"call-{n}",
                class_=f"call {call.kind}",
            )
            if call.kind == "error":
                mark = self.font("✗", m.font * 1.2, t.error, bold=True)
                self.dot.node(
                    x,
                    self.y(y),
                    shape="plaintext",
                    label=f"<{mark}>",
                    width=0.2,
                    height=0.2,
                    fixedsize="true",
                    class_="error-mark",
                )

    def notes(self) -> None:
        m, t = self.m, self.t
        for n, note in enumerate(self.d.notes):
            if not self.in_window(note.row):
                continue
            self._note(n, note, m, t)

    def _note(self, n: int, note: Note, m: Metrics, t: Theme) -> None:
        w = note_width(note, m)
        h = len(note.lines) * m.line + m.pad
        x = self.lane_x[note.lane]
        offset = m.bar / 2 + m.pad * 0.6 + w / 2
        cx = x + offset if note.side == "right" else x - offset
        rows = []
        for line in note.lines:
            color = t.error if line.kind == "err" else t.typed if line.kind == "in" else t.fg
            body = ""
            if line.kind == "in":
                body = self.font("⌨ " + line.text, m.small, color, bold=True)
            else:
                body = self.font(line.text, m.small, color)
                if line.typed:
                    body += self.font("⌨ " + line.typed, m.small, t.typed, bold=True)
            rows.append(f'<TR><TD ALIGN="LEFT">{body}</TD></TR>')
        label = f'<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="0">{"".join(rows)}</TABLE>'
        self.dot.box(
            cx,
            self.y(self.row_y[note.row]),
            w,
            h,
            name=f"note-{n}",
            shape="note",
            style="filled",
            fillcolor=t.note_fill,
            color=t.note_line,
            margin="0.05,0.02",
            label=f"<{label}>",
            id=f"note-{n}",
            class_="note",
        )

    def folds(self) -> None:
        m, t = self.m, self.t
        for n, fold in enumerate(self.d.folds):
            xs = [self.lane_x[lane] for lane in fold.lanes if lane in self.lane_x]
            if not xs:
                continue
            left = self.dx + m.pad  # across the whole diagram, around every label of the rows inside
            right = self.dx + self.d.width - m.pad
            top = self.row_top(fold.row0) - m.line * 1.6
            bottom = self.row_bottom(fold.row1) + m.pad
            y0, y1 = max(top, self.w.y0), min(bottom, self.w.y1)
            if y1 <= y0:
                continue
            self.dot.box(
                (left + right) / 2,
                self.y((y0 + y1) / 2),
                right - left,
                y1 - y0,
                name=f"fold-{n}",
                shape="box",
                style="dashed" if t is not THEMES["print"] else "solid",
                color=t.fold_line,
                penwidth=1.4,
                label="",
                id=f"fold-{n}",
                class_=f"fold count-{fold.count}",
                tooltip=f"{fold.label} {fold.detail}",
            )
            if self.in_window(fold.row0):
                tw = text_width(fold.label, m.font) + m.pad * 2
                th = m.line * 1.2
                self.dot.box(
                    left + tw / 2,
                    self.y(top + th / 2),
                    tw,
                    th,
                    name=f"fold-tab-{n}",
                    shape="box",
                    style="filled",
                    fillcolor=t.fold_fill,
                    color=t.fold_line,
                    label=f"<{self.font(fold.label, m.font, t.fg, bold=True)}>",
                    id=f"fold-tab-{n}",
                    class_="fold-label",
                )
                if fold.detail:
                    dw = text_width(fold.detail, m.small) + m.pad
                    self.dot.text(
                        left + tw + m.pad + dw / 2,
                        self.y(top + th / 2),
                        self.font(fold.detail, m.small, t.muted),
                        dw,
                        th,
                        name=f"fold-detail-{n}",
                        id=f"fold-detail-{n}",
                        class_="fold-detail",
                    )


# -- pages ------------------------------------------------------------------------------------------


def _header_height(diagram: Diagram) -> float:
    return diagram.top


def page_windows(diagram: Diagram) -> list[Window]:
    """Split the rows into pages: slide-shaped (16:9) when `fit` says so, else `page_rows` rows each."""
    opts = diagram.options
    m = Metrics.of(opts.font_size)
    rows = diagram.rows
    if not rows:
        return [Window(0, 0, 0, diagram.height, 0)]
    head = _header_height(diagram) + 2 * m.line + m.pad * 2  # title, and room for continued lanes' heads
    width = page_width(diagram)
    limit_rows = opts.page_rows or (10_000 if opts.fit else 300)
    page_h = width * 9 / 16 if opts.fit else float("inf")
    fold_top = {f.row0 for f in diagram.folds}

    def top_of(a: int) -> float:
        if a == 0:
            return diagram.top - m.pad
        return rows[a].y - rows[a].height / 2 - rows[a].pre - (m.line * 1.8 if a in fold_top else m.pad)

    bounds = []
    a = 0
    while a < len(rows):
        y0 = top_of(a)
        dy = diagram.top - m.pad if a == 0 else head
        b = a + 1
        while (
            b < len(rows)
            and b - a < limit_rows
            and rows[b].y + rows[b].height / 2 + m.line * 1.5 + m.pad * 2 - y0 + dy <= page_h
        ):
            b += 1
        bounds.append((a, b))
        a = b
    windows = []
    for n, (a, b) in enumerate(bounds, start=1):
        y1 = rows[b - 1].y + rows[b - 1].height / 2 + m.pad * 1.5
        if b == len(rows):
            y1 = min(diagram.height, rows[b - 1].y + rows[b - 1].height / 2 + m.line * 1.5 + m.pad * 2)
        dy = diagram.top - m.pad if a == 0 else head
        windows.append(Window(a, b, top_of(a), y1, dy, n, len(bounds)))
    return windows


def page_width(diagram: Diagram) -> float:
    """Points across a page: the diagram's width, widened so the font reads at READABLE_PX on a slide."""
    opts = diagram.options
    if not opts.fit:
        return diagram.width
    readable = opts.png_width * opts.font_size / READABLE_PX
    return max(diagram.width, readable)


def page_source(diagram: Diagram, window: Window, fit: bool) -> str:
    """DOT for one window; `fit` pads it to 16:9 and centres the lanes."""
    width = page_width(diagram) if fit else diagram.width
    height = window.y1 - window.y0 + window.dy
    if fit:
        height = max(height, width * 9 / 16)
    x_offset = (width - diagram.width) / 2
    return _Painter(diagram, window, width, height, x_offset).paint()


def svg_source(diagram: Diagram) -> str:
    window = Window(0, len(diagram.rows), 0.0, diagram.height, 0.0)
    return _Painter(diagram, window, diagram.width, diagram.height, 0.0).paint()


_TITLE_RE = re.compile(r'(<g id="(?P<id>[^"]+)" class="[^"]*">\s*<title>)(?P<title>.*?)(</title>)', re.S)


def finish_svg(svg: str, diagram: Diagram) -> str:
    """Give each arrow's <title> its description (graphviz writes `a->b` there)."""
    titles = {a.id: a.title or a.label for a in diagram.arrows}
    titles.update({f"lane-{lane.id}": f"{lane.title} ({lane.subtitle})" for lane in diagram.lanes})
    for n, fold in enumerate(diagram.folds):
        titles[f"fold-{n}"] = f"{fold.label} {fold.detail}".strip()

    def sub(match: re.Match[str]) -> str:
        new = titles.get(html.unescape(match.group("id")))
        if new is None:
            return match.group(0)
        return match.group(1) + html.escape(new, quote=False) + match.group(4)

    return _TITLE_RE.sub(sub, svg)


# -- splitting graphviz's output of several graphs ----------------------------------------------------


def split_pngs(data: bytes) -> list[bytes]:
    """Graphviz writes one PNG per graph, back to back; cut them apart at each IEND chunk."""
    out = []
    pos = 0
    sig = b"\x89PNG\r\n\x1a\n"
    while pos < len(data):
        if data[pos : pos + 8] != sig:
            raise RenderError("graphviz wrote a PNG that cannot be read; please report it with the trace file.")
        p = pos + 8
        while True:
            length = int.from_bytes(data[p : p + 4], "big")
            kind = data[p + 4 : p + 8]
            p += 12 + length
            if kind == b"IEND":
                break
        out.append(data[pos:p])
        pos = p
    return out


def split_pdfs(data: bytes) -> list[bytes]:
    parts = []
    for chunk in re.split(rb"(?<=%%EOF\n)", data):
        if chunk.strip():
            parts.append(chunk)
    return parts


_OBJ_RE = re.compile(rb"(\d+) 0 obj\b")
_REF_RE = re.compile(rb"(\d+) 0 R\b")


def _pdf_objects(pdf: bytes) -> dict[int, bytes]:
    """The objects of a cairo PDF (classic xref table, no object streams): number → body between obj/endobj."""
    objects: dict[int, bytes] = {}
    pos = 0
    while True:
        match = _OBJ_RE.search(pdf, pos)
        if match is None:
            break
        num = int(match.group(1))
        start = match.end()
        stream_at = pdf.find(b"stream", start)
        end_at = pdf.find(b"endobj", start)
        if stream_at != -1 and stream_at < end_at:
            head = pdf[start:stream_at]
            length_match = re.search(rb"/Length (\d+)( 0 R)?", head)
            if length_match is None:
                raise RenderError("graphviz wrote a PDF that cannot be read; please report it with the trace file.")
            length = int(length_match.group(1))
            if length_match.group(2):
                ref = re.search(rb"\b%d 0 obj\s*(\d+)\s*endobj" % length, pdf)
                if ref is None:
                    raise RenderError("graphviz wrote a PDF that cannot be read; please report it.")
                length = int(ref.group(1))
            data_start = stream_at + len(b"stream")
            data_start += 2 if pdf[data_start : data_start + 2] == b"\r\n" else 1
            end_at = pdf.find(b"endobj", data_start + length)
        objects[num] = pdf[start:end_at]
        pos = end_at + len(b"endobj")
    return objects


def merge_pdfs(pdfs: Sequence[bytes]) -> bytes:
    """One PDF with every page of `pdfs`, renumbering objects; enough for cairo's output."""
    if len(pdfs) == 1:
        return pdfs[0]
    out_objects: list[tuple[int, bytes]] = []
    page_nums: list[int] = []
    next_num = 3  # 1: catalog, 2: pages
    for pdf in pdfs:
        objects = _pdf_objects(pdf)
        skip = {n for n, body in objects.items() if re.search(rb"/Type\s*/(Catalog|Pages)\b", body[:200])}
        skip |= {n for n, body in objects.items() if b"/Producer" in body[:200]}
        mapping = {n: next_num + i for i, n in enumerate(sorted(set(objects) - skip))}
        next_num += len(mapping)

        def renumber(body: bytes, mapping: dict[int, int] = mapping) -> bytes:
            cut = body.find(b"stream")
            head, rest = (body, b"") if cut == -1 else (body[:cut], body[cut:])
            head = _REF_RE.sub(lambda m: b"%d 0 R" % mapping.get(int(m.group(1)), 2), head)
            return head + rest

        for old, new in sorted(mapping.items(), key=lambda kv: kv[1]):
            body = renumber(objects[old])
            if re.search(rb"/Type\s*/Page\b", body[:200]):
                body = re.sub(rb"/Parent \d+ 0 R", b"/Parent 2 0 R", body)
                page_nums.append(new)
            out_objects.append((new, body))
    kids = b" ".join(b"%d 0 R" % n for n in page_nums)
    out_objects.append((1, b"\n<< /Type /Catalog /Pages 2 0 R >>\n"))
    out_objects.append((2, b"\n<< /Type /Pages /Kids [ %s ] /Count %d >>\n" % (kids, len(page_nums))))
    out_objects.sort()
    buf = bytearray(b"%PDF-1.5\n%\xb5\xed\xae\xfb\n")
    offsets = {}
    for num, body in out_objects:
        offsets[num] = len(buf)
        buf += b"%d 0 obj" % num + body + b"endobj\n"
    xref_at = len(buf)
    size = max(offsets) + 1
    buf += b"xref\n0 %d\n0000000000 65535 f \n" % size
    for num in range(1, size):
        buf += b"%010d 00000 n \n" % offsets[num] if num in offsets else b"0000000000 65535 f \n"
    buf += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, xref_at)
    return bytes(buf)


def pdf_page_count(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page\b", pdf))


def _png_dpi(diagram: Diagram) -> float:
    width = page_width(diagram) if diagram.options.fit else diagram.width
    return diagram.options.png_width / (width / PT_PER_INCH) if diagram.options.fit else 96.0


def _pages_source(diagram: Diagram, fmt_dpi: float | None) -> tuple[str, int]:
    fit = bool(diagram.options.fit)
    sources = []
    windows = page_windows(diagram)
    for window in windows:
        src = page_source(diagram, window, fit)
        if fmt_dpi is not None:
            src = src.replace("graph [", f"graph [dpi={fmt_dpi:.2f}, ", 1)
        sources.append(src)
    return "".join(sources), len(windows)


# -- renderers --------------------------------------------------------------------------------------


class SvgRenderer(Renderer):
    """The master drawing: one SVG, every row, ids and titles for every arrow."""

    name = "svg"
    output_file_extension = "svg"

    def render(self, diagram: Diagram) -> str:
        svg = run_neato(svg_source(diagram), "svg").decode("utf-8")
        return finish_svg(svg, diagram)


class PngRenderer(Renderer):
    """PNG pages (16:9 slides by default), all drawn by one graphviz run."""

    name = "png"
    output_file_extension = "png"
    output_is_binary = True
    paged = True

    def render(self, diagram: Diagram) -> bytes:
        return self.render_pages(diagram)[0]  # type: ignore[return-value]

    def render_pages(self, diagram: Diagram) -> list[str | bytes]:
        source, count = _pages_source(diagram, _png_dpi(diagram))
        pngs = split_pngs(run_neato(source, "png", "cairo"))
        if len(pngs) != count:
            raise RenderError(f"graphviz drew {len(pngs)} of {count} pages; please report it with the trace file.")
        return list(pngs)


class PdfRenderer(Renderer):
    """One PDF, one page per slide; vector text, so it prints sharp."""

    name = "pdf"
    output_file_extension = "pdf"
    output_is_binary = True

    def render(self, diagram: Diagram) -> bytes:
        source, count = _pages_source(diagram, None)
        pdfs = split_pdfs(run_neato(source, "pdf"))
        if len(pdfs) != count:
            raise RenderError(f"graphviz drew {len(pdfs)} of {count} pages; please report it with the trace file.")
        return merge_pdfs(pdfs)


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height of a PNG, from its IHDR chunk."""
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
