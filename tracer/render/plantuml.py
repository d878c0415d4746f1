"""PlantUML: the same diagram as text, for tools and slides that embed PlantUML.

The same script as Mermaid: messages where they are sent, calls and printed
lines as notes, waits as activations, folds as `loop` groups, a forked child
`create`d by its parent's fork. One `@startuml … @enduml` block per slide page
in one file (PlantUML draws each as its own image), so no image reaches the
4096-pixel limit where PlantUML cuts. Colours come from the same theme as the
SVG, text included.
"""

from __future__ import annotations

import re

from ipctrace.render.base import Parts, Renderer
from ipctrace.render.graphviz.themes import THEMES, Theme
from ipctrace.render.layout.measure import head_lines
from ipctrace.render.layout.model import Diagram, Lane, LaneId, LaneKind, Side
from ipctrace.render.layout.script import ScriptItem, ScriptPart, Statement, Style, script

_ARROWS = {Style.SOLID: "->", Style.DASHED: "-->", Style.LOST: "->x"}
_KEYWORDS = {LaneKind.PROCESS: "participant", LaneKind.CHANNEL: "queue", LaneKind.SOCKET: "boundary"}


_SPACES = re.compile(r"\s+")


def plantuml_text(text: str) -> str:
    """Text safe in a PlantUML label: one line, backslashes doubled (PlantUML reads `\\n` as a line break)."""
    out = _SPACES.sub(" ", text).strip().replace("\\", "\\\\")
    return out or " "


def _q(text: str) -> str:
    return '"' + plantuml_text(text).replace('"', "''") + '"'


def _lane_name(lane: Lane) -> str:
    """The title over the head's other lines (the subtitle, the pid), as one quoted PlantUML name."""
    return '"' + "\\n".join(_q(line)[1:-1] for line in (lane.title, *head_lines(lane))) + '"'


def _skin(theme: Theme, font: str, size: float) -> list[str]:
    return [
        f"skinparam defaultFontName {font.split(',')[0]}",
        f"skinparam defaultFontSize {size:g}",
        f"skinparam defaultFontColor {theme.fg}",
        f"skinparam backgroundColor {theme.bg}",
        "skinparam sequenceMessageAlign center",
        f"skinparam ArrowColor {theme.msg}",
        f"skinparam SequenceLifeLineBorderColor {theme.lifeline}",
        f"skinparam ParticipantBackgroundColor {theme.process_fill}",
        f"skinparam ParticipantBorderColor {theme.process_line}",
        f"skinparam ParticipantFontColor {theme.fg}",
        f"skinparam QueueBackgroundColor {theme.channel_fill}",
        f"skinparam QueueBorderColor {theme.channel_line}",
        f"skinparam QueueFontColor {theme.fg}",
        f"skinparam BoundaryBackgroundColor {theme.socket_fill}",
        f"skinparam BoundaryBorderColor {theme.socket_line}",
        f"skinparam BoundaryFontColor {theme.fg}",
        f"skinparam NoteBackgroundColor {theme.note_fill}",
        f"skinparam NoteBorderColor {theme.note_line}",
        f"skinparam NoteFontColor {theme.fg}",
        f"skinparam SequenceGroupBackgroundColor {theme.fold_fill}",
        f"skinparam SequenceGroupBorderColor {theme.fold_line}",
        f"skinparam SequenceGroupFontColor {theme.fg}",
        f"skinparam SequenceGroupHeaderFontColor {theme.fg}",
        f"skinparam SequenceLifeLineBackgroundColor {theme.wait_fill}",
        f"skinparam TitleFontColor {theme.fg}",
    ]


def _statement(item: ScriptItem, ids: dict[LaneId, str], decl: dict[LaneId, str], pad: str) -> list[str]:
    lane = ids.get(item.lane) if item.lane is not None else None
    if item.kind is Statement.LOOP:
        return [f"{pad}loop {plantuml_text(item.lines[0])}"]
    if item.kind is Statement.END_LOOP:
        return [f"{pad}end"]
    if lane is None:
        return []
    if item.kind is Statement.MESSAGE:
        other = ids.get(item.other) if item.other is not None else None
        return [] if other is None else [f"{pad}{lane} {_ARROWS[item.style]} {other} : {plantuml_text(item.lines[0])}"]
    if item.kind in (Statement.ACTIVATE, Statement.DEACTIVATE):
        return [f"{pad}{item.kind.value} {lane}"]
    if item.kind is Statement.CREATE:
        return [f"{pad}create {decl[item.lane]}"]  # type: ignore[index]
    where = "over" if item.kind is Statement.OVER else "left of" if item.side is Side.LEFT else "right of"
    kind = "hnote" if item.kind is Statement.OVER else "note"
    return [f"{pad}{kind} {where} {lane}", *(f"{pad}  {plantuml_text(x)}" for x in item.lines), f"{pad}end {kind}"]


def _part(diagram: Diagram, part: ScriptPart, number: int, count: int) -> list[str]:
    theme = THEMES[diagram.options.theme]
    shown = set(part.lanes)
    ids = {lane.id: f"L{i}" for i, lane in enumerate(diagram.lanes) if lane.id in shown}
    title = diagram.title + (f" ({number}/{count})" if count > 1 else "")
    lines = ["@startuml", f"title {plantuml_text(title)}", "hide footbox", *_skin(theme, diagram.font, 14)]
    created = {item.lane for item in part.items if item.kind is Statement.CREATE}
    decl = {
        lane.id: f"{_KEYWORDS[lane.kind]} {_lane_name(lane)} as {ids[lane.id]}"
        for lane in diagram.lanes
        if lane.id in shown
    }
    lines.extend(decl[lane.id] for lane in diagram.lanes if lane.id in shown and lane.id not in created)
    lines.extend(f"activate {ids[lane]}" for lane in part.active if lane in ids)
    depth = 0
    pending: list[str] = []  # PlantUML ends a bar at a message: deactivations wait for the next one
    for item in part.items:
        if item.kind in (Statement.MESSAGE, Statement.LOOP, Statement.END_LOOP):
            lines.extend(f"{'  ' * depth}{line}" for line in pending)
            pending = []
        if item.kind is Statement.END_LOOP:
            depth -= 1
        statement = _statement(item, ids, decl, "  " * depth)
        if item.kind is Statement.DEACTIVATE:
            pending.extend(s.strip() for s in statement)
            continue
        if item.kind is Statement.ACTIVATE and statement and f"deactivate {statement[0].split()[-1]}" in pending:
            pending.remove(f"deactivate {statement[0].split()[-1]}")  # one wait right after another: one bar
            continue
        lines.extend(statement)
        if item.kind is Statement.LOOP:
            depth += 1
    lines.extend(pending)
    lines.append("@enduml")
    return lines


class PlantUmlRenderer(Renderer):
    name = "plantuml"
    output_file_extension = "puml"

    def render(self, diagram: Diagram) -> Parts:
        parts = script(diagram)
        blocks = [line for n, part in enumerate(parts, start=1) for line in [*_part(diagram, part, n, len(parts)), ""]]
        return ("\n".join(blocks),)
