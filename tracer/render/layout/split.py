"""Lane windows: a diagram too wide for a slide even with the tersest labels is split by lanes.

The cut goes through a kernel or socket lane (a pipe, a connection, the wire),
which both halves show, so every message arrow stays whole on one side: the
server side with its pipe and its handlers, the client side with its readers
and writers. Only the dashed hints that would span both halves (connect →
accept, EOF) are left to the other views.

When no one cut serves the whole diagram (a server's second client connects
before the first one's connection closes: both clients' lanes are alive at
once), each slide is cut on its own (`page_windows`): a slide shows only the
columns alive in its rows, packed as close as what stands beside them in those
rows allows, and, if that is still too wide, one window per group of columns
that messages join, each with the shared socket column (the server's end).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from ipctrace.render.layout.geometry import Reach
from ipctrace.render.layout.measure import head_size
from ipctrace.render.layout.model import Arrow, Lane, LaneId, LaneKind, Metrics


@dataclass(frozen=True, slots=True)
class LaneWindow:
    """The lanes one slide shows, and where they are: x on the slide = lane.x - x0 (before scaling)."""

    lanes: frozenset[LaneId]
    x0: float
    width: float
    xs: Mapping[LaneId, float] | None = None  # a slide's own x per lane (packed columns) instead of lane.x - x0

    def x(self, lane: Lane) -> float:
        return self.xs[lane.id] if self.xs is not None else lane.x - self.x0


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


def page_windows(
    shown: Sequence[Lane],
    arrows: Sequence[Arrow],
    bands: range,
    reach: Reach,
    room: float,
    m: Metrics,
    partners: Collection[tuple[LaneId, LaneId]] = (),
) -> tuple[LaneWindow, ...] | None:
    """The windows of one slide showing `shown` lanes in `bands`, each at most `room` wide; None if none fit.

    One packed window if it fits; else, through a socket or kernel column, one window per group of the
    other columns that the slide's arrows join (with `partners`, a process and the socket it writes to
    anywhere in the drawing, and dashed hints when they fit; solid arrows always); the
    shared column is a socket's (the wire) if one serves, then one every window has a message to or from,
    then the one giving the fewest windows, then the narrowest.
    """
    by_col: dict[int, list[Lane]] = {}
    for lane in shown:
        by_col.setdefault(lane.column, []).append(lane)
    cols = sorted(by_col)
    if not cols:
        return None
    one = _packed(cols, by_col, bands, reach, m)
    if one.width <= room:
        return (one,)
    column_of = {lane.id: lane.column for lane in shown}
    inside = [a for a in arrows if a.src in column_of and a.dst in column_of and a.src != a.dst]
    pairs = [(a.src, a.dst) for a in inside]
    solid = [(a.src, a.dst) for a in inside if not a.kind.dashed]
    known = [(a, b) for a, b in partners if a in column_of and b in column_of]
    joinings = (pairs + known, pairs, solid) if known else (pairs, solid)
    best: tuple[tuple[bool, int, int, float], tuple[LaneWindow, ...]] | None = None
    for pivot in cols[1:-1]:
        if any(lane.kind is LaneKind.PROCESS for lane in by_col[pivot]):
            continue
        for joining in joinings:
            windows = _around(pivot, cols, by_col, joining, column_of, bands, reach, room, m)
            if windows is not None:
                ends = [lane.id for lane in by_col[pivot]]
                detached = sum(not any(_joins(a, ends, w.lanes) for a in inside) for w in windows)
                through_wire = all(lane.kind is LaneKind.SOCKET for lane in by_col[pivot])
                score = (not through_wire, detached, len(windows), max(w.width for w in windows))
                if best is None or score < best[0]:
                    best = (score, windows)
                break
    return best[1] if best is not None else None


def _joins(arrow: Arrow, ends: Sequence[LaneId], lanes: frozenset[LaneId]) -> bool:
    """The arrow joins the shared column to another lane of the window (a window beside its shared lane)."""
    return (arrow.src in ends and arrow.dst in lanes and arrow.dst not in ends) or (
        arrow.dst in ends and arrow.src in lanes and arrow.src not in ends
    )


def _around(
    pivot: int,
    cols: Sequence[int],
    by_col: Mapping[int, list[Lane]],
    pairs: Sequence[tuple[LaneId, LaneId]],
    column_of: Mapping[LaneId, int],
    bands: range,
    reach: Reach,
    room: float,
    m: Metrics,
) -> tuple[LaneWindow, ...] | None:
    """Windows sharing the `pivot` column: the other columns grouped by the `pairs` joining them, packed in order."""
    group = {c: c for c in cols if c != pivot}

    def find(c: int) -> int:
        while group[c] != c:
            group[c] = group[group[c]]
            c = group[c]
        return c

    for a, b in pairs:
        src, dst = column_of[a], column_of[b]
        if pivot not in (src, dst):
            group[find(src)] = find(dst)
    groups: dict[int, list[int]] = {}
    for c in group:
        groups.setdefault(find(c), []).append(c)
    ordered = sorted(groups.values(), key=min)
    windows: list[LaneWindow] = []
    taken: list[int] = []
    for members in ordered:
        if _packed(sorted([*members, pivot]), by_col, bands, reach, m).width > room:
            return None
        merged = sorted({*taken, *members, pivot})
        if taken and _packed(merged, by_col, bands, reach, m).width <= room:
            taken = [*taken, *members]
            continue
        if taken:
            windows.append(_packed(sorted({*taken, pivot}), by_col, bands, reach, m))
        taken = list(members)
    windows.append(_packed(sorted({*taken, pivot}), by_col, bands, reach, m))
    return tuple(windows)


def _packed(
    cols: Sequence[int], by_col: Mapping[int, list[Lane]], bands: range, reach: Reach, m: Metrics
) -> LaneWindow:
    """The columns `cols` side by side, each gap as wide as what faces each other across it in `bands` needs."""
    widest = {c: max(head_size(lane, m).w for lane in by_col[c]) for c in cols}
    x = max([m.pad * 2, widest[cols[0]] / 2 + m.pad, *(reach.left.get((b, cols[0]), 0.0) + m.pad for b in bands)])
    xs = {cols[0]: x}
    for a, b in zip(cols, cols[1:], strict=False):
        facing = max((reach.right.get((band, a), 0.0) + reach.left.get((band, b), 0.0) for band in bands), default=0.0)
        x += max(m.min_gap, facing + m.pad, widest[a] / 2 + widest[b] / 2 + m.pad)
        xs[b] = x
    edge = widest[cols[-1]] / 2 + m.pad  # a head repeated at the top of the slide
    right = max([m.pad * 2, edge, *(reach.right.get((b, cols[-1]), 0.0) + m.pad for b in bands)])
    lanes = {lane.id: xs[c] for c in cols for lane in by_col[c]}
    return LaneWindow(frozenset(lanes), 0.0, x + right, lanes)
