"""A canvas for one drawing (the SVG, or one slide): DOT nodes and edges at positions ipctrace computed.

The layout is in diagram points (y down); a canvas maps it onto its page
(`scale`, offsets) and writes DOT in page points with y up, as graphviz wants.
Text is an HTML-like label on its own node, filled with the background so the
lines it sits on pass behind it.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field

from ipctrace.render.graphviz.themes import Theme
from ipctrace.render.layout.model import Metrics

PT_PER_INCH = 72.0


def _q(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True, slots=True)
class Transform:
    """page x = scale * x + dx, page y = scale * (y - y0) + dy."""

    scale: float
    dx: float
    dy: float
    y0: float

    def x(self, x: float) -> float:
        return self.scale * x + self.dx

    def y(self, y: float) -> float:
        return self.scale * (y - self.y0) + self.dy


#: The C0 controls XML 1.0 forbids (all but tab, newline and carriage return), shown as `\x01` as labels show them.
_NOT_IN_XML = {c: f"\\x{c:02x}" for c in (*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20))}


@dataclass
class Canvas:
    width: float
    height: float
    theme: Theme
    metrics: Metrics
    font_face: str
    mono_face: str
    lines: list[str] = field(default_factory=list)
    n: int = 0

    # -- text ---------------------------------------------------------------------------------

    def font(self, text: str, size: float, color: str | None = None, mono: bool = False, bold: bool = False) -> str:
        face = self.mono_face if mono else self.font_face
        if not text.isprintable():  # a title or argv holding a control character: XML (SVG) cannot hold it
            text = text.translate(_NOT_IN_XML)
        inner = html.escape(text, quote=True)  # backslashes stay literal in HTML-like labels: `\0` shows as written
        if bold:
            inner = f"<B>{inner}</B>"
        return f'<FONT FACE="{face}" POINT-SIZE="{size:.2f}" COLOR="{color or self.theme.fg}">{inner}</FONT>'

    def lines_table(self, rows: Sequence[str], align: str = "LEFT") -> str:
        if len(rows) == 1:
            return rows[0]  # one line needs no table (and graphviz parses it faster)
        body = "".join(f'<TR><TD ALIGN="{align}">{row}</TD></TR>' for row in rows)
        return f'<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="0">{body}</TABLE>'

    # -- DOT ----------------------------------------------------------------------------------

    def node(self, x: float, y: float, name: str | None = None, **attrs: str | float) -> str:
        """A node centred at page point (x, y), y down."""
        if name is None:
            self.n += 1
            name = f"n{self.n}"
        parts = [f'pos="{x:.2f},{self.height - y:.2f}!"']
        for key, value in attrs.items():
            if type(value) is float:
                parts.append(f"{key.rstrip('_')}={value:.3f}")
            elif key == "label" and value and value[0] == "<":  # type: ignore[index]
                parts.append(f"label={value}")
            else:
                parts.append(f"{key.rstrip('_')}={_q(str(value))}")
        self.lines.append(f'"{name}" [{", ".join(parts)}];')
        return name

    def point(self, x: float, y: float) -> str:
        return self.node(x, y, shape="point", width=0.0001, height=0.0001, style="invis", label="")

    def edge(self, a: str, b: str, **attrs: str | float) -> None:
        parts = []
        for key, value in attrs.items():
            key = key.rstrip("_")
            parts.append(f"{key}={value:.3f}" if isinstance(value, float) else f"{key}={_q(str(value))}")
        self.lines.append(f"{_q(a)} -> {_q(b)} [{', '.join(parts)}];")

    def line(self, x1: float, y1: float, x2: float, y2: float, **attrs: str | float) -> None:
        self.edge(self.point(x1, y1), self.point(x2, y2), **attrs)

    def curve(self, points: Sequence[tuple[float, float]], tip: tuple[float, float], **attrs: str | float) -> None:
        """An edge along a cubic Bézier (4 points, page coordinates, y down) ending in an arrowhead at `tip`."""
        a, b = self.point(*points[0]), self.point(*tip)
        spline = " ".join(f"{x:.2f},{self.height - y:.2f}" for x, y in points)
        self.edge(a, b, pos=f"e,{tip[0]:.2f},{self.height - tip[1]:.2f} {spline}", **attrs)

    def box(self, x: float, y: float, w: float, h: float, name: str | None = None, **attrs: str | float) -> str:
        return self.node(
            x, y, name, width=max(w, 0.5) / PT_PER_INCH, height=max(h, 0.5) / PT_PER_INCH, fixedsize="true", **attrs
        )

    def text(
        self, x: float, y: float, label: str, w: float, h: float, name: str | None = None, **attrs: str | float
    ) -> str:
        """A label as its own node, centred at (x, y), filled with the background."""
        attrs.setdefault("style", "filled")
        attrs.setdefault("fillcolor", self.theme.bg)
        return self.box(x, y, w, h, name, shape="plaintext", margin="0", label=f"<{label}>", **attrs)

    def source(self, graph_id: str) -> str:
        t = self.theme
        header = [
            "digraph sequence {",
            f'graph [splines=line, outputorder="edgesfirst", bgcolor={_q(t.bg)}, pad="0", margin="0", '
            f'fontname={_q(self.font_face)}, id={_q(graph_id)}, bb="0,0,{self.width:.2f},{self.height:.2f}"];',
            f"node [fontname={_q(self.font_face)}, fontcolor={_q(t.fg)}, penwidth=1.2];",
            f"edge [fontname={_q(self.font_face)}, penwidth=1.6, arrowsize=0.9, color={_q(t.fg)}];",
        ]
        invisible = 'shape=point, width=0.0001, height=0.0001, style=invis, label=""'
        corners = [
            f'"corner-top" [pos="0,{self.height:.2f}!", {invisible}];',
            f'"corner-bottom" [pos="{self.width:.2f},0!", {invisible}];',
        ]
        return "\n".join([*header, *corners, *self.lines, "}"]) + "\n"
