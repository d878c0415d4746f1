"""Sequence diagrams of a linked, ordered trace: SVG (master), PNG slides, PDF, Mermaid, PlantUML, text,
the classroom page (HTML) and a Perfetto trace.

The layout is computed once (`ipctrace.render.layout.build_diagram`) and every
renderer, one per module behind `Renderer` (`base`), draws the same frozen
model; they are found by name in `RENDERERS`. `render_outputs` writes the
files a run leaves behind, drawing the graphviz formats in one pass: their
`neato` runs start first and the other formats are drawn while they run. A
`RenderError` carries the one sentence to show when something needed is
missing (graphviz, a Korean font).

To add an output format: a module with a `Renderer` subclass (its `name`,
`output_file_extension`, `render(diagram)`), one entry in `RENDERERS`
(`outputs`) and its name in `options.FORMATS`, a test.

Importing the package loads only `options` (`RenderOptions`, `RenderError`,
the format names): a run checks its drawing options before it starts without
loading the layout and the renderers, which it loads while its programs run
(`ipctrace.session.warmup`). Every other name here is loaded on first use.
A format that needs more than one view's layout (`whole_trace`: the HTML page,
Perfetto) implements `render_ordered(ordered, diagram)` instead.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ipctrace.render.options import FORMATS, RenderError, RenderOptions

if TYPE_CHECKING:
    from ipctrace.render.base import Renderer
    from ipctrace.render.layout import Diagram, build_diagram
    from ipctrace.render.outputs import (
        DEFAULT_FORMATS,
        RENDERERS,
        get_renderer,
        render,
        render_diagram,
        render_outputs,
        start_graphviz_formats,
        write_outputs,
    )

_LAZY = {
    "Renderer": "ipctrace.render.base",
    "Diagram": "ipctrace.render.layout",
    "build_diagram": "ipctrace.render.layout",
    **{
        name: "ipctrace.render.outputs"
        for name in (
            "DEFAULT_FORMATS",
            "RENDERERS",
            "get_renderer",
            "render",
            "render_diagram",
            "render_outputs",
            "start_graphviz_formats",
            "write_outputs",
        )
    },
}


def __getattr__(name: str) -> Any:
    """The layout and the renderers, imported when first asked for (PEP 562)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "DEFAULT_FORMATS",
    "FORMATS",
    "RENDERERS",
    "Diagram",
    "RenderError",
    "RenderOptions",
    "Renderer",
    "build_diagram",
    "get_renderer",
    "render",
    "render_diagram",
    "render_outputs",
    "start_graphviz_formats",
    "write_outputs",
]
