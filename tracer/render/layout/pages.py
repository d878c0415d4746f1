"""Pages: the drawing cut into 16:9 slides, only between exchanges, each scaled to be read from the back row.

Every page is 960 × 540 points (1920 × 1080 pixels as PNG). The scale is the
same on every page of a diagram: 1 (the smallest text at `font_size`, 28 px by
default) for diagrams longer than a page, larger for a diagram that fits on
one page, so a small diagram fills its slide.

A page may break before a band only where no arrow, no TCP handshake or
teardown and no folded loop would be cut; among those places the breaks are
chosen (dynamic programming) for the fewest pages, then the fullest pages
before the last, never leaving a page that holds only processes ending (exits,
printed lines, quiet calls, a sleep) when the exchange before them can go along.
A blocked call that spans a break continues visibly: the pages say which lanes
go on and which come from the page before. A drawing too wide for a slide is
shown through lane windows (`split`): one cut for the whole drawing, or, when
no such cut exists, one chosen slide by slide.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from ipctrace.render.layout.geometry import Reach, fold_room
from ipctrace.render.layout.measure import caption_lines
from ipctrace.render.layout.model import (
    Arrow,
    ArrowKind,
    Bar,
    BarKind,
    Fold,
    Lane,
    LaneId,
    Metrics,
    Page,
    PageLane,
    Row,
    RowKind,
)
from ipctrace.render.layout.split import LaneWindow, page_windows, whole
from ipctrace.render.options import PAGE_HEIGHT_PT, PAGE_WIDTH_PT

MARGIN = 10.0  # points around a page's content
MAX_SCALE = 1.8  # a small diagram is enlarged at most this much
LEGEND_ROOM = 3.0  # lines of room under the last page's rows that let the legend in
_PAGE, _CUT, _ENDING_ONLY = 1e4, 1e7, 1e6  # costs: a page, an arrow cut by a forced break, a page of endings
_FEW = 0.25  # of a page: a last slide of only endings below this holds too little to stand alone
_EXITS_ONLY = 2 * _ENDING_ONLY  # a page of nothing but lanes ending is worse than one of a lane's own calls


@dataclass(frozen=True, slots=True)
class Frame:
    """The parts of every page that are not the drawing: title, caption (first page), footer."""

    title_h: float
    caption_lines: tuple[str, ...]
    footer_h: float
    heads_h: float  # the band of repeated lane heads, unscaled

    def rows_height(self, first: bool, scale: float, m: Metrics) -> float:
        """Page points left for rows, before scaling (diagram points)."""
        used = 2 * MARGIN * 0.6 + self.title_h + self.footer_h + m.line * 0.4
        if first:
            used += len(self.caption_lines) * m.line
        else:
            used += self.heads_h * scale
        return (PAGE_HEIGHT_PT - used) / scale


def frame_of(caption: str, lanes: Sequence[Lane], m: Metrics) -> Frame:
    lines = caption_lines(caption, PAGE_WIDTH_PT - 2 * MARGIN, m.small) if caption else ()
    heads = repeated_head_h(m) + m.pad if lanes else 0.0
    return Frame(m.title * 1.35, lines, m.line + m.pad * 0.5, heads)


def repeated_head_h(m: Metrics) -> float:
    """A lane's head repeated at the top of a later page: its title on one line."""
    return m.line * 1.1 + m.pad * 0.6


_QUIET = frozenset((RowKind.EXIT, RowKind.OUTPUT, RowKind.CALL))


@dataclass(frozen=True)
class _Band:
    first: int  # row index
    last: int
    top: float
    bottom: float
    ending_only: bool
    exits_only: bool  # nothing but processes exiting


def _bands(
    rows: Sequence[Row],
    folds: Sequence[Fold],
    arrows: Sequence[Arrow],
    bars: Sequence[Bar],
    m: Metrics,
    height: float,
) -> list[_Band]:
    """Bands with their extents; a band is an ending when nothing in it but processes finishing happens.

    Nothing happens between processes at a row no arrow touches that is an exit, printed lines, a call,
    or the start of a sleep: a page of only those would show the lanes ending and nothing else.
    """
    fold_top = {f.row0: fold_room(f, m) for f in folds}
    touched = {a.src_row for a in arrows} | {a.dst_row for a in arrows}
    sleeps = {(b.lane, b.row0) for b in bars if b.kind is BarKind.SLEEP}
    out: list[_Band] = []
    for row in rows:
        top = row.top - fold_top.get(row.index, 0.0)
        quiet = row.kind in _QUIET or (row.kind is RowKind.ENTER and (row.lane, row.index) in sleeps)
        ending = row.index not in touched and quiet
        if out and out[-1].last == row.index - 1 and rows[out[-1].first].band == row.band:
            prev = out[-1]
            exits = prev.exits_only and row.kind is RowKind.EXIT
            out[-1] = _Band(
                prev.first, row.index, prev.top, max(prev.bottom, row.bottom), prev.ending_only and ending, exits
            )
        else:
            out.append(_Band(row.index, row.index, top, row.bottom, ending, row.kind is RowKind.EXIT))
    if out:
        last = out[-1]
        out[-1] = replace(last, bottom=max(last.bottom, height))
    return out


