"""The renderer interface: one output format per module behind this small base class.

Found by name in the registry of `ipctrace.render` (the pyinstrument pattern,
STYLE.md). A renderer reads only the layout model (`Diagram`), never the trace.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from ipctrace.render.layout.model import Diagram
from ipctrace.render.options import RenderOptions

if TYPE_CHECKING:
    from ipctrace.order import OrderedTrace

#: What a renderer makes: one file's content per part (a PNG page, one of several Mermaid diagrams).
Parts = tuple[str, ...] | tuple[bytes, ...]


class Renderer:
    """One output format: `render` turns the layout model into the content of one or more files."""

    name: ClassVar[str] = ""
    output_file_extension: ClassVar[str] = ""
    output_is_binary: ClassVar[bool] = False
    #: True: every part is a page, written as `stem-01.ext`, `stem-02.ext`, ... even when there is one.
    paged: ClassVar[bool] = False
    #: True: the format reads the ordered trace itself, not one view's layout (the classroom page embeds
    #: every view and each call's details, a Perfetto trace needs times and threads): `render_ordered`
    #: is called instead of `render`, with the layout of the options' view when it is already built.
    whole_trace: ClassVar[bool] = False

    def __init__(self, options: RenderOptions | None = None) -> None:
        self.options = options or RenderOptions()

    def render(self, diagram: Diagram) -> Parts:
        raise NotImplementedError

    def render_ordered(self, ordered: OrderedTrace, diagram: Diagram | None = None) -> Parts:
        """The output of a whole trace; by default the layout of the options' view, drawn by `render`."""
        if diagram is None:
            from ipctrace.render.layout.build import build_diagram

            diagram = build_diagram(ordered, self.options)
        return self.render(diagram)

    def render_one(self, diagram: Diagram) -> str | bytes:
        """The first part (the whole output, for formats that do not split)."""
        return self.render(diagram)[0]
