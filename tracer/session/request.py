"""What a lecturer asked to be drawn: options, formats, page limit — checked before a run starts.

Kept apart from `session.diagrams` (which draws) so that checking the request loads only
`ipctrace.render.options`, not the layout and the renderers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ipctrace.render.options import FORMATS, RenderError, RenderOptions

#: Formats drawn by graphviz (and so needing it, and slow on huge diagrams).
GRAPHVIZ_FORMATS = frozenset({"svg", "png", "pdf"})
DEFAULT_FORMATS = ("svg", "png", "pdf", "mermaid", "plantuml", "html")
MAX_PAGES = 300  # slide pages; above this a diagram is refused unless --max-pages says otherwise


@dataclass(frozen=True)
class DiagramRequest:
    """What to draw: the drawing options, the formats, the file stem, and the page limit."""

    options: RenderOptions = field(default_factory=RenderOptions)
    formats: tuple[str, ...] = DEFAULT_FORMATS
    max_pages: int = MAX_PAGES

    def __post_init__(self) -> None:
        unknown = [f for f in self.formats if f not in FORMATS]
        if unknown or not self.formats:
            shown = ", ".join(unknown) or "none"
            raise RenderError(f"unknown output format {shown}: choose among {', '.join(FORMATS)}.")
        if isinstance(self.max_pages, bool) or not isinstance(self.max_pages, int) or self.max_pages < 1:
            raise RenderError(f"--max-pages {self.max_pages!r} is not a number of pages: give 1 or more.")

    @property
    def stem(self) -> str:
        view = self.options.view
        return "sequence" if view == "processes" else f"sequence-{view}"

    @classmethod
    def parse_formats(cls, text: str) -> tuple[str, ...]:
        """`svg,png` as a tuple; an empty list is an error when the request is made."""
        return tuple(f.strip() for f in text.split(",") if f.strip())


__all__ = ["DEFAULT_FORMATS", "GRAPHVIZ_FORMATS", "MAX_PAGES", "DiagramRequest"]
