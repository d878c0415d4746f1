"""Geometry: label sides, columns, bands and positions, in points, so that no two things overlap.

A pure function from `Items` to `Placed`, in four steps:

- sides: each call label and note goes to the side of its lane away from that
  row's arrows (outside at the edges);
- columns: lanes of one family whose lives do not overlap share a column (a
  server's second client handler is drawn below its first);
- bands: consecutive rows that do not depend on each other and do not touch
  each other's columns share one y (the child writes while the parent waits),
  which keeps the causal order from top to bottom and saves a slide's height;
- positions: each band's height from what is drawn in it, and each gap
  between columns from the widest things facing each other in any band.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from ipctrace.render.layout.items import Items
from ipctrace.render.layout.measure import (
    arrow_label,
    call_size,
    end_size,
    head_size,
    loop_label_offset,
    note_size,
    text_width,
)
from ipctrace.render.layout.model import (
    Arrow,
    ArrowKind,
    CallLabel,
    Fold,
    LabelAt,
    Lane,
    LaneId,
    LaneKind,
    Metrics,
    Note,
    Row,
    RowKind,
    Side,
)
from ipctrace.render.layout.sides import choose_sides

#: Kinds of rows that may share a band with rows of other lanes.
_SHAREABLE = frozenset({RowKind.CALL, RowKind.ENTER, RowKind.OUTPUT, RowKind.EXIT})


@dataclass(frozen=True)
class Placed:
    rows: tuple[Row, ...]
    lanes: tuple[Lane, ...]
    arrows: tuple[Arrow, ...]
    calls: tuple[CallLabel, ...]
    notes: tuple[Note, ...]
    width: float
    height: float  # the bottom of the last band, plus room for endings drawn below it
    columns: int


# -- sides ------------------------------------------------------------------------------------------


# -- columns ----------------------------------------------------------------------------------------


def assign_columns(lanes: Sequence[Lane], families: Mapping[LaneId, tuple[object, ...]]) -> dict[LaneId, int]:
    """A column per lane; a lane reuses the column of an earlier lane of its family that ended before it began."""
    column: dict[LaneId, int] = {}
    last_row: list[int] = []  # per column: the last row of its latest lane
    family_of: list[tuple[object, ...]] = []
    for lane in lanes:
        family = families.get(lane.id, ())
        free = [
            c
            for c in range(len(last_row))
            if family and family_of[c] == family and last_row[c] < lane.first_row and not _open(lanes, column, c)
        ]
        if free:
            c = free[-1]
            last_row[c] = lane.last_row
        else:
            c = len(last_row)
            last_row.append(lane.last_row)
            family_of.append(family)
        column[lane.id] = c
    return column


def _open(lanes: Sequence[Lane], column: Mapping[LaneId, int], c: int) -> bool:
    """A column whose lane stays blocked to the end is never reused."""
    return any(lane.open_end for lane in lanes if column.get(lane.id) == c)


# -- bands ------------------------------------------------------------------------------------------


def _footprints(items: Items, calls, notes, arrows, column: Mapping[LaneId, int]) -> list[set[int]]:
    """Per row, what it occupies at its own y, in half columns: 2c is lane c's lifeline, 2c ± 1 the gaps beside it.

    A call label or note takes the gap on its side; an arrow that leaves (or arrives) slanted takes the
    gap next to that end, where its label and the steep start of its line are; a level arrow takes
    everything between its ends; an ending's box takes both gaps.
    """
    feet = [{2 * column[r.lane]} if r.lane in column else set() for r in items.rows]
    for c in (*calls, *notes):
        feet[c.row].add(2 * column[c.lane] + (1 if c.side is Side.RIGHT else -1))
    for a in arrows:
        if a.src not in column or a.dst not in column:
            continue
        src, dst = 2 * column[a.src], 2 * column[a.dst]
        if a.src == a.dst:
            for row in (a.src_row, a.dst_row):
                feet[row].add(src + (1 if a.side is Side.RIGHT else -1))
        elif a.src_row == a.dst_row:
            feet[a.src_row].update(range(min(src, dst), max(src, dst) + 1))
        else:
            step = 1 if dst > src else -1
            feet[a.src_row].update((src, src + step))
            feet[a.dst_row].update((dst, dst - step))
    for lane in items.lanes:
        if lane.end is not None and lane.last_row < len(feet):
            c = 2 * column[lane.id]
            feet[lane.last_row].update((c - 1, c, c + 1))
    return feet


def make_bands(items: Items, calls, notes, arrows, column: Mapping[LaneId, int]) -> list[int]:
    """The band of every row: a row joins the band above when nothing ties it to that band."""
    feet = _footprints(items, calls, notes, arrows, column)
    heads = {lane.first_row for lane in items.lanes}
    fold_edges = {f.row0 for f in items.folds} | {f.row1 + 1 for f in items.folds}
    tied: set[int] = set()
    for a in items.arrows:
        if a.kind is ArrowKind.FORK:
            tied.add(a.src_row)
    band_of: list[int] = []
    start = 0
    taken: set[int] = set()
    for i, row in enumerate(items.rows):
        joins = (
            i > 0
            and row.kind in _SHAREABLE
            and items.rows[start].kind in _SHAREABLE
            and i not in heads
            and i not in fold_edges
            and i not in tied
            and items.depends[i] < start
            and not feet[i] & taken
        )
        if joins:
            taken |= feet[i]
            band_of.append(band_of[-1])
        else:
            start, taken = i, set(feet[i])
            band_of.append(band_of[-1] + 1 if band_of else 0)
    return band_of


def fold_room(fold: Fold, m: Metrics) -> float:
    """Room above a fold's first row for its tab and words."""
    return max(1, len(fold.lines)) * m.line + 0.9 * m.pad


