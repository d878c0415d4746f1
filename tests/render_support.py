"""What the rendering tests share: every scenario run once per session, and the checks on the layout model.

The runs are cached in this module (the test files each ask for them through
their own fixtures), so the scenarios run once however many files use them.
"""

from __future__ import annotations

import shutil
import sys
import zlib
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from ipctrace.link import link
from ipctrace.order import OrderedTrace, order
from ipctrace.render.layout import Diagram, Page, RowKind
from ipctrace.render.layout.boxes import BoxKind, boxes, segments
from ipctrace.render.layout.geometry import fold_room
from ipctrace.render.layout.model import ArrowKind
from ipctrace.render.layout.pages import frame_of
from ipctrace.render.options import MIN_TEXT_PX, PAGE_HEIGHT_PT, PAGE_WIDTH_PT, PNG_WIDTH_PX, View
from ipctrace.scenarios import adhoc_scenario, builtin_scenarios, find_scenario
from ipctrace.session import RunOptions, run_scenario
from tests.conftest import PROGRAMS, can_capture, missing

VIEWS = tuple(View)
_RUNS: dict[str, OrderedTrace] = {}


def need(condition: bool, what: str) -> None:
    """Skip (fail in CI) when a tool the test needs is missing; `what` names it and how to install it."""
    if not condition:
        missing(what)


def need_graphviz() -> None:
    need(shutil.which("neato") is not None, "graphviz (apt-get install graphviz)")


def _run(root: Path, name: str, capture: str, **changes: object) -> OrderedTrace:
    scenario = find_scenario(name)
    for role, lines in changes.pop("say", {}).items():  # type: ignore[attr-defined]
        scenario = scenario.with_stdin(role, tuple(lines))
    result = run_scenario(scenario, RunOptions(outdir=root / name, capture=capture, port=0))
    # A run that did not end as its scenario expects (its timeout on a loaded machine, a role that failed) has a
    # partial trace: say so here, not as a lane or an arrow some later check finds missing from its diagram.
    assert result.ok, f"{name}: the run ended {result.ending.value}: {result.message}"
    return order(link(result.trace))


def scenario_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, OrderedTrace]:
    """Every built-in scenario, run once per session (packets captured when this machine can)."""
    missing = [name for name in sorted(builtin_scenarios()) if name not in _RUNS]  # some may have run alone
    if missing:
        root = tmp_path_factory.mktemp("render-runs")
        capture = "scapy" if can_capture() is None else "none"
        with ThreadPoolExecutor(4) as pool:
            _RUNS.update(zip(missing, pool.map(lambda n: _run(root, n, capture), missing), strict=True))
    return {name: _RUNS[name] for name in sorted(builtin_scenarios())}


def some_runs(tmp_path_factory: pytest.TempPathFactory, names: list[str]) -> dict[str, OrderedTrace]:
    """A few built-in scenarios, each run once per session (shared with `scenario_runs`)."""
    missing = [name for name in names if name not in _RUNS]
    if missing:
        root = tmp_path_factory.mktemp("render-some")
        capture = "scapy" if can_capture() is None else "none"
        with ThreadPoolExecutor(3) as pool:
            _RUNS.update(zip(missing, pool.map(lambda n: _run(root, n, capture), missing), strict=True))
    return {name: _RUNS[name] for name in names}


def loop_run(tmp_path_factory: pytest.TempPathFactory) -> OrderedTrace:
    if "render_loop" not in _RUNS:
        root = tmp_path_factory.mktemp("render-loop")
        scenario = adhoc_scenario([sys.executable, str(PROGRAMS / "render_loop.py"), "1000"])
        result = run_scenario(scenario, RunOptions(outdir=root, capture="none", port=0))
        _RUNS["render_loop"] = order(link(result.trace))
    return _RUNS["render_loop"]


def korean_chat_run(tmp_path_factory: pytest.TempPathFactory) -> OrderedTrace:
    if "korean_chat" not in _RUNS:
        root = tmp_path_factory.mktemp("render-korean")
        capture = "scapy" if can_capture() is None else "none"
        _RUNS["korean_chat"] = _run(
            root, "tcp_chat", capture, say={"client": ["안녕하세요\n"], "server": ["반가워요\n"]}
        )
    return _RUNS["korean_chat"]


# -- checks on the layout model -------------------------------------------------------------------


def smallest_text_px(diagram: Diagram) -> float:
    """The smallest text of any page, in pixels of a 1920 × 1080 slide."""
    px_per_pt = PNG_WIDTH_PX / PAGE_WIDTH_PT
    return min(min(page.scale, 1.0) * diagram.metrics.small * px_per_pt for page in diagram.pages)