def _cuts(
    bands: Sequence[_Band], arrows: Sequence[Arrow], together: Sequence[tuple[int, int]], folds, room: float
) -> list[int]:
    """Per band: how many things a break just before it would cut (0: a clean break).

    A message longer than a page (`room`) is cut wherever the breaks fall: it does not count, so that
    it does not hide the short messages around it that a break can still keep whole.
    """
    cuts = [0] * (len(bands) + 1)
    spans = [(a.src_row, a.dst_row) for a in arrows if a.dst_row > a.src_row]
    spans += [(a, b) for a, b in together] + [(f.row0, f.row1) for f in folds]
    delta = [0] * (len(bands) + 2)
    band_at: dict[int, int] = {}
    for i, b in enumerate(bands):
        for r in range(b.first, b.last + 1):
            band_at[r] = i
    for lo, hi in spans:
        first, last = band_at.get(lo), band_at.get(hi)
        if first is None or last is None or last <= first or bands[last].bottom - bands[first].top > room:
            continue
        delta[first + 1] += 1  # breaks before bands first+1 .. last cut this span
        delta[last + 1] -= 1
    running = 0
    for i in range(len(bands) + 1):
        running += delta[i]
        cuts[i] = running
    return cuts


def choose_breaks(
    bands: Sequence[_Band], cuts: Sequence[int], frame: Frame, scale: float, m: Metrics, max_rows: int | None
) -> list[int]:
    """Band indices where pages start (the first is 0), by dynamic programming over clean breaks."""
    n = len(bands)
    inf = float("inf")
    cost = [inf] * (n + 1)
    back = [0] * (n + 1)
    cost[0] = 0.0
    for a in range(n):
        if cost[a] == inf:
            continue
        room = frame.rows_height(a == 0, scale, m)
        slack = frame.footer_h / scale  # the last page may take its footer's room rather than leave endings alone
        ending_only = exits_only = True
        for b in range(a + 1, n + 1):
            height = bands[b - 1].bottom - bands[a].top
            rows = bands[b - 1].last - bands[a].first + 1
            limit = room + slack if b == n else room
            if b > a + 1 and (height > limit or (max_rows is not None and rows > max_rows)):
                break
            ending_only = ending_only and bands[b - 1].ending_only
            exits_only = exits_only and bands[b - 1].exits_only
            fill = min(height / room, 1.0) if b < n else 1.0  # the last page may be short
            c = cost[a] + _PAGE + 100 * (1 - fill) ** 2 + (cuts[b] * _CUT if b < n else 0.0)
            if ending_only and a > 0:
                c += _EXITS_ONLY if exits_only else _ENDING_ONLY
                if b == n and height < room * _FEW:  # a last slide of a few lanes ending: take rows from the one before
                    c += _ENDING_ONLY
            if c < cost[b]:
                cost[b], back[b] = c, a
        whole_rest = bands[n - 1].bottom - bands[a].top
        if a > 0 and whole_rest <= room + slack and cost[a] + _PAGE < cost[n] and max_rows is None:
            ending = all(bands[i].ending_only for i in range(a, n))
            if not ending:
                cost[n], back[n] = cost[a] + _PAGE, a
    starts = []
    b = n
    while b > 0:
        b = back[b]
        starts.append(b)
    return sorted(starts) or [0]


def _scale(width: float, bands: Sequence[_Band], frame: Frame, m: Metrics) -> float:
    across = (PAGE_WIDTH_PT - 2 * MARGIN) / max(width, 1.0)
    if not bands:
        return min(across, MAX_SCALE)
    total = bands[-1].bottom - bands[0].top
    down = frame.rows_height(True, 1.0, m) / max(total, 1.0)  # at scale 1: points left for rows / rows' height
    one_page = min(across, down)
    if one_page >= 1.0:  # enlarged to fill the slide, but not over the legend's room under the rows
        kept = (LEGEND_ROOM + 0.2) * m.line  # a little over what the legend asks, so rounding never drops it
        with_legend = (frame.rows_height(True, 1.0, m) - kept) / max(total, 1.0)
        return min(one_page, MAX_SCALE, max(with_legend, 1.0))
    return min(across, 1.0)