# -- heights ----------------------------------------------------------------------------------------


@dataclass
class _Extent:
    above: float
    below: float

    def at_least(self, above: float = 0.0, below: float = 0.0) -> None:
        self.above = max(self.above, above)
        self.below = max(self.below, below)


def _extents(
    items: Items, calls: Sequence[CallLabel], notes: Sequence[Note], arrows: Sequence[Arrow], m: Metrics
) -> list[_Extent]:
    ext = [_Extent(0.6 * m.line, 0.6 * m.line) for _ in items.rows]
    for c in calls:
        h = call_size(c, m).h
        ext[c.row].at_least(h / 2 + 0.1 * m.line, h / 2 + 0.1 * m.line)
    for n in notes:
        h = note_size(n, m).h
        ext[n.row].at_least(h / 2 + 0.1 * m.line, h / 2 + 0.1 * m.line)
    for a in arrows:
        label = arrow_label(a, m)
        if a.src == a.dst and a.src_row != a.dst_row:
            continue
        if a.label_at is LabelAt.SRC:
            ext[a.src_row].at_least(above=label.h + 0.3 * m.line)
        else:
            ext[a.dst_row].at_least(below=label.h + 0.35 * m.line)
    for lane in items.lanes:
        head = head_size(lane, m).h
        ext[lane.first_row].at_least(head / 2 + 0.2 * m.line, head / 2 + 0.2 * m.line)
        if lane.end is not None and not lane.open_end:
            end = end_size(lane.end, m).h
            exit_row = items.rows[lane.last_row].kind is RowKind.EXIT and items.rows[lane.last_row].lane == lane.id
            if exit_row:
                ext[lane.last_row].at_least(end / 2 + 0.15 * m.line, end / 2 + 0.15 * m.line)
            else:
                ext[lane.last_row].at_least(below=ext[lane.last_row].below + end + 0.3 * m.line)
    return ext


def _head_room(items: Items, m: Metrics) -> dict[int, float]:
    """Kernel and socket lanes whose first row already has an arrow at them: their head goes above that row."""
    touched = {(a.src, a.src_row) for a in items.arrows} | {(a.dst, a.dst_row) for a in items.arrows}
    room: dict[int, float] = {}
    for lane in items.lanes:
        if lane.kind is not LaneKind.PROCESS and (lane.id, lane.first_row) in touched:
            room[lane.first_row] = max(room.get(lane.first_row, 0.0), head_size(lane, m).h + m.pad)
    return room


