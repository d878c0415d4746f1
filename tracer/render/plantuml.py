"""PlantUML: the same layout as text, for tools and slides that embed PlantUML.

Forked children are `create`d by their parent's fork() message, waits are
activations, printed lines and calls are notes, folds are `loop` groups.
"""

from __future__ import annotations

import re

from ipctrace.render.base import Renderer
from ipctrace.render.graphviz_svg import THEMES
from ipctrace.render.layout import Diagram, script


def plantuml_text(text: str) -> str:
    """Text safe in a PlantUML label: one line, backslashes doubled (PlantUML reads `\\n` as a line break)."""
    out = re.sub(r"\s+", " ", text).strip().replace("\\", "\\\\")
    return out or " "


def _q(text: str) -> str:
    return '"' + plantuml_text(text).replace('"', "''") + '"'


def _arrow(style: str) -> str:
    return {"solid": "->", "dashed": "-->", "lost": "->x"}[style]


class PlantUmlRenderer(Renderer):
    name = "plantuml"
    output_file_extension = "puml"

    def render(self, diagram: Diagram) -> str:
        theme = THEMES[diagram.options.theme]
        ids = {lane.id: f"L{i}" for i, lane in enumerate(diagram.lanes)}
        lines = [
            "@startuml",
            f"title {plantuml_text(diagram.title)}",
            "hide footbox",
            f"skinparam defaultFontName {diagram.font}",
            f"skinparam defaultFontSize {diagram.options.font_size:g}",
            f"skinparam backgroundColor {theme.bg}",
            "skinparam sequenceMessageAlign center",
        ]
        first_message_to: dict[str, bool] = {}
        created = {a.dst for a in diagram.arrows if a.kind == "fork"}
        for lane in diagram.lanes:
            keyword = {"process": "participant", "channel": "queue", "socket": "boundary"}[lane.kind]
            name = f"{_q(lane.title)[:-1]}\\n{_q(lane.subtitle)[1:]}"
            lines.append(f"{keyword} {name} as {ids[lane.id]}")
        depth = 0
        active: dict[str, int] = {}
        pending: list[str] = []  # deactivations waiting for the next message (PlantUML needs one in between)
        for item in script(diagram):
            pad = "  " * depth
            if item.kind in ("message", "loop", "end-loop"):
                lines.extend(f"{pad}deactivate {ids[lane]}" for lane in pending)
                pending = []
            if item.kind == "loop":
                lines.append(f"{pad}loop {plantuml_text(item.text)}")
                depth += 1
            elif item.kind == "end-loop":
                depth -= 1
                lines.append(f"{'  ' * depth}end")
            elif item.kind == "message":
                if item.other in created and not first_message_to.get(item.other):
                    lines.append(f"{pad}create {ids[item.other]}")
                first_message_to[item.other] = True
                lines.append(
                    f"{pad}{ids[item.lane]} {_arrow(item.style)} {ids[item.other]} : {plantuml_text(item.text)}"
                )
            elif item.kind == "activate":
                if item.lane in pending:
                    pending.remove(item.lane)  # one wait right after another: the bar continues
                    active[item.lane] = active.get(item.lane, 0) + 1
                    continue
                active[item.lane] = active.get(item.lane, 0) + 1
                lines.append(f"{pad}activate {ids[item.lane]}")
            elif item.kind == "deactivate":
                if active.get(item.lane, 0) > 0:
                    active[item.lane] -= 1
                    pending.append(item.lane)
            elif item.kind == "note":
                side = "left" if item.side == "left" else "right"
                if item.lines:
                    lines.append(f"{pad}note {side} of {ids[item.lane]}")
                    lines.extend(f"{pad}  {plantuml_text(x)}" for x in item.lines)
                    lines.append(f"{pad}end note")
                else:
                    lines.append(f"{pad}note {side} of {ids[item.lane]} : {plantuml_text(item.text)}")
            elif item.kind == "over":
                lines.append(f"{pad}hnote over {ids[item.lane]} : {plantuml_text(item.text)}")
        lines.extend(f"deactivate {ids[lane]}" for lane in pending)
        lines.append("@enduml")
        return "\n".join(lines) + "\n"
