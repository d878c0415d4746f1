"""Sequence diagrams of a linked, ordered trace: SVG (master), PNG pages, PDF, Mermaid, PlantUML, text.

The layout is computed once (`ipctrace.render.layout.build_diagram`) and every
renderer, one per module, draws the same model. `render_outputs` writes the
files a run leaves behind; a `RenderError` carries the one sentence to show
when something needed is missing (graphviz, a Korean font).
"""

from __future__ import annotations

from pathlib import Path

from ipctrace.order import OrderedTrace
from ipctrace.render.base import Renderer, RenderError, RenderOptions
from ipctrace.render.graphviz_svg import PdfRenderer, PngRenderer, SvgRenderer
from ipctrace.render.layout import Diagram, build_diagram
from ipctrace.render.mermaid import MermaidRenderer
from ipctrace.render.plantuml import PlantUmlRenderer
from ipctrace.render.text import TextRenderer

RENDERERS: dict[str, type[Renderer]] = {
    cls.name: cls for cls in (SvgRenderer, PngRenderer, PdfRenderer, MermaidRenderer, PlantUmlRenderer, TextRenderer)
}

#: What `render_outputs` writes by default, in order.
DEFAULT_FORMATS = ("svg", "png", "pdf", "mermaid", "plantuml")


def get_renderer(name: str, options: RenderOptions | None = None) -> Renderer:
    try:
        cls = RENDERERS[name]
    except KeyError:
        raise RenderError(f"unknown output format {name!r}: choose one of {', '.join(RENDERERS)}.") from None
    return cls(options)


def render(ordered: OrderedTrace, name: str, options: RenderOptions | None = None) -> str | bytes:
    """One format of one view, as a string or bytes (PNG: the first page)."""
    options = options or RenderOptions()
    return get_renderer(name, options).render(build_diagram(ordered, options))


def render_outputs(
    ordered: OrderedTrace,
    outdir: str | Path,
    options: RenderOptions | None = None,
    formats: tuple[str, ...] = DEFAULT_FORMATS,
    stem: str = "sequence",
) -> dict[str, Path]:
    """Write the diagram files under `outdir` and return label → path.

    Labels: `svg`, `pdf`, `mermaid`, `plantuml`, `text`, and `png` for the
    first PNG page plus `png-02`, `png-03`, ... for the others. PNG pages are
    `sequence-01.png`, `sequence-02.png`, ...; stale pages from an earlier,
    longer render are removed.
    """
    options = options or RenderOptions()
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    diagram = build_diagram(ordered, options)
    written: dict[str, Path] = {}
    for name in formats:
        renderer = get_renderer(name, options)
        if renderer.paged:
            pages = renderer.render_pages(diagram)
            for old in outdir.glob(f"{stem}-[0-9][0-9].{renderer.output_file_extension}"):
                old.unlink()
            for n, page in enumerate(pages, start=1):
                path = outdir / f"{stem}-{n:02d}.{renderer.output_file_extension}"
                _write(path, page)
                written[name if n == 1 else f"{name}-{n:02d}"] = path
        else:
            path = outdir / f"{stem}.{renderer.output_file_extension}"
            _write(path, renderer.render(diagram))
            written[name] = path
    return written


def _write(path: Path, content: str | bytes) -> None:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")


__all__ = [
    "RENDERERS",
    "Diagram",
    "RenderError",
    "RenderOptions",
    "Renderer",
    "build_diagram",
    "get_renderer",
    "render",
    "render_outputs",
]