def place_rows(
    items: Items,
    bands: Sequence[int],
    calls,
    notes,
    arrows,
    m: Metrics,
    top: float,
    extra: Mapping[int, float] | None = None,
) -> tuple[list[Row], float]:
    """Each band's y, top and bottom, stacked from `top` down."""
    ext = _extents(items, calls, notes, arrows, m)
    room = _head_room(items, m)
    fold_top = {f.row0: fold_room(f, m) for f in items.folds}
    fold_end = {f.row1 for f in items.folds}
    members: dict[int, list[int]] = defaultdict(list)
    for i, b in enumerate(bands):
        members[b].append(i)
    rows = list(items.rows)
    y = top
    for band in sorted(members):
        idx = members[band]
        above = max(ext[i].above for i in idx)
        below = max(ext[i].below for i in idx)
        pre = max((room.get(i, 0.0) for i in idx), default=0.0)
        y += (extra or {}).get(band, 0.0)
        y += max((fold_top.get(i, 0.0) for i in idx), default=0.0)
        center = y + pre + above
        for i in idx:
            head_y = center - above - pre / 2 if i in room else None
            rows[i] = replace(rows[i], band=band, y=center, top=y, bottom=center + below, head_y=head_y)
        y = center + below + 0.12 * m.line
        if any(i in fold_end for i in idx):
            y += m.line * 0.6
    return rows, y


# -- widths -----------------------------------------------------------------------------------------


@dataclass
class Reach:
    """Per band and column: how far things stand out to the left and to the right of the lifeline."""

    left: dict[tuple[int, int], float]
    right: dict[tuple[int, int], float]

    def add(self, band: int, col: int, side: Side, width: float) -> None:
        target = self.right if side is Side.RIGHT else self.left
        target[(band, col)] = max(target.get((band, col), 0.0), width)

    def centred(self, band: int, col: int, width: float) -> None:
        self.add(band, col, Side.LEFT, width / 2)
        self.add(band, col, Side.RIGHT, width / 2)


def reach_of(placed: Placed, m: Metrics) -> Reach:
    """What stands out beside each placed column in each band: what a slide showing some columns must leave room for."""
    column = {lane.id: lane.column for lane in placed.lanes}
    band = [row.band for row in placed.rows]
    return _reach(placed.lanes, band, placed.calls, placed.notes, placed.arrows, column, m)


def _reach(lanes: Sequence[Lane], band: Sequence[int], calls, notes, arrows, column, m: Metrics) -> Reach:
    reach = Reach({}, {})
    beside = m.bar / 2 + m.pad * 0.6
    for c in calls:
        reach.add(band[c.row], column[c.lane], c.side, beside + call_size(c, m).w)
    for n in notes:
        reach.add(band[n.row], column[n.lane], n.side, beside + note_size(n, m).w)
    for lane in lanes:
        reach.centred(band[lane.first_row], column[lane.id], head_size(lane, m).w)
        if lane.end is not None:
            reach.centred(band[lane.last_row], column[lane.id], end_size(lane.end, m).w)
    for a in arrows:
        label = arrow_label(a, m)
        if a.src == a.dst:  # a loop beside the lifeline, its label beside the loop
            reach.add(band[a.src_row], column[a.src], a.side, loop_label_offset(m) + label.w + m.pad * 0.6)
            continue
        src, dst = column[a.src], column[a.dst]
        toward = Side.RIGHT if dst > src else Side.LEFT
        if a.label_at is LabelAt.SRC:
            reach.add(band[a.src_row], src, toward, beside + label.w + m.pad)
        else:
            away = Side.LEFT if toward is Side.RIGHT else Side.RIGHT
            reach.add(band[a.dst_row], dst, away, beside + label.w + m.pad)
    return reach


