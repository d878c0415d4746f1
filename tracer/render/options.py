"""What a lecturer chooses about a diagram, and the one error a renderer raises.

A leaf module: every other module of `ipctrace.render` imports it, it imports
nothing of theirs, so options and errors never pull the layout in (and the
layout never pulls the renderers in).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from ipctrace.errors import IpctraceError
from ipctrace.model import EventKey

#: The output formats by name, in the registry's order: `ipctrace.render.outputs.RENDERERS` has one renderer
#: for each (a test checks), so a format asked for is checked without loading the renderers.
FORMATS = ("svg", "png", "pdf", "mermaid", "plantuml", "text", "html", "perfetto")


class RenderError(IpctraceError):
    """A diagram that cannot be drawn here (graphviz or a font missing, a bad option); one sentence says what to do."""


class View(StrEnum):
    """Which lifelines a diagram has."""

    PROCESSES = "processes"  # one lifeline per process, arrows straight from writer to reader
    KERNEL = "kernel"  # plus a lane for each pipe and socket buffer
    PACKETS = "packets"  # plus the wire: socket lanes and TCP/UDP packets between them


class PacketMode(StrEnum):
    ALL = "all"
    DATA = "data"  # every packet but pure ACKs, except those a handshake or teardown needs to be whole
    NONE = "none"


class ThemeName(StrEnum):
    LIGHT = "light"
    DARK = "dark"
    PRINT = "print"


class Lang(StrEnum):
    EN = "en"
    KO = "ko"


VIEWS = tuple(v.value for v in View)
THEMES = tuple(t.value for t in ThemeName)

#: A slide page: 16:9, in points (13.33 × 7.5 in, the presentation programs' default), drawn at
#: 1920 × 1080 pixels as PNG; every PDF page has this size.
PAGE_WIDTH_PT = 960.0
PAGE_HEIGHT_PT = 540.0
PNG_WIDTH_PX = 1920
#: The smallest text a room can read from the back row on a 1920 × 1080 slide (DESIGN.md).
MIN_TEXT_PX = 28.0


@dataclass(frozen=True)
class Mark:
    """A step to point at (the race explorer's deciding step): its call is highlighted and `note` written beside it."""

    key: EventKey
    note: str


E = TypeVar("E", bound=StrEnum)


def _choice(enum: type[E], name: str, value: object) -> E:
    try:
        return enum(str(value))
    except ValueError:
        allowed = ", ".join(e.value for e in enum)
        raise RenderError(f"unknown {name} {value!r}: choose one of {allowed}.") from None


@dataclass(frozen=True)
class RenderOptions:
    """How a diagram is drawn.

    view: see `View`. packets: see `PacketMode` (packets view only).
    fold: repeated exchanges become one row with a count (`fold_min` repeats or more).
    font_size: the smallest text on a slide page, in points of the 960 × 540 pt page
    (14 pt = 28 px at 1920 × 1080); every other size follows from it.
    title / caption: None takes the scenario's title and lesson from the trace.
    pids: show each process's pid under its name (they change every run, so off by default).
    page_rows: at most this many rows on a page (None: as many as fit on a slide).
    builds: the PNG and PDF pages as builds, one more message per page (the HTML page's steps).
    marks: steps to point at, each highlighted with its note beside it (every renderer shows them).
    """

    view: View = View.PROCESSES
    packets: PacketMode = PacketMode.ALL
    fold: bool = True
    fold_min: int = 4
    theme: ThemeName = ThemeName.LIGHT
    font_size: float = 14.0
    title: str | None = None
    caption: str | None = None
    lang: Lang = Lang.EN
    legend: bool = True
    pids: bool = False
    page_rows: int | None = None
    payload_limit: int = 28  # payload characters shown on an arrow before "…"
    builds: bool = False
    marks: tuple[Mark, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "view", _choice(View, "view", self.view))
        object.__setattr__(self, "packets", _choice(PacketMode, "packets", self.packets))
        object.__setattr__(self, "theme", _choice(ThemeName, "theme", self.theme))
        object.__setattr__(self, "lang", _choice(Lang, "lang", self.lang))
        if not 6 <= self.font_size <= 40:
            raise RenderError(f"font size {self.font_size:g} is out of range: choose a size from 6 to 40 points.")
        if self.page_rows is not None and self.page_rows < 1:
            raise RenderError("page_rows must be at least 1.")
        if self.fold_min < 2:
            raise RenderError("fold_min must be at least 2: a fold needs something repeated.")
        if self.payload_limit < 4:
            raise RenderError("payload_limit must be at least 4 characters.")
