"""The registry of renderers by name and the functions that write a layout's files (`render_outputs`).

Imported when something is drawn, not when `ipctrace.render` is: the package itself only loads the
options, so checking a lecturer's drawing options before a run costs nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ipctrace.order import OrderedTrace
from ipctrace.render.base import Parts, Renderer
from ipctrace.render.graphviz.early import Ahead
from ipctrace.render.graphviz.renderers import (
    GRAPHVIZ_FORMATS,
    GraphvizDrawing,
    PdfRenderer,
    PngRenderer,
    SvgRenderer,
)
from ipctrace.render.graphviz.renderers import start as start_graphviz
from ipctrace.render.html import HtmlRenderer
from ipctrace.render.layout import Diagram, build_diagram
from ipctrace.render.mermaid import MermaidRenderer
from ipctrace.render.options import RenderError, RenderOptions
from ipctrace.render.perfetto import PerfettoRenderer
from ipctrace.render.plantuml import PlantUmlRenderer
from ipctrace.render.text import TextRenderer

RENDERERS: dict[str, type[Renderer]] = {
    cls.name: cls
    for cls in (
        SvgRenderer,
        PngRenderer,
        PdfRenderer,
        MermaidRenderer,
        PlantUmlRenderer,
        TextRenderer,
        HtmlRenderer,
        PerfettoRenderer,
    )
}

#: What `render_outputs` writes by default, in order.
DEFAULT_FORMATS = ("svg", "png", "pdf", "mermaid", "plantuml", "html")


def get_renderer(name: str, options: RenderOptions | None = None) -> Renderer:
    try:
        cls = RENDERERS[name]
    except KeyError:
        raise RenderError(f"unknown output format {name!r}: choose one of {', '.join(RENDERERS)}.") from None
    return cls(options)


def render(ordered: OrderedTrace, name: str, options: RenderOptions | None = None) -> str | bytes:
    """One format of one view, as one file's content (a format of several files: the first)."""
    options = options or RenderOptions()
    renderer = get_renderer(name, options)
    if renderer.whole_trace:
        return renderer.render_ordered(ordered)[0]
    return renderer.render_one(build_diagram(ordered, options))


def render_diagram(diagram: Diagram, formats: Sequence[str]) -> dict[str, Parts]:
    """Several formats of one layout; the graphviz ones in one pass, drawn while the others are made."""
    pending = start_graphviz_formats(diagram, formats)
    others = [name for name in formats if name not in GRAPHVIZ_FORMATS]
    out = {name: get_renderer(name, diagram.options).render(diagram) for name in others}
    out.update(pending.result())
    return {name: out[name] for name in formats}


def start_graphviz_formats(diagram: Diagram, formats: Sequence[str], ahead: Ahead | None = None) -> GraphvizDrawing:
    """Start drawing the graphviz formats among `formats` (neato runs in the background); `.result()` waits.

    A RenderError (graphviz missing) is raised now, before anything is drawn. `ahead`: the neato processes
    `render.graphviz.early` started for them (while a run's programs ran).
    """
    return start_graphviz(diagram, [f for f in formats if f in GRAPHVIZ_FORMATS], ahead)


def _file_names(renderer: Renderer, parts: Parts, stem: str) -> list[str]:
    """Pages are `stem-01.png`, ...; a format of one file is `stem.mmd`, its further parts `stem-02.mmd`, ..."""
    ext = renderer.output_file_extension
    if renderer.paged:
        return [f"{stem}-{n:02d}.{ext}" for n in range(1, len(parts) + 1)]
    return [f"{stem}.{ext}", *(f"{stem}-{n:02d}.{ext}" for n in range(2, len(parts) + 1))]


def render_outputs(
    ordered: OrderedTrace,
    outdir: str | Path,
    options: RenderOptions | None = None,
    formats: Sequence[str] = DEFAULT_FORMATS,
    stem: str = "sequence",
    diagram: Diagram | None = None,
) -> dict[str, Path]:
    """Write the diagram files under `outdir` and return label → path.

    Labels are the format names (`svg`, `pdf`, `mermaid`, ...); a format of
    several files (PNG slides `sequence-01.png`, ...; a long diagram's Mermaid
    parts) adds `png-02`, `png-03`, ... for the others. Numbered files left by
    an earlier, longer render are removed. `diagram`: the layout of `ordered`, when the caller has it.
    """
    options = options or RenderOptions()
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    renderers = {name: get_renderer(name, options) for name in formats}
    drawn = [name for name, r in renderers.items() if not r.whole_trace]
    # the layout of the options' view is built once, and only when a format needs it (not for Perfetto alone)
    if diagram is None and drawn:
        diagram = build_diagram(ordered, options)
    pending = start_graphviz_formats(diagram, drawn) if diagram is not None else None
    outputs: dict[str, Parts] = {}
    for name, renderer in renderers.items():  # while graphviz draws
        if renderer.whole_trace:
            outputs[name] = renderer.render_ordered(ordered, diagram)
        elif name not in GRAPHVIZ_FORMATS and diagram is not None:
            outputs[name] = renderer.render(diagram)
    if pending is not None:
        outputs.update(pending.result())
    return write_outputs({name: outputs[name] for name in formats}, outdir, options, stem)


def write_outputs(outputs: dict[str, Parts], outdir: Path, options: RenderOptions, stem: str) -> dict[str, Path]:
    """Write each format's parts under `outdir` (stale numbered files of the same format removed first)."""
    written: dict[str, Path] = {}
    for name, parts in outputs.items():
        renderer = get_renderer(name, options)
        ext = renderer.output_file_extension
        for old in [*outdir.glob(f"{stem}-[0-9][0-9].{ext}"), outdir / f"{stem}.{ext}"]:
            if old.exists() and old.is_file():
                old.unlink()
        for n, (file_name, content) in enumerate(zip(_file_names(renderer, parts, stem), parts, strict=True)):
            path = outdir / file_name
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(str(content), encoding="utf-8")
            written[name if n == 0 else f"{name}-{n + 1:02d}"] = path
    return written


__all__ = [
    "DEFAULT_FORMATS",
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
