"""Clearing crossings: no arrow may run through a label that is not its own, so the label stays readable.

After the positions (`geometry.place`) a long diagonal can still pass over a
label of another lane or a later row. Two remedies, in this order:

- room: the label's band moves down until the arrow passes above it, or the
  arrow's lower end moves down until the arrow passes beside it, each band by
  at most `MOST_ROOM` lines;
- the other end: a message label that an earlier message still in flight runs
  through at its sending end (a second line written before the first was read)
  goes below the message's receiving end instead, where readers of sequence
  diagrams also look for it — kept only when fewer crossings are left.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from ipctrace.render.layout.boxes import Box, BoxKind, Segment, boxes, crossings, label_box, segments
from ipctrace.render.layout.geometry import Arranged, Placed, labelled_at_dst, place
from ipctrace.render.layout.items import Items
from ipctrace.render.layout.model import Arrow, ArrowKind, Diagram, LabelAt, LaneId, Metrics
from ipctrace.render.options import RenderOptions

MOST_ROOM = 8.0  # lines of room a band may gain: a long arrow whose end moves with the band never clears it
_ROUNDS = 12


@dataclass(frozen=True)
class Cleared:
    placed: Placed
    hints: frozenset[str]  # dashed hints left out: they would run through a label
    left: tuple[tuple[Segment, Box], ...]  # crossings that no room cleared


def clear_crossings(
    items: Items, families: Mapping[LaneId, tuple[object, ...]], m: Metrics, arranged: Arranged
) -> tuple[Placed, frozenset[str]]:
    """The placed diagram with as few arrows through labels as room and the labels' other ends give.

    Returns it and the ids of the dashed hints left out (connect → accept, EOF): the calls at both ends say it.
    """
    first = _make_room(items, families, m, arranged)
    moved = _labels_to_move(first, items, m)
    if not moved:
        return first.placed, first.hints
    second = _make_room(items, families, m, labelled_at_dst(items, arranged, moved, m))
    better = len(second.left) < len(first.left)
    chosen = second if better else first
    return chosen.placed, chosen.hints


def _labels_to_move(cleared: Cleared, items: Items, m: Metrics) -> frozenset[str]:
    """Message labels at their sending end that a crossing left runs through, and that nothing would cross below
    their receiving end.

    On a FIFO channel the earlier message in flight has arrived by then. A label holding its call's words
    (`write → 100`) stays: the words belong to the sending end.
    """
    crossed = list(dict.fromkeys(box.ref for _seg, box in cleared.left if box.kind is BoxKind.LABEL))
    if not crossed:
        return frozenset()
    own = {str(a.id): a for a in items.arrows}
    drawn = [a for a in cleared.placed.arrows if str(a.id) not in cleared.hints]
    arrows = {str(a.id): a for a in drawn}
    probe = _probe(cleared.placed, drawn, m)
    lines = list(segments(probe))
    taken = list(boxes(probe))
    moved: set[str] = set()
    for ref in crossed:
        a = arrows[ref]
        if a.kind is not ArrowKind.MSG or a.src == a.dst or a.src_row == a.dst_row or a.label_at is not LabelAt.SRC:
            continue
        if a.detail != own[ref].detail:
            continue
        there = label_box(probe, replace(a, label_at=LabelAt.DST))
        if any(seg.ref != ref and seg.crosses(there) for seg in lines):
            continue
        if any(box.ref != ref and box.overlaps(there) for box in taken):
            continue
        moved.add(ref)
        taken.append(there)
    return frozenset(moved)


def _probe(placed: Placed, arrows: Sequence[Arrow], m: Metrics) -> Diagram:
    """A diagram of what is placed so far, to ask where its boxes are."""
    index = {lane.id: i for i, lane in enumerate(placed.lanes)}
    return Diagram(
        "",
        "",
        "",
        "",
        RenderOptions(),
        m,
        placed.lanes,
        placed.rows,
        tuple(arrows),
        (),
        placed.calls,
        placed.notes,
        (),
        (),
        lane_index=index,
    )


def _make_room(items: Items, families: Mapping[LaneId, tuple[object, ...]], m: Metrics, arranged: Arranged) -> Cleared:
    """Where an arrow passing over a lane runs through a label, give that label's band room above it, and again.

    Dashed hints that would run through a label are left out instead.
    """
    placed = place(items, families, m, 0.0, arranged=arranged)
    extra: dict[int, float] = {}
    hints: set[str] = set()
    dashed = {str(a.id) for a in placed.arrows if a.kind.dashed and a.kind is not ArrowKind.FORK}
    most = MOST_ROOM * m.line
    for done in range(_ROUNDS + 1):
        found = crossings(_probe(placed, [a for a in placed.arrows if str(a.id) not in hints], m), suspects_only=True)
        hints |= {seg.ref for seg, _box in found if seg.ref in dashed}
        pushed = [(seg, box) for seg, box in found if seg.ref not in dashed]
        if not pushed or done == _ROUNDS:
            break
        grown = False
        lower_band = {str(a.id): placed.rows[a.dst_row].band for a in placed.arrows}
        for seg, box in pushed:
            band, more = placed.rows[box.row].band, _room_below(seg, box, m)
            if extra.get(band, 0.0) + more > most:  # more than the label's band may take: the end
                steeper = _room_at_end(seg, box, m)
                if steeper is not None and extra.get(lower_band[seg.ref], 0.0) + steeper <= most:
                    band, more = lower_band[seg.ref], steeper
            room = min(extra.get(band, 0.0) + more, most)
            grown |= room > extra.get(band, 0.0)
            extra[band] = room
        if not grown:  # every band it would move is at its limit: a crossing that moving cannot clear stays
            break
        placed = place(items, families, m, 0.0, extra, arranged)  # the same sides, columns and bands: taller
    return Cleared(placed, frozenset(hints), tuple(pushed))


def _room_below(seg: Segment, box: Box, m: Metrics) -> float:
    """How far down a label must go so that the arrow crossing it passes above it.

    Moving the label's band down moves the arrow's lower end with it (it is later), so its line drops
    by the fraction `f` of the way, at the label's edge nearer that end: the label gains (1 - f) of it.
    """
    (x0, y0), (x1, y1) = sorted(((seg.x0, seg.y0), (seg.x1, seg.y1)), key=lambda p: p[1])
    edge = box.x1 if x1 > x0 else box.x0
    f = min(max((edge - x0) / (x1 - x0), 0.0), 1.0) if x1 != x0 else 1.0
    over = y0 + f * (y1 - y0) - box.y0 + m.line * 0.4
    return max(over, m.line) / max(1.0 - f, 0.25)


def _room_at_end(seg: Segment, box: Box, m: Metrics) -> float | None:
    """How far down the arrow's lower end must go so that it passes beside the label instead of through it.

    For a label near that end, moving the label's band moves the end with it and clears nothing; moving the
    end alone makes the arrow steeper, so at the label's bottom edge it is still on the far side of the label.
    None when the label reaches past the arrow's upper end, where no slope clears it.
    """
    (x0, y0), (x1, y1) = sorted(((seg.x0, seg.y0), (seg.x1, seg.y1)), key=lambda p: p[1])
    margin = m.pad
    across = (x0 - box.x1 - margin) if x1 < x0 else (box.x0 - margin - x0)  # room beside the label at the top
    if across <= 0 or box.y1 <= y0:
        return None
    needed = abs(x1 - x0) * (box.y1 - y0) / across  # the arrow's height at which it passes the label's corner
    return max(needed - (y1 - y0), 0.0) + m.line * 0.4
