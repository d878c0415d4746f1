"""The renderer interface: one output format per module behind this small base class.

Found by name in the registry of `ipctrace.render` (the pyinstrument pattern,
STYLE.md). A renderer reads only the layout model (`Diagram`), never the trace.
"""

from __future__ import annotations

from typing import ClassVar

from ipctrace.render.layout.model import Diagram
from ipctrace.render.options import RenderOptions

#: What a renderer makes: one file's content per part (a PNG page, one of several Mermaid diagrams).
Parts = tuple[str, ...] | tuple[bytes, ...]


class Renderer:
    """One output format: `render` turns the layout model into the content of one or more files."""

    name: ClassVar[str] = ""
    output_file_extension: ClassVar[str] = ""
    output_is_binary: ClassVar[bool] = False
    #: True: every part is a page, written as `stem-01.ext`, `stem-02.ext`, ... even when there is one.
    paged: ClassVar[bool] = False

    def __init__(self, options: RenderOptions | None = None) -> None:
        self.options = options or RenderOptions()

    def render(self, diagram: Diagram) -> Parts:
        raise NotImplementedError

    def render_one(self, diagram: Diagram) -> str | bytes:
        """The first part (the whole output, for formats that do not split)."""
        return self.render(diagram)[0]