def _gaps(reach: Reach, columns: int, items: Items, column, m: Metrics) -> tuple[list[float], float, float]:
    gaps = [m.min_gap] * max(columns - 1, 0)
    left = right = m.pad * 2
    for (band, col), w in reach.right.items():
        if col < columns - 1:
            gaps[col] = max(gaps[col], w + reach.left.get((band, col + 1), 0.0) + m.pad)
        else:
            right = max(right, w + m.pad)
    for (band, col), w in reach.left.items():
        if col == 0:
            left = max(left, w + m.pad)
        else:
            gaps[col - 1] = max(gaps[col - 1], w + reach.right.get((band, col - 1), 0.0) + m.pad)
    widest: dict[int, float] = defaultdict(float)  # heads repeated at the top of a page stand side by side
    for lane in items.lanes:
        widest[column[lane.id]] = max(widest[column[lane.id]], head_size(lane, m).w)
    for col in range(columns - 1):
        gaps[col] = max(gaps[col], widest[col] / 2 + widest[col + 1] / 2 + m.pad)
    return gaps, left, right


@dataclass(frozen=True)
class Arranged:
    """What `place` decides before any height: label sides, columns, bands and each column's x (so the width).

    The width depends on the bands, not on the rows' heights: a density too wide for a slide is rejected from
    this alone, and the crossings' extra room (heights only) places the same arrangement again.
    """

    column: Mapping[LaneId, int]
    columns: int
    calls: tuple[CallLabel, ...]
    notes: tuple[Note, ...]
    arrows: tuple[Arrow, ...]
    bands: tuple[int, ...]
    xs: tuple[float, ...]
    width: float


def arrange(items: Items, families: Mapping[LaneId, tuple[object, ...]], m: Metrics) -> Arranged:
    """Sides, columns, bands and the columns' x (see the module docstring)."""
    column = assign_columns(items.lanes, families)
    columns = max(column.values(), default=-1) + 1
    calls, notes, arrows = choose_sides(items.calls, items.notes, items.arrows, column, columns)
    bands = make_bands(items, calls, notes, arrows, column)
    return _measured(
        items, Arranged(column, columns, tuple(calls), tuple(notes), tuple(arrows), tuple(bands), (), 0.0), m
    )


def _measured(items: Items, a: Arranged, m: Metrics) -> Arranged:
    """`a` with each column's x and the width, from what stands beside each column in each band."""
    reach = _reach(items.lanes, a.bands, a.calls, a.notes, a.arrows, a.column, m)
    gaps, left, right = _gaps(reach, a.columns, items, a.column, m)
    xs = [left]
    for gap in gaps:
        xs.append(xs[-1] + gap)
    width = xs[-1] + right if xs else left + right
    for fold in items.folds:  # the fold's words run along its top edge
        widest = max((text_width(line, m.small) for line in fold.lines), default=0.0)
        width = max(width, text_width(fold.label, m.font, bold=True) + widest + 5 * m.pad)
    return replace(a, xs=tuple(xs), width=width)


def labelled_at_dst(items: Items, a: Arranged, ids: frozenset[str], m: Metrics) -> Arranged:
    """`a` with the labels of the arrows `ids` below their receiving ends, and the columns' gaps measured again.

    The sides and bands stay: a slanted arrow's band already keeps the gap beside its receiving end, where
    the label goes.
    """
    arrows = tuple(replace(x, label_at=LabelAt.DST) if str(x.id) in ids else x for x in a.arrows)
    return _measured(items, replace(a, arrows=arrows), m)


def place(
    items: Items,
    families: Mapping[LaneId, tuple[object, ...]],
    m: Metrics,
    top: float,
    extra: Mapping[int, float] | None = None,
    arranged: Arranged | None = None,
) -> Placed:
    """Sides, columns, bands and positions (see the module docstring); `extra` room above some bands.

    `arranged`: `arrange(items, families, m)`, when the caller has it.
    """
    a = arranged or arrange(items, families, m)
    rows, bottom = place_rows(items, a.bands, a.calls, a.notes, a.arrows, m, top, extra)
    lanes = tuple(replace(lane, column=a.column[lane.id], x=a.xs[a.column[lane.id]]) for lane in items.lanes)
    open_ends = [end_size(lane.end, m).h for lane in lanes if lane.open_end and lane.end is not None]
    height = bottom + (max(open_ends) + m.line if open_ends else 0.0)
    return Placed(tuple(rows), lanes, a.arrows, a.calls, a.notes, a.width, height, a.columns)
