"""Geometry: text sizes, row heights and lane gaps, in points, so that no two labels overlap.

The same measures (`text_width`, `Metrics`, the `*_width` functions) are used
by `graphviz_svg` when it draws, so what layout reserves is what gets drawn.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ipctrace.render.layout.model import Arrow, CallLabel, Lane, Note, _replace

if TYPE_CHECKING:
    from ipctrace.render.layout.items import _Builder

HEAD_HEIGHT_LINES = 2.0  # a lane's head box: title and subtitle


def text_width(text: str, size: float, mono: bool = False) -> float:
    """Estimated width in points: generous, so labels never overflow what was reserved for them."""
    width = 0.0
    for ch in text:
        if unicodedata.east_asian_width(ch) in ("W", "F"):
            width += 1.0
        elif mono:
            width += 0.61
        elif ch in "il.,:;'|!()[] ":
            width += 0.36
        elif ch in "mwMW@%":
            width += 0.9
        elif ch.isupper():
            width += 0.7
        else:
            width += 0.6
    return width * size


@dataclass(frozen=True)
class Metrics:
    """Sizes derived from the font size, in points."""

    font: float
    line: float
    pad: float
    bar: float
    min_gap: float
    small: float

    @classmethod
    def of(cls, font_size: float) -> Metrics:
        return cls(
            font=font_size,
            line=font_size * 1.3,
            pad=font_size * 0.6,
            bar=font_size * 0.8,
            min_gap=font_size * 9,
            small=font_size * 0.85,
        )


def arrow_label_width(arrow: Arrow, m: Metrics) -> float:
    mono = arrow.kind in ("msg", "in", "out", "lost", "found")
    width = text_width(arrow.label, m.font, mono=mono)
    if arrow.detail:
        width += text_width("  " + arrow.detail, m.small)
    return width


def call_width(call: CallLabel, m: Metrics) -> float:
    return text_width(call.text, m.small)


def note_width(note: Note, m: Metrics) -> float:
    return (
        max(
            text_width(line.text + line.typed + ("⌨ " if line.kind == "in" or line.typed else ""), m.small)
            for line in note.lines
        )
        + 2 * m.pad
    )


def head_width(lane: Lane, m: Metrics) -> float:
    return max(text_width(lane.title, m.font) * 1.1, text_width(lane.subtitle, m.small)) + 3 * m.pad


def _sides(builder: _Builder, order: Sequence[str]) -> None:
    """Put each call label and note on the side of its lane away from that row's arrows (outside at the edges)."""
    pos = {lane: i for i, lane in enumerate(order)}
    last = len(order) - 1
    arrow_dir: dict[tuple[str, int], set[str]] = defaultdict(set)
    for a in builder.arrows:
        if a.src == a.dst or a.src not in pos or a.dst not in pos:
            continue
        right = pos[a.dst] > pos[a.src]
        arrow_dir[(a.src, a.src_row)].add("right" if right else "left")
        arrow_dir[(a.dst, a.dst_row)].add("left" if right else "right")

    def side(lane: str, row: int) -> str:
        dirs = arrow_dir.get((lane, row), set())
        i = pos.get(lane, 0)
        if dirs == {"right"}:
            return "left"
        if dirs == {"left"}:
            return "right"
        if i == 0 and last > 0:
            return "left"
        return "right"

    builder.calls = [_replace(c, side=side(c.lane, c.row)) for c in builder.calls]
    builder.notes = [
        _replace(n, side="left" if pos.get(n.lane, 0) == 0 and last > 0 else "right") for n in builder.notes
    ]