def _page_room(diagram: Diagram) -> float:
    """What a later page has room for rows (below its title and the repeated heads, above its footer)."""
    scale = diagram.pages[0].scale if diagram.pages else 1.0
    m = diagram.metrics
    return frame_of(diagram.caption, diagram.lanes, m).rows_height(False, scale, m)


def _span_height(diagram: Diagram, lo: int, hi: int) -> float:
    fold_top = max((fold_room(f, diagram.metrics) for f in diagram.folds if f.row0 == lo), default=0.0)
    return diagram.rows[hi].bottom - (diagram.rows[lo].top - fold_top)


def taller_than_a_page_holds(diagram: Diagram, arrow) -> bool:
    """A message whose two ends are further apart than a page has room for rows: it continues over a break."""
    return _span_height(diagram, arrow.src_row, arrow.dst_row) > _page_room(diagram)


def without_a_clean_break(diagram: Diagram, arrow) -> bool:
    """A message among others overlapping it, one after the next, that together are taller than a page holds.

    No page can hold them all, and every break between their first and last row cuts one of them: the
    pagination then cuts as few as it can (a server's clients that interleave can make such a chain).
    """
    band = [r.band for r in diagram.rows]
    spans = sorted(
        [(band[a.src_row], band[a.dst_row], a.src_row, a.dst_row) for a in diagram.arrows if a.dst_row > a.src_row]
        + [(band[lo], band[hi], lo, hi) for lo, hi in diagram.together]
        + [(band[f.row0], band[f.row1], f.row0, f.row1) for f in diagram.folds]
    )
    chain_lo = chain_hi = last_band = -1
    for first, last, lo, hi in spans:
        if first >= last:
            continue  # within one band: no break falls inside it
        if first > last_band:  # a break before `first` cuts nothing: a new chain
            if chain_lo <= arrow.src_row and arrow.dst_row <= chain_hi:
                break
            chain_lo, chain_hi = lo, hi
        else:  # spans are sorted by bands, not rows: one may begin rows before the chain's first
            chain_lo, chain_hi = min(chain_lo, lo), max(chain_hi, hi)
        last_band = max(last_band, last)
    inside = chain_lo <= arrow.src_row and arrow.dst_row <= chain_hi
    return inside and _span_height(diagram, chain_lo, chain_hi) > _page_room(diagram)


def check_pages(diagram: Diagram) -> None:
    """No arrow split across pages, no page of endings only, the smallest text readable from the back row."""
    pages = diagram.pages
    most = (len(diagram.rows) + 1) * 12 * diagram.metrics.line  # room for crossings grows linearly, not ×4 a round
    assert diagram.height <= most, f"the drawing is {diagram.height:.0f} pt tall for {len(diagram.rows)} rows"
    ranges = list(dict.fromkeys((p.row0, p.row1) for p in pages))  # a diagram split by lanes repeats each range
    assert ranges[0][0] == 0 and ranges[-1][1] == len(diagram.rows)
    for a, b in zip(ranges, ranges[1:], strict=False):
        assert a[1] == b[0], "pages cover every row once, in order"
    for arrow in diagram.arrows:
        if without_a_clean_break(diagram, arrow):  # a message in flight that long continues over the break
            continue
        assert any(
            p.has_row(arrow.src_row)
            and p.has_row(arrow.dst_row)
            and {arrow.src, arrow.dst} <= {x.lane for x in p.lanes}
            for p in pages
        ), f"{arrow.id} split"
    for lo, hi in diagram.together:
        assert any(p.has_row(lo) and p.has_row(hi) for p in pages), f"rows {lo}-{hi} (a handshake or teardown) split"
    for page in pages:
        kinds = {diagram.rows[i].kind for i in range(page.row0, page.row1)}
        assert page.number == 1 or kinds != {RowKind.EXIT}, f"page {page.number} holds only endings"
    assert smallest_text_px(diagram) >= MIN_TEXT_PX - 0.01, f"text {smallest_text_px(diagram):.1f} px"


def page_fill(page: Page) -> float:
    """How much of the page below its title, caption and heads its rows take (the footer's line counted as room)."""
    return (page.y1 - page.y0) * page.scale / (PAGE_HEIGHT_PT - page.dy)


def only_endings(diagram: Diagram, page: Page) -> bool:
    """Nothing on the page but processes ending: no message arrives or leaves, no lane starts, no packet."""
    ends = {a.src_row for a in diagram.arrows} | {a.dst_row for a in diagram.arrows}
    rows = [diagram.rows[i] for i in range(page.row0, page.row1)]
    return not any(r.index in ends or r.kind in (RowKind.HEAD, RowKind.PACKET) for r in rows)


