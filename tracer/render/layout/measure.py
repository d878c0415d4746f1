"""How big each label is, in points: one set of measures for the layout that reserves room and the painter.

Widths are estimated from the characters (generous, so text never overflows
what was reserved for it); heights are whole lines of `Metrics.line`.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from ipctrace.render.layout.model import (
    Arrow,
    ArrowKind,
    CallLabel,
    Lane,
    LaneEnd,
    LaneKind,
    Metrics,
    Note,
    NoteKind,
    NoteLine,
)

_NARROW = frozenset("il.,:;'|!()[] ")
_WIDE = frozenset("mwMW@%")
KEYBOARD = "⌨"  # before what was typed at a prompt
_KEYBOARD_EM = 1.45  # the fonts that have it draw it far wider than a letter (DejaVu Sans: about 1.4 em)


@lru_cache(maxsize=4096)
def _em(ch: str) -> float:
    if ch == KEYBOARD:
        return _KEYBOARD_EM
    if unicodedata.east_asian_width(ch) in ("W", "F"):
        return 1.0
    if ch in _NARROW:
        return 0.36
    if ch in _WIDE:
        return 0.9
    if ch.isupper():
        return 0.7
    return 0.6


@lru_cache(maxsize=1 << 16)
def text_width(text: str, size: float, mono: bool = False, bold: bool = False) -> float:
    """Estimated width in points of `text` at `size` points."""
    if mono:
        width = sum(1.0 if unicodedata.east_asian_width(ch) in ("W", "F") else 0.61 for ch in text)
    else:
        width = sum(_em(ch) for ch in text)
    return width * size * (1.08 if bold else 1.0)


@dataclass(frozen=True, slots=True)
class Size:
    w: float
    h: float


def call_size(call: CallLabel, m: Metrics) -> Size:
    lines = [call.text, *call.details]
    widths = [text_width(t, m.small) for t in lines] + [text_width(t, m.small, bold=True) for t in call.mark]
    return Size(max(widths) + m.pad * 0.5, (len(lines) + len(call.mark)) * m.line)


@dataclass(frozen=True, slots=True)
class NoteText:
    """A note's line as it is drawn: what was printed (regular weight), then what was typed (bold, after ⌨)."""

    printed: str
    typed: str

    @property
    def plain(self) -> str:
        return self.printed + self.typed


def note_text(line: NoteLine) -> NoteText:
    """The one place a note line's text and weight are made: the layout sizes it, every renderer draws it."""
    if line.kind is NoteKind.IN:
        return NoteText("", f"{KEYBOARD} {line.text}")
    if not line.typed:
        return NoteText(line.text, "")
    if line.continued and not line.text:  # the rest of a typed answer, wrapped: its ⌨ is on the row above
        return NoteText("", line.typed)
    return NoteText(line.text.rstrip(" "), f" {KEYBOARD} {line.typed}")  # a prompt's own space: not a second one


def note_line_width(line: NoteLine, size: float) -> float:
    text = note_text(line)
    return text_width(text.printed, size) + text_width(text.typed, size, bold=True)


def note_size(note: Note, m: Metrics) -> Size:
    widths = [note_line_width(line, m.small) for line in note.lines]
    return Size(max(widths) + 2 * m.pad, len(note.lines) * m.line + m.pad)


CONTINUED_MARK = "⋮ continued"  # the widest subtitle a head repeated on a later page may get


def head_lines(lane: Lane) -> tuple[str, ...]:
    """What a lane's head says under its title: the subtitle, and the detail (the pid) on a line of its own."""
    return (lane.subtitle, lane.detail) if lane.detail else (lane.subtitle,)


def head_size(lane: Lane, m: Metrics) -> Size:
    """The title over the subtitle (and the detail, a line of its own so a pid does not widen the lane)."""
    below = max(text_width(CONTINUED_MARK, m.small), *(text_width(line, m.small) for line in head_lines(lane)))
    w = max(text_width(lane.title, m.font, bold=True), below) + 2.5 * m.pad
    return Size(w, (1 + len(head_lines(lane))) * m.line + m.pad)


