"""The diagram as a script of statements, for the text formats (Mermaid, PlantUML).

Those formats place things themselves: they need what happens at each row,
in the rows' (causal) order, not coordinates. A message is stated at the row
that sent it, so nothing is shown received before it was sent and no process
sends after its end; one sent to a process forked later is stated where that
process begins. The script is cut into parts at the slide pages, so a long
diagram becomes several diagrams instead of one that a tool cuts off.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from enum import StrEnum

from ipctrace.render.layout.measure import note_text
from ipctrace.render.layout.model import ArrowKind, BarKind, Diagram, LaneId, Side


class Statement(StrEnum):
    LOOP = "loop"
    END_LOOP = "end-loop"
    MESSAGE = "message"
    ACTIVATE = "activate"
    DEACTIVATE = "deactivate"
    NOTE = "note"  # beside a lane: a call label or printed lines
    OVER = "over"  # on a lane: how it ended
    CREATE = "create"  # a lane that begins here (a forked child)


class Style(StrEnum):
    SOLID = "solid"
    DASHED = "dashed"
    LOST = "lost"


@dataclass(frozen=True, slots=True)
class ScriptItem:
    """One statement of a text sequence diagram, in drawing order; `row` is the layout row it stands for."""

    kind: Statement
    row: int
    lane: LaneId | None = None
    other: LaneId | None = None
    lines: tuple[str, ...] = ()
    style: Style = Style.SOLID
    side: Side = Side.RIGHT
    handler: bool = False


@dataclass(frozen=True, slots=True)
class ScriptPart:
    """The statements of one page, with the lanes it shows and those active when it begins."""

    lanes: tuple[LaneId, ...]
    active: tuple[LaneId, ...]
    items: tuple[ScriptItem, ...]


def _calls_and_bars(diagram: Diagram, at: dict[int, list[ScriptItem]], ends: dict[int, list[ScriptItem]]) -> None:
    for call in diagram.calls:
        lines = (call.text, *call.details, *call.mark)
        item = ScriptItem(Statement.NOTE, call.row, call.lane, lines=lines, side=call.side, handler=bool(call.handler))
        at[call.row].append(item)
    for bar in diagram.bars:
        if bar.kind in (BarKind.WAIT, BarKind.SLEEP, BarKind.OPEN):
            at[bar.row0].append(ScriptItem(Statement.ACTIVATE, bar.row0, bar.lane))
        if bar.kind in (BarKind.WAIT, BarKind.SLEEP):
            ends[bar.row1].append(ScriptItem(Statement.DEACTIVATE, bar.row1, bar.lane))


def _messages(diagram: Diagram, at: dict[int, list[ScriptItem]]) -> None:
    """Each message at the row that sent it; one sent to a process not forked yet (bytes waiting in a socket
    for a handler the server forks later), just after that process's creation, the first row it exists."""
    created = {a.dst: a.src_row for a in diagram.arrows if a.kind is ArrowKind.FORK}
    later: list[tuple[int, ScriptItem]] = []
    for arrow in diagram.arrows:
        text = (
            f"{arrow.label} ({arrow.detail})" if arrow.detail else arrow.label
        ) or "…"  # a bare leg out of the kernel
        style = Style.DASHED if arrow.kind.dashed else Style.LOST if arrow.kind is ArrowKind.LOST else Style.SOLID
        if arrow.kind is ArrowKind.FORK:
            at[arrow.src_row].append(ScriptItem(Statement.CREATE, arrow.src_row, arrow.dst))
        row = max(arrow.src_row, created.get(arrow.dst, arrow.src_row))  # a fork's own row is its child's first
        message = ScriptItem(Statement.MESSAGE, row, arrow.src, arrow.dst, (text,), style)
        if row == arrow.src_row:
            at[row].append(message)
        else:
            later.append((row, message))
    for row, message in later:  # after every statement of that row's messages, the fork's among them
        at[row].append(message)


def _notes_and_ends(diagram: Diagram, at: dict[int, list[ScriptItem]], ends: dict[int, list[ScriptItem]]) -> None:
    for note in diagram.notes:
        lines = tuple(note_text(line).plain for line in note.lines)
        at[note.row].append(ScriptItem(Statement.NOTE, note.row, note.lane, lines=lines, side=note.side))
    for lane in diagram.lanes:
        if lane.end is not None:
            row = len(diagram.rows) - 1 if lane.open_end else lane.last_row
            lines = (lane.end.text, *([lane.end.note] if lane.end.note else []))
            ends[row].append(ScriptItem(Statement.OVER, row, lane.id, lines=lines))


def _by_row(diagram: Diagram) -> dict[int, list[ScriptItem]]:
    """What is stated at each row: calls, activations, messages (where sent), notes, then bar ends and endings."""
    at: dict[int, list[ScriptItem]] = defaultdict(list)
    ends: dict[int, list[ScriptItem]] = defaultdict(list)
    _calls_and_bars(diagram, at, ends)
    _messages(diagram, at)
    _notes_and_ends(diagram, at, ends)
    for row, items in ends.items():
        at[row].extend(items)
    return at


@dataclass
class _Walk:
    """The state of the walk down the rows: open bars per lane and loops left open by a page break."""

    active: dict[LaneId, int]
    open_loops: int = 0

    def keep(self, item: ScriptItem) -> bool:
        """Count bars; a deactivation of a lane that is not active is dropped."""
        if item.lane is None or item.kind not in (Statement.ACTIVATE, Statement.DEACTIVATE):
            return True
        if item.kind is Statement.DEACTIVATE:
            if self.active[item.lane] <= 0:
                return False
            self.active[item.lane] -= 1
        else:
            self.active[item.lane] += 1
        return True


def _part(diagram: Diagram, row0: int, row1: int, shown: set[LaneId], at, walk: _Walk) -> ScriptPart:
    folds_at = {f.row0: f for f in diagram.folds}
    fold_ends: dict[int, int] = defaultdict(int)
    for f in diagram.folds:
        fold_ends[f.row1] += 1
    starting = tuple(lane for lane, n in walk.active.items() if n > 0)
    items = [ScriptItem(Statement.LOOP, row0, lines=("…",)) for _ in range(walk.open_loops)]  # a loop cut by a break
    for row in range(row0, row1):
        if row in folds_at:
            items.append(ScriptItem(Statement.LOOP, row, lines=(folds_at[row].detail,)))
            walk.open_loops += 1
        items.extend(item for item in at.get(row, ()) if walk.keep(item))
        for _ in range(fold_ends.get(row, 0)):
            items.append(ScriptItem(Statement.END_LOOP, row))
            walk.open_loops -= 1
    items.extend(ScriptItem(Statement.END_LOOP, row1 - 1) for _ in range(walk.open_loops))
    lanes = tuple(lane.id for lane in diagram.lanes if lane.id in shown)
    return ScriptPart(lanes, starting, tuple(items))


def script(diagram: Diagram) -> tuple[ScriptPart, ...]:
    """Walk the rows top to bottom, page by page: what a text format states at each."""
    at = _by_row(diagram)
    ranges: dict[tuple[int, int], set[LaneId]] = {}  # a page split by lanes is one part: the tools place lanes
    for page in diagram.pages:
        ranges.setdefault((page.row0, page.row1), set()).update(p.lane for p in page.lanes)
    walk = _Walk(defaultdict(int))
    return tuple(_part(diagram, row0, row1, shown, at, walk) for (row0, row1), shown in ranges.items())