def paginate(
    rows: Sequence[Row],
    lanes: Sequence[Lane],
    arrows: Sequence[Arrow],
    bars: Sequence[Bar],
    folds: Sequence[Fold],
    together: Sequence[tuple[int, int]],
    width: float,
    height: float,
    frame: Frame,
    m: Metrics,
    max_rows: int | None = None,
    windows: Sequence[LaneWindow] = (),
    reach: Reach | None = None,
) -> tuple[tuple[Page, ...], frozenset[str]]:
    """The pages of a drawing (see the module docstring), each row range once per lane window; and the arrows
    no slide can show.

    A drawing wider than a slide that no one lane cut serves (`windows` is the whole) is cut slide by
    slide (`split.page_windows`, from what stands beside each column: `reach`) when that keeps every
    slide at the readable size; a dashed hint between two windows of one slide is then left to the other
    views, as one between the halves of a split drawing is. Otherwise every slide is scaled down to the
    widest window.
    """
    windows = windows or whole(lanes, width)
    bands = _bands(rows, folds, arrows, bars, m, height)
    if not bands:
        scale = _scale(max(w.width for w in windows), bands, frame, m)
        return (Page(1, 1, 0, 0, 0.0, height, scale, MARGIN, frame.title_h, ()),), frozenset()
    room = PAGE_WIDTH_PT - 2 * MARGIN
    layout = _Layout(rows, lanes, arrows, bars, folds, together, bands, frame, m, max_rows)
    if reach is not None and max(w.width for w in windows) > room:
        partners = {(a.src, a.dst) for a in arrows if a.kind in (ArrowKind.IN, ArrowKind.OUT)}

        def per_page(row0: int, row1: int, shown: Sequence[Lane], touching: Sequence[Arrow]):
            band_range = range(rows[row0].band, rows[row1 - 1].band + 1)
            return page_windows(shown, touching, band_range, reach, room, m, partners)

        packed = layout.pages(room, per_page)
        if packed is not None:
            return packed
    whole_cut = layout.pages(max(w.width for w in windows), lambda row0, row1, shown, touching: windows)
    return (whole_cut[0], frozenset()) if whole_cut is not None else ((), frozenset())


_WindowsOf = Callable[[int, int, Sequence[Lane], Sequence[Arrow]], Sequence[LaneWindow] | None]


@dataclass(frozen=True)
class _Layout:
    rows: Sequence[Row]
    lanes: Sequence[Lane]
    arrows: Sequence[Arrow]
    bars: Sequence[Bar]
    folds: Sequence[Fold]
    together: Sequence[tuple[int, int]]
    bands: Sequence[_Band]
    frame: Frame
    m: Metrics
    max_rows: int | None

    def pages(self, width: float, windows_of: _WindowsOf) -> tuple[tuple[Page, ...], frozenset[str]] | None:
        """The pages at the scale `width` allows, each row range through `windows_of`'s windows (None: none fit),
        and the arrows between two windows of one slide."""
        bands, frame, m, rows, lanes = self.bands, self.frame, self.m, self.rows, self.lanes
        scale = _scale(width, bands, frame, m)
        cuts = _cuts(bands, self.arrows, self.together, self.folds, frame.rows_height(False, scale, m))
        starts = choose_breaks(bands, cuts, frame, scale, m, self.max_rows)
        ends = [*starts[1:], len(bands)]
        edges = [bands[a].first for a in starts]
        marks = _bar_marks(self.bars, edges)
        by_src = sorted(self.arrows, key=lambda a: a.src_row)
        src_rows = [a.src_row for a in by_src]
        by_dst = sorted(self.arrows, key=lambda a: a.dst_row)
        dst_rows = [a.dst_row for a in by_dst]
        laid: list[tuple[int, int, int, set[LaneId], Sequence[LaneWindow]]] = []
        cut: set[str] = set()
        for k, (a, b) in enumerate(zip(starts, ends, strict=True)):
            row0, row1 = bands[a].first, bands[b - 1].last + 1
            sent = by_src[bisect_left(src_rows, row0) : bisect_left(src_rows, row1)]
            pointed = {end for x in sent for end in (x.src, x.dst)}
            arrived = by_dst[bisect_left(dst_rows, row0) : bisect_left(dst_rows, row1)]
            touching = [*sent, *(x for x in arrived if x.src_row < row0)]
            shown = _shown(lanes, row0, row1, pointed)
            windows = windows_of(row0, row1, shown, touching)
            if windows is None:
                return None
            if len(windows) > 1:
                here = {lane.id for lane in shown}
                cut.update(str(x.id) for x in touching if _between(x, here, windows))
            laid.append((k, a, b, pointed, windows))
        pages: list[Page] = []
        count = sum(len(w) for *_, w in laid)
        for k, a, b, pointed, windows in laid:
            row0, row1 = bands[a].first, bands[b - 1].last + 1
            busy = {rows[i].lane for i in range(row0, row1)} | pointed
            shared = frozenset.intersection(*(w.lanes for w in windows)) if windows[0].xs is not None else frozenset()
            for window in windows:
                if len(windows) > 1 and not busy & (window.lanes - shared):
                    continue  # a half of a split slide where nothing happens (but in the column it shares) is left out
                edge = (marks[0][k], marks[1][k])
                number = len(pages) + 1
                pages.append(
                    _page(number, count, bands[a], bands[b - 1], lanes, pointed, edge, frame, scale, window, m)
                )
        if len(pages) != count:  # number the pages that are left
            pages = [replace(p, number=i, count=len(pages)) for i, p in enumerate(pages, start=1)]
        last = pages[-1]
        room = frame.rows_height(last.number == 1, scale, m) - (last.y1 - last.y0)
        if room < 0:  # the last page took its footer's room
            pages = [replace(p, footer=False) if p.row1 == last.row1 else p for p in pages]
        elif room * scale > LEGEND_ROOM * m.line:
            pages[-1] = _with(last, legend=True)
        return tuple(pages), frozenset(cut)


