"""Sides: which side of its lifeline each call label and note is written on, so no arrow runs through it.

A label goes away from its own row's arrows, and also away from the arrows
still in flight past its lifeline (an earlier send on its way down, a later
receive on its way in). When both sides are taken and the row sends a
message, the call's words join that message's label instead (`write → 100`
above `'client1 line 1…'`), so nothing is drawn where a line passes.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace

from ipctrace.render.layout.model import Arrow, CallKind, CallLabel, LabelAt, LaneId, Note, ProcessLane, Side

_OTHER = {Side.LEFT: Side.RIGHT, Side.RIGHT: Side.LEFT}


def _toward(a: Arrow, lane: LaneId, column: Mapping[LaneId, int]) -> Side:
    """The side of `lane` an arrow touching it leaves or arrives on."""
    other = a.dst if a.src == lane else a.src
    return Side.RIGHT if column[other] > column[lane] else Side.LEFT


_Blocked = dict[tuple[LaneId, int], set[Side]]
_Spans = dict[LaneId, list[tuple[int, int, Side]]]


def _blocked(arrows: Sequence[Arrow], column: Mapping[LaneId, int]) -> tuple[_Blocked, _Spans]:
    """Per (lane, row): the sides its own arrows use; per lane: the rows each arrow touching it spans."""
    blocked: dict[tuple[LaneId, int], set[Side]] = defaultdict(set)
    spans: dict[LaneId, list[tuple[int, int, Side]]] = defaultdict(list)
    for a in arrows:
        if a.src == a.dst or a.src not in column or a.dst not in column:
            continue
        for lane, row in ((a.src, a.src_row), (a.dst, a.dst_row)):
            blocked[(lane, row)].add(_toward(a, lane, column))
        if a.dst_row > a.src_row:
            for lane in (a.src, a.dst):
                spans[lane].append((a.src_row, a.dst_row, _toward(a, lane, column)))
    return blocked, spans


def _in_flight(spans: Sequence[tuple[int, int, Side]], rows: Sequence[int]) -> dict[int, set[Side]]:
    """For each of `rows`, the sides of the spans strictly around it."""
    out: dict[int, set[Side]] = {}
    ordered = sorted(spans)
    active: list[tuple[int, Side]] = []
    i = 0
    for row in sorted(set(rows)):
        while i < len(ordered) and ordered[i][0] < row:
            heapq.heappush(active, (ordered[i][1], ordered[i][2]))
            i += 1
        while active and active[0][0] <= row:
            heapq.heappop(active)
        out[row] = {side for _, side in active}
    return out


_DROPPED = CallLabel(ProcessLane(-1), -1, "")  # a call whose bar alone says it began


def _place_call(c: CallLabel, options: list[Side], own: set[Side], sends: bool) -> CallLabel | None:
    """The call on a free side; None: joined to its message's label; `_DROPPED`: left to its bar."""
    if options:
        return replace(c, side=options[0])
    if sends and not c.details and not c.mark:
        return None
    if c.kind is CallKind.ENTER and not c.details and not c.mark:
        return _DROPPED  # where arrows pass on both sides, the bar alone shows the call began
    return replace(c, side=_OTHER[next(iter(own))] if len(own) == 1 else c.side)


def choose_sides(
    calls: Sequence[CallLabel],
    notes: Sequence[Note],
    arrows: Sequence[Arrow],
    column: Mapping[LaneId, int],
    columns: int,
) -> tuple[tuple[CallLabel, ...], tuple[Note, ...], tuple[Arrow, ...]]:
    blocked, spans = _blocked(arrows, column)
    wanted: dict[LaneId, list[int]] = defaultdict(list)
    for call in calls:
        wanted[call.lane].append(call.row)
    for note in notes:
        wanted[note.lane].append(note.row)
    flying = {lane: _in_flight(spans.get(lane, []), rows) for lane, rows in wanted.items()}
    sends = {(a.src, a.src_row): a for a in arrows if a.src != a.dst and a.label_at is LabelAt.SRC}
    # A loop's rows write their calls toward the next lifeline, so the loop and what it carries stand on
    # the outer edge, beside nothing but their own lifeline (pipe2_nosleep: the child reads its own message).
    looped = {(a.src, row) for a in arrows if a.src == a.dst for row in (a.src_row, a.dst_row)}

    def free(lane: LaneId, row: int) -> list[Side]:
        taken = blocked.get((lane, row), set()) | flying.get(lane, {}).get(row, set())
        edge = Side.LEFT if column[lane] == 0 and columns > 1 else Side.RIGHT
        if (lane, row) in looped and columns > 1:
            edge = _OTHER[edge]
        return [s for s in (edge, _OTHER[edge]) if s not in taken]

    joined: dict[tuple[LaneId, int], str] = {}
    out_calls = []
    for c in calls:
        placed = _place_call(c, free(c.lane, c.row), blocked.get((c.lane, c.row), set()), (c.lane, c.row) in sends)
        if placed is None:
            joined[(c.lane, c.row)] = c.text  # said with the message instead
        elif placed is not _DROPPED:
            out_calls.append(placed)
    out_notes = tuple(replace(n, side=(free(n.lane, n.row) or [n.side])[0]) for n in notes)
    taken = {(c.lane, c.row): c.side for c in out_calls}
    out_arrows = []
    for a in arrows:
        if a.src == a.dst:
            a = replace(a, side=Side.LEFT if taken.get((a.src, a.src_row)) is Side.RIGHT else Side.RIGHT)
        elif (a.src, a.src_row) in joined:
            said = joined[(a.src, a.src_row)]
            a = replace(a, detail=f"{said} · {a.detail}" if a.detail else said)
        out_arrows.append(a)
    return tuple(out_calls), out_notes, tuple(out_arrows)