def check_no_overlaps(diagram: Diagram) -> None:
    """No two labels overlap, and no arrow runs through a label that is not its own."""
    drawn = sorted(boxes(diagram), key=lambda b: b.y0)
    labels = [b for b in drawn if b.kind is not BoxKind.BAR]
    for i, a in enumerate(drawn):
        for b in drawn[i + 1 :]:
            if b.y0 >= a.y1:
                break
            if a.kind is BoxKind.BAR and b.kind is BoxKind.BAR:
                continue
            if BoxKind.BAR in (a.kind, b.kind) and BoxKind.HEAD in (a.kind, b.kind):
                continue
            assert not a.overlaps(b), f"{a.kind} {a.ref} (row {a.row}) overlaps {b.kind} {b.ref} (row {b.row})"
    # messages taller than a slide holds (a reader far behind): moving labels cannot clear them
    in_flight = {str(a.id) for a in diagram.arrows if taller_than_a_page_holds(diagram, a)}
    for seg in segments(diagram):
        if seg.ref in in_flight:
            continue
        lo, hi = min(seg.y0, seg.y1), max(seg.y0, seg.y1)
        for box in labels:
            if box.ref == seg.ref or box.y1 < lo or box.y0 > hi:
                continue
            if box.kind in (BoxKind.HEAD, BoxKind.END) and _touches_lane(diagram, seg.ref, box.ref):
                continue
            assert not seg.crosses(box), f"arrow {seg.ref} crosses {box.kind} {box.ref} (row {box.row})"


def _touches_lane(diagram: Diagram, arrow_id: str, lane_id: str) -> bool:
    arrow = next(a for a in diagram.arrows if str(a.id) == arrow_id)
    return lane_id in (str(arrow.src), str(arrow.dst))


def check_messages(diagram: Diagram, ordered: OrderedTrace) -> None:
    """Every flow with both ends drawn is one arrow (processes) or one leg in and one out (other views)."""
    linked = ordered.linked
    hidden = set(diagram.folded_flows)
    row_of: dict[object, int] = {}
    for row in diagram.rows:
        if row.kind is not RowKind.ENTER:
            for key in row.keys:
                row_of[key] = row.index
    counts: Counter[tuple[ArrowKind, int]] = Counter()
    for arrow in diagram.arrows:
        for i in arrow.flows:
            counts[(arrow.kind, i)] += 1
        assert arrow.dst_row >= arrow.src_row, f"{arrow.id} points up"
    for i, flow in enumerate(linked.flows):
        if i in hidden or flow.send not in row_of or flow.recv not in row_of:
            continue
        if diagram.options.view is View.PROCESSES:
            assert counts[(ArrowKind.MSG, i)] == 1, f"flow {i} has {counts[(ArrowKind.MSG, i)]} arrows"
            arrow = next(a for a in diagram.arrows if a.kind is ArrowKind.MSG and a.flows == (i,))
            assert (arrow.src_row, arrow.dst_row) == (row_of[flow.send], row_of[flow.recv])
        else:
            assert counts[(ArrowKind.IN, i)] == 1 and counts[(ArrowKind.OUT, i)] == 1, f"flow {i}"


def check_diagram(diagram: Diagram, ordered: OrderedTrace) -> None:
    check_pages(diagram)
    check_no_overlaps(diagram)
    check_messages(diagram, ordered)


def png_chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    """A PNG's chunks as (type, data), in file order."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    chunks, pos = [], 8
    while pos < len(png):
        size = int.from_bytes(png[pos : pos + 4], "big")
        chunks.append((png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + size]))
        pos += 12 + size
    return chunks


def png_pixels(png: bytes) -> tuple[tuple[int, int], bytes, list[int]]:
    """(width, height), the decoded 8-bit RGB/RGBA rows, and the filter type of each row (a small decoder)."""
    chunks = png_chunks(png)
    header = dict(chunks)[b"IHDR"]
    width, height = int.from_bytes(header[0:4], "big"), int.from_bytes(header[4:8], "big")
    assert header[8] == 8 and header[9] in (2, 6) and header[12] == 0, "8-bit RGB(A), not interlaced"
    bpp = 3 if header[9] == 2 else 4
    raw = zlib.decompress(b"".join(data for kind, data in chunks if kind == b"IDAT"))
    stride, out, prev, filters = width * bpp, bytearray(), bytearray(width * bpp), []
    for y in range(height):
        kind, row = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        filters.append(kind)
        for i in range(stride) if kind else ():
            a = row[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                row[i] = (row[i] + a) & 255
            elif kind == 2:
                row[i] = (row[i] + b) & 255
            elif kind == 3:
                row[i] = (row[i] + (a + b) // 2) & 255
            else:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                row[i] = (row[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        out += row
        prev = row
    return (width, height), bytes(out), filters
