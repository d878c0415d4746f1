"""Mermaid `sequenceDiagram`: the same diagram as text, for Markdown slides (Marp, GitHub, Obsidian).

Mermaid has no slanted arrows, so a message is stated where it is sent; calls
and printed lines are notes beside their lifeline, waits are activations,
folds are `loop` blocks, a forked child is `create`d by its parent's fork. A
diagram longer than a slide becomes one Mermaid diagram per slide page
(`sequence-01.mmd`, ...), each declaring the lanes it shows. The theme is
Mermaid's own nearest one (`default`, `dark`, `neutral` for print).
"""

from __future__ import annotations

import re

from ipctrace.render.base import Parts, Renderer
from ipctrace.render.layout.model import Diagram, LaneId, Side
from ipctrace.render.layout.script import ScriptItem, ScriptPart, Statement, Style, script
from ipctrace.render.options import ThemeName

_ENTITIES = {";": "#59;", "#": "#35;", "<": "#lt;", ">": "#gt;", "%": "#37;", "{": "#123;", "}": "#125;"}
_THEMES = {ThemeName.LIGHT: "default", ThemeName.DARK: "dark", ThemeName.PRINT: "neutral"}
_ARROWS = {Style.SOLID: "->>", Style.DASHED: "-->>", Style.LOST: "-x"}


def mermaid_text(text: str) -> str:
    """Text safe inside a Mermaid message or note: statement separators and markup become entity codes."""
    out = "".join(_ENTITIES.get(ch, ch) for ch in text)
    out = re.sub(r"\s+", " ", out).strip()
    return out or " "


def _statement(item: ScriptItem, ids: dict[LaneId, str]) -> str | None:
    lane = ids.get(item.lane) if item.lane is not None else None
    if item.kind is Statement.LOOP:
        return f"loop {mermaid_text(item.lines[0])}"
    if item.kind is Statement.END_LOOP:
        return "end"
    if lane is None:
        return None
    if item.kind is Statement.MESSAGE:
        other = ids.get(item.other) if item.other is not None else None
        return None if other is None else f"{lane}{_ARROWS[item.style]}{other}: {mermaid_text(item.lines[0])}"
    if item.kind in (Statement.ACTIVATE, Statement.DEACTIVATE):
        return f"{item.kind.value} {lane}"
    body = "<br/>".join(mermaid_text(x) for x in item.lines)
    if item.kind is Statement.OVER:
        return f"Note over {lane}: {body}"
    if item.kind is Statement.NOTE:
        return f"Note {'left of' if item.side is Side.LEFT else 'right of'} {lane}: {body}"
    return None


def _part(diagram: Diagram, part: ScriptPart, number: int, count: int) -> str:
    ids = {lane.id: f"L{i}" for i, lane in enumerate(diagram.lanes)}
    shown = set(part.lanes)
    ids = {lane: name for lane, name in ids.items() if lane in shown}
    created = {item.lane for item in part.items if item.kind is Statement.CREATE}
    title = diagram.title + (f" ({number}/{count})" if count > 1 else "")
    lines = [f"%%{{init: {{'theme': '{_THEMES[diagram.options.theme]}'}}}}%%", "sequenceDiagram"]
    lines.append(f"    title {mermaid_text(title)}")
    titles = {lane.id: lane.title for lane in diagram.lanes}
    for lane in diagram.lanes:
        if lane.id in shown and lane.id not in created:
            lines.append(f"    participant {ids[lane.id]} as {mermaid_text(lane.title)}")
    lines.extend(f"    activate {ids[lane_id]}" for lane_id in part.active if lane_id in ids)
    lines.extend(_body(part, ids, titles))
    return "\n".join(lines) + "\n"


def _body(part: ScriptPart, ids: dict[LaneId, str], titles: dict[LaneId, str]) -> list[str]:
    """The statements of one part, indented by loop depth; bars still open at its end are closed."""
    lines: list[str] = []
    depth = 1
    active: dict[LaneId, int] = {lane_id: 1 for lane_id in part.active if lane_id in ids}
    for item in part.items:
        if item.kind is Statement.CREATE:
            if item.lane is not None and item.lane in ids:
                name = mermaid_text(titles[item.lane])
                lines.append(f"{'    ' * depth}create participant {ids[item.lane]} as {name}")
            continue
        depth -= item.kind is Statement.END_LOOP
        text = _statement(item, ids)
        if text is None:
            continue
        if item.lane is not None and item.kind in (Statement.ACTIVATE, Statement.DEACTIVATE):
            active[item.lane] = active.get(item.lane, 0) + (1 if item.kind is Statement.ACTIVATE else -1)
        lines.append("    " * depth + text)
        depth += item.kind is Statement.LOOP
    for lane_id, n in active.items():
        lines.extend(f"    deactivate {ids[lane_id]}" for _ in range(max(n, 0)))
    return lines


class MermaidRenderer(Renderer):
    name = "mermaid"
    output_file_extension = "mmd"

    def render(self, diagram: Diagram) -> Parts:
        parts = script(diagram)
        return tuple(_part(diagram, part, n, len(parts)) for n, part in enumerate(parts, start=1))