def _between(arrow: Arrow, here: set[LaneId], windows: Sequence[LaneWindow]) -> bool:
    """An arrow between lanes of a slide that no one of its windows holds both ends of."""
    ends = {arrow.src, arrow.dst}
    return ends <= here and not any(ends <= w.lanes for w in windows)


def _shown(lanes: Sequence[Lane], row0: int, row1: int, pointed: set[LaneId]) -> list[Lane]:
    """The lanes a page of rows [row0, row1) shows: alive there, or still blocked, or an arrow's end."""
    return [
        lane
        for lane in lanes
        if lane.first_row < row1 and (lane.last_row >= row0 or lane.open_end or lane.id in pointed)
    ]


def _bar_marks(bars: Sequence[Bar], edges: Sequence[int]) -> tuple[list[list[LaneId]], list[list[LaneId]]]:
    """Per page (by its first row in `edges`): lanes whose bars come from the page before, and go on to the next."""
    continued: list[list[LaneId]] = [[] for _ in edges]
    continues: list[list[LaneId]] = [[] for _ in edges]
    for bar in bars:  # a bar crosses the break before page k when row0 < edges[k] <= row1
        for k in range(bisect_right(edges, bar.row0), bisect_right(edges, bar.row1)):
            continued[k].append(bar.lane)
            if k > 0:
                continues[k - 1].append(bar.lane)
    return continued, continues


def _with(page: Page, legend: bool) -> Page:
    return replace(page, legend=legend)


def _page(
    number: int,
    count: int,
    first: _Band,
    last: _Band,
    lanes: Sequence[Lane],
    pointed: set[LaneId],
    edge: tuple[list[LaneId], list[LaneId]],
    frame: Frame,
    scale: float,
    window: LaneWindow,
    m: Metrics,
) -> Page:
    row0, row1 = first.first, last.last + 1
    shown = tuple(
        PageLane(lane.id, window.x(lane), lane.first_row < row0)
        for lane in _shown(lanes, row0, row1, pointed)
        if lane.id in window.lanes
    )
    heads = any(p.head for p in shown)
    dy = MARGIN * 0.6 + frame.title_h
    if number == 1:
        dy += len(frame.caption_lines) * m.line
    if heads:
        dy += frame.heads_h * scale
    inside = window.lanes
    continued = tuple(dict.fromkeys(lane for lane in edge[0] if lane in inside))
    continues = tuple(dict.fromkeys(lane for lane in edge[1] if lane in inside))
    dx = (PAGE_WIDTH_PT - scale * window.width) / 2
    return Page(
        number,
        count,
        row0,
        row1,
        first.top,
        last.bottom,
        scale,
        dx,
        dy,
        shown,
        continued,
        continues,
        caption=number == 1 and bool(frame.caption_lines),
    )