def _row_heights(builder: _Builder, m: Metrics, lanes: Sequence[Lane]) -> list[float]:
    heights = [m.line * 2.0 for _ in builder.rows]
    for note in builder.notes:
        heights[note.row] = max(heights[note.row], len(note.lines) * m.line + 1.4 * m.pad)
    for lane in lanes:
        if lane.first_row < len(heights):
            heights[lane.first_row] = max(heights[lane.first_row], HEAD_HEIGHT_LINES * m.line + 2.2 * m.pad)
        if lane.kind == "process" and lane.last_row < len(heights):
            heights[lane.last_row] = max(heights[lane.last_row], 2.3 * m.line)
    for arrow in builder.arrows:
        if arrow.label_at == "dst":
            heights[arrow.dst_row] = max(heights[arrow.dst_row], 2.8 * m.line)
        if arrow.kind == "fork":
            heights[arrow.src_row] = max(heights[arrow.src_row], 2 * m.line + 2.4 * m.pad)
    return heights


def _lane_gaps(builder: _Builder, lanes: Sequence[Lane], m: Metrics) -> tuple[list[float], float, float]:
    """Distances between neighbouring lanes (and the outer margins) so that no two labels overlap."""
    n = len(lanes)
    pos = {lane.id: i for i, lane in enumerate(lanes)}
    gaps = [m.min_gap] * max(n - 1, 0)
    left_margin = right_margin = m.pad * 2
    right_at: dict[tuple[int, int], float] = defaultdict(float)
    left_at: dict[tuple[int, int], float] = defaultdict(float)
    half_bar = m.bar / 2 + m.pad
    beside = [(c.lane, c.row, c.side, call_width(c, m)) for c in builder.calls]
    beside += [(note.lane, note.row, note.side, note_width(note, m)) for note in builder.notes]
    for lane, row, side, width in beside:  # what stands beside each lifeline, row by row, on each side
        if lane not in pos:
            continue
        key = (pos[lane], row)
        widest = right_at if side == "right" else left_at
        widest[key] = max(widest[key], width + half_bar)
    for (i, row), w in right_at.items():
        if i < n - 1:
            gaps[i] = max(gaps[i], w + left_at.get((i + 1, row), 0.0) + m.pad)
        else:
            right_margin = max(right_margin, w + m.pad)
    for (i, _row), w in left_at.items():
        if i == 0:
            left_margin = max(left_margin, w + m.pad)
    for i in range(n - 1):
        gaps[i] = max(gaps[i], head_width(lanes[i], m) / 2 + head_width(lanes[i + 1], m) / 2 + m.pad)
    left_margin = max(left_margin, head_width(lanes[0], m) / 2 + m.pad) if lanes else left_margin
    right_margin = max(right_margin, head_width(lanes[-1], m) / 2 + m.pad) if lanes else right_margin
    spans = []
    for a in builder.arrows:
        if a.src not in pos or a.dst not in pos:
            continue
        i, j = sorted((pos[a.src], pos[a.dst]))
        need = arrow_label_width(a, m) + 2 * m.pad + m.bar
        if i == j:
            continue
        spans.append((j - i, i, j, need))
    for _, i, j, need in sorted(spans):
        have = sum(gaps[i:j])
        if have < need:
            extra = (need - have) / (j - i)
            for g in range(i, j):
                gaps[g] += extra
    for lane in lanes:
        if lane.kind == "process" and lane.end:
            w = text_width(lane.end, m.small) / 2 + m.pad * 2
            i = pos[lane.id]
            if i == 0:
                left_margin = max(left_margin, w)
            if i == n - 1:
                right_margin = max(right_margin, w)
    for fold in builder.folds:
        w = text_width(fold.label, m.font) + text_width(fold.detail, m.small) + 4 * m.pad
        idx = sorted(pos[x] for x in fold.lanes if x in pos)
        if idx:
            span = sum(gaps[idx[0] : idx[-1]])
            if span + 2 * m.min_gap / 3 < w and idx[-1] > idx[0]:
                extra = (w - span) / (idx[-1] - idx[0])
                for g in range(idx[0], idx[-1]):
                    gaps[g] += extra
    return gaps, left_margin, right_margin
