"""What every renderer shares: the options a lecturer chooses, the error they see, the renderer interface.

One output format per module behind this small base class, found by name in
the registry of `ipctrace.render` (the pyinstrument pattern, STYLE.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from ipctrace.errors import IpctraceError

if TYPE_CHECKING:
    from ipctrace.render.layout import Diagram

VIEWS = ("processes", "kernel", "packets")
PACKET_MODES = ("all", "data", "none")
THEMES = ("light", "dark", "print")
LANGS = ("en", "ko")


class RenderError(IpctraceError):
    """A diagram that cannot be drawn here (graphviz or a font missing, a bad option); one sentence says what to do."""


@dataclass(frozen=True)
class RenderOptions:
    """How a diagram is drawn.

    view: `processes` (arrows straight from writer to reader), `kernel` (a lane
    for each pipe / socket buffer), `packets` (socket lanes and the wire).
    packets: in the packets view, `all` packets, `data` (every packet but pure
    ACKs: payload, datagrams, SYN, FIN, RST) or `none`.
    fold: repeated exchanges become one row with a count (`fold_min` repeats or more).
    fit: PNG/PDF pages shaped for 16:9 slides (None: pages of the diagram's own width).
    page_rows: rows on one PNG/PDF page (None: as many as a readable 16:9 page holds).
    """

    view: str = "processes"
    packets: str = "all"
    fold: bool = True
    fold_min: int = 4
    theme: str = "light"
    font_size: float = 14.0
    title: str | None = None  # None: the scenario's title, or the command
    lang: str = "en"
    legend: bool = True
    fit: str | None = "16:9"
    page_rows: int | None = None
    payload_limit: int = 28  # payload characters shown on an arrow before "…"
    png_width: int = 1920  # pixels across a PNG page

    def __post_init__(self) -> None:
        checks = (
            ("view", self.view, VIEWS),
            ("packets", self.packets, PACKET_MODES),
            ("theme", self.theme, THEMES),
            ("lang", self.lang, LANGS),
        )
        for name, value, allowed in checks:
            if value not in allowed:
                raise RenderError(f"unknown {name} {value!r}: choose one of {', '.join(allowed)}.")
        if not 6 <= self.font_size <= 72:
            raise RenderError(f"font size {self.font_size} is out of range: choose a size from 6 to 72 points.")
        if self.fit not in (None, "16:9"):
            raise RenderError(f"unknown fit {self.fit!r}: use 16:9, or none for the diagram's own shape.")
        if self.page_rows is not None and self.page_rows < 1:
            raise RenderError("page_rows must be at least 1.")
        if self.fold_min < 2:
            raise RenderError("fold_min must be at least 2: a fold needs something repeated.")


class Renderer:
    """One output format: `render` turns the layout model into the file's content."""

    name: ClassVar[str] = ""
    output_file_extension: ClassVar[str] = ""
    output_is_binary: ClassVar[bool] = False
    paged: ClassVar[bool] = False  # True: `render_pages` gives one file per page

    def __init__(self, options: RenderOptions | None = None) -> None:
        self.options = options or RenderOptions()

    def render(self, diagram: Diagram) -> str | bytes:
        raise NotImplementedError

    def render_pages(self, diagram: Diagram) -> list[str | bytes]:
        """The output split into pages; one page for formats that do not paginate."""
        return [self.render(diagram)]
