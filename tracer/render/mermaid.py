"""Mermaid `sequenceDiagram`: the same layout as text, for Markdown slides (Marp, GitHub, Obsidian).

Mermaid has no slanted arrows, so a message is stated where it arrives; waits
are activations, printed lines and calls are notes, folds are `loop` blocks.
"""

from __future__ import annotations

import re

from ipctrace.render.base import Renderer
from ipctrace.render.layout import Diagram, script

_ENTITIES = {";": "#59;", "#": "#35;", "<": "#lt;", ">": "#gt;", "%": "#37;", "{": "#123;", "}": "#125;"}


def mermaid_text(text: str) -> str:
    """Text safe inside a Mermaid message or note: statement separators and markup become entity codes."""
    out = "".join(_ENTITIES.get(ch, ch) for ch in text)
    out = re.sub(r"\s+", " ", out).strip()
    return out or " "


def _arrow(style: str) -> str:
    return {"solid": "->>", "dashed": "-->>", "lost": "-x"}[style]


class MermaidRenderer(Renderer):
    name = "mermaid"
    output_file_extension = "mmd"

    def render(self, diagram: Diagram) -> str:
        ids = {lane.id: f"L{i}" for i, lane in enumerate(diagram.lanes)}
        lines = ["sequenceDiagram"]
        lines.append(f"    title {mermaid_text(diagram.title)}")
        for lane in diagram.lanes:
            lines.append(f"    participant {ids[lane.id]} as {mermaid_text(f'{lane.title} · {lane.subtitle}')}")
        depth = 1
        active: dict[str, int] = {}
        for item in script(diagram):
            pad = "    " * depth
            if item.kind == "loop":
                lines.append(f"{pad}loop {mermaid_text(item.text)}")
                depth += 1
            elif item.kind == "end-loop":
                depth -= 1
                lines.append(f"{'    ' * depth}end")
            elif item.kind == "message":
                lines.append(f"{pad}{ids[item.lane]}{_arrow(item.style)}{ids[item.other]}: {mermaid_text(item.text)}")
            elif item.kind == "activate":
                active[item.lane] = active.get(item.lane, 0) + 1
                lines.append(f"{pad}activate {ids[item.lane]}")
            elif item.kind == "deactivate":
                if active.get(item.lane, 0) > 0:
                    active[item.lane] -= 1
                    lines.append(f"{pad}deactivate {ids[item.lane]}")
            elif item.kind == "note":
                body = "<br/>".join(mermaid_text(x) for x in item.lines) if item.lines else mermaid_text(item.text)
                side = "left of" if item.side == "left" else "right of"
                lines.append(f"{pad}Note {side} {ids[item.lane]}: {body}")
            elif item.kind == "over":
                lines.append(f"{pad}Note over {ids[item.lane]}: {mermaid_text(item.text)}")
        return "\n".join(lines) + "\n"