END_CHARS = 30  # an ending's explanation wraps at this many characters


def end_lines(end: LaneEnd) -> tuple[str, ...]:
    return (end.text, *wrap_chars(end.note, END_CHARS))


def end_size(end: LaneEnd, m: Metrics) -> Size:
    lines = end_lines(end)
    return Size(max(text_width(t, m.small, bold=True) for t in lines) + 2 * m.pad, len(lines) * m.line + m.pad * 0.6)


def loop_reach(m: Metrics) -> float:
    """How far a self-loop's curve is pulled out from its lifeline (its control points)."""
    return m.line * 1.8


def loop_label_offset(m: Metrics) -> float:
    """From a lifeline to the near edge of its self-loop's label: just past the curve's bulge.

    The bulge of the curve is three quarters of its reach; a label further out would stand nearer
    the next lifeline than its own loop (pipe2_nosleep's child reading its own message back).
    """
    return m.bar / 2 + loop_reach(m) * 0.75 + m.pad * 0.4


def label_size(text: str, m: Metrics) -> Size:
    return Size(text_width(text, m.small) + m.pad, m.line)


def label_font(arrow: Arrow, m: Metrics) -> float:
    """Payloads are larger than other text, except on the short legs to a socket in the packets view."""
    if arrow.kind in (ArrowKind.IN, ArrowKind.OUT) and LaneKind.SOCKET in (arrow.src.kind, arrow.dst.kind):
        return m.small
    return m.font


@dataclass(frozen=True, slots=True)
class ArrowLabel:
    """An arrow's label: the payload (or packet flags) and its detail, side by side or the detail below."""

    w: float
    h: float
    stacked: bool


def arrow_label(arrow: Arrow, m: Metrics) -> ArrowLabel:
    if not arrow.label and not arrow.detail:
        return ArrowLabel(0.0, 0.0, False)
    if arrow.kind in (ArrowKind.FORK, ArrowKind.CONNECT, ArrowKind.EOF):
        size = label_size(arrow.label, m)
        return ArrowLabel(size.w, size.h, False)
    mono = arrow.kind.carries_data
    main = text_width(arrow.label, label_font(arrow, m), mono=mono, bold=mono)
    detail = text_width(arrow.detail, m.small) if arrow.detail else 0.0
    if detail and main + detail + m.pad > m.small * 12:
        return ArrowLabel(max(main, detail) + m.pad, 2 * m.line, True)
    return ArrowLabel(main + (detail + m.pad if detail else 0.0) + m.pad, m.line * 1.1, False)


def wrap(text: str, width: float, size: float) -> list[str]:
    """`text` broken into lines no wider than `width` points at `size` (words kept whole)."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}".strip()
        if current and text_width(candidate, size) > width:
            lines.append(current)
            current = word
        else:
            current = candidate
    if current:
        lines.append(current)
    return lines


CAPTION_LINES = 3  # lines of a slide's caption (the scenario's lesson) before it is cut with "…"


def caption_lines(text: str, width: float, size: float) -> tuple[str, ...]:
    """A caption wrapped to `width`, at most CAPTION_LINES lines; a longer one ends its last line with `…`."""
    lines = wrap(text, width, size)
    if len(lines) <= CAPTION_LINES:
        return tuple(lines)
    last = lines[CAPTION_LINES - 1].split(" ")
    while len(last) > 1 and text_width(" ".join(last) + " …", size) > width:
        last.pop()
    return (*lines[: CAPTION_LINES - 1], " ".join(last) + " …")


def wrap_chars(text: str, chars: int) -> tuple[str, ...]:
    """`text` broken at spaces into lines of at most `chars` characters (a longer word stays whole)."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        if current and len(current) + 1 + len(word) > chars:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    if current:
        lines.append(current)
    return tuple(lines)
