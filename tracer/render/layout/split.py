"""Lane windows: a diagram too wide for a slide even with the tersest labels is split by lanes.

The cut goes through a kernel or socket lane (a pipe, a connection, the wire),
which both halves show, so every message arrow stays whole on one side: the
server side with its pipe and its handlers, the client side with its readers
and writers. Only the dashed hints that would span both halves (connect →
accept, EOF) are left to the other views.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ipctrace.render.layout.measure import head_size
from ipctrace.render.layout.model import Arrow, Lane, LaneId, LaneKind, Metrics


@dataclass(frozen=True, slots=True)
class LaneWindow:
    """The lanes one slide shows, and where they are: x on the slide = lane.x - x0 (before scaling)."""

    lanes: frozenset[LaneId]
    x0: float
    width: float


def whole(lanes: Sequence[Lane], width: float) -> tuple[LaneWindow, ...]:
    return (LaneWindow(frozenset(lane.id for lane in lanes), 0.0, width),)


def _columns(lanes: Sequence[Lane]) -> list[list[Lane]]:
    by: dict[int, list[Lane]] = {}
    for lane in lanes:
        by.setdefault(lane.column, []).append(lane)
    return [by[c] for c in sorted(by)]


def split_windows(
    lanes: Sequence[Lane], arrows: Sequence[Arrow], width: float, room: float, m: Metrics
) -> tuple[tuple[LaneWindow, ...], frozenset[str]]:
    """Two windows sharing one kernel/socket column, each at most `room` wide; and the arrows left out.

    Returns the whole diagram as one window when no such cut exists.
    """
    columns = _columns(lanes)
    xs = [col[0].x for col in columns]
    column_of = {lane.id: lane.column for lane in lanes}
    order = sorted({lane.column for lane in lanes})
    position = {c: i for i, c in enumerate(order)}
    best: tuple[float, tuple[LaneWindow, ...], frozenset[str]] | None = None
    for i, col in enumerate(columns):
        if i in (0, len(columns) - 1) or any(lane.kind is LaneKind.PROCESS for lane in col):
            continue
        crossing = [a for a in arrows if _crosses(position[column_of[a.src]], position[column_of[a.dst]], i)]
        if any(not a.kind.dashed for a in crossing):
            continue
        half = max(head_size(lane, m).w for lane in col) / 2 + 2 * m.pad
        left_w = xs[i] + half
        right_x0 = xs[i] - half
        right_w = width - right_x0
        if max(left_w, right_w) > room:
            continue
        left = frozenset(lane.id for c in columns[: i + 1] for lane in c)
        right = frozenset(lane.id for c in columns[i:] for lane in c)
        windows = (LaneWindow(left, 0.0, left_w), LaneWindow(right, right_x0, right_w))
        score = abs(left_w - right_w)
        if best is None or score < best[0]:
            best = (score, windows, frozenset(str(a.id) for a in crossing))
    if best is None:
        return whole(lanes, width), frozenset()
    return best[1], best[2]


def _crosses(a: int, b: int, cut: int) -> bool:
    lo, hi = sorted((a, b))
    return lo < cut < hi or (lo < cut and hi > cut)
