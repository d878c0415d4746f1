"""SVG, PNG and PDF: the master drawing and the slides, from one layout, in one pass.

`draw(diagram, formats)` writes the DOT of the master and of every page once
and runs the `neato` processes that need it side by side (the SVG, the PNG
pages — split in two runs, one per core, and encoded with cheaper settings
(`pngfast`: the same pixels), since encoding PNGs is most of the time — and
the PDF). `start(diagram, formats)` does the same but returns while
they run: the caller draws the other formats meanwhile and takes the files
with `result()`. The renderer classes are the registry's entries for one
format each.
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Sequence

from ipctrace.perf import gc_paused
from ipctrace.render.base import Parts, Renderer
from ipctrace.render.graphviz.early import PNG_RUNS, png_preload
from ipctrace.render.graphviz.files import merge_pdfs, split_pdfs, split_pngs
from ipctrace.render.graphviz.neato import Ahead, Job, Running, start_all
from ipctrace.render.graphviz.painter import master_source, page_sources
from ipctrace.render.layout.measure import head_lines
from ipctrace.render.layout.model import Diagram
from ipctrace.render.options import PAGE_WIDTH_PT, PNG_WIDTH_PX, RenderError

PNG_DPI = PNG_WIDTH_PX / (PAGE_WIDTH_PT / 72.0)  # 144: a 960-point page is 1920 pixels wide
GRAPHVIZ_FORMATS = ("svg", "png", "pdf")

_TITLE_RE = re.compile(r'(<g id="(?P<id>[^"]+)" class="[^"]*">\s*<title>)(?P<title>.*?)(</title>)', re.S)


def finish_svg(svg: str, diagram: Diagram) -> str:
    """Give each arrow's <title> its description (graphviz writes `a->b` there)."""
    titles = {str(a.id): a.title or a.label for a in diagram.arrows}
    titles.update({f"lane-{lane.id}": f"{lane.title} ({' · '.join(head_lines(lane))})" for lane in diagram.lanes})
    for n, fold in enumerate(diagram.folds):
        titles[f"fold-{n}"] = f"{fold.label}: {fold.detail}"

    def sub(match: re.Match[str]) -> str:
        new = titles.get(html.unescape(match.group("id")))
        if new is None:
            return match.group(0)
        return match.group(1) + html.escape(new, quote=False) + match.group(4)

    return _TITLE_RE.sub(sub, svg)


def _with_dpi(source: str, dpi: float) -> str:
    return source.replace("graph [", f"graph [dpi={dpi:.2f}, ", 1)


def _png_jobs(pages: Sequence[str]) -> list[Job]:
    runs = max(1, min(len(pages), PNG_RUNS, os.cpu_count() or 1))
    size = -(-len(pages) // runs)
    preload = png_preload()
    return [
        Job("".join(_with_dpi(p, PNG_DPI) for p in pages[i : i + size]), "png", "cairo", preload)
        for i in range(0, len(pages), size)
    ]


def draw(diagram: Diagram, formats: Sequence[str]) -> dict[str, Parts]:
    """Every graphviz format asked for, from one set of DOT sources, the neato runs in parallel."""
    return start(diagram, formats).result()


def start(diagram: Diagram, formats: Sequence[str], ahead: Ahead | None = None) -> GraphvizDrawing:
    """Start drawing the graphviz formats asked for; `result()` waits for them (RenderError: graphviz missing).

    `ahead`: neato processes `early.start_later` started for these formats (whoever started them ends the rest).
    """
    with gc_paused():
        return GraphvizDrawing(diagram, formats, ahead)


class GraphvizDrawing:
    """The neato runs of one layout's SVG, PNG pages and PDF, started; `result()` collects and checks them."""

    def __init__(self, diagram: Diagram, formats: Sequence[str], ahead: Ahead | None = None) -> None:
        self.diagram = diagram
        wanted = [f for f in GRAPHVIZ_FORMATS if f in formats]
        self.pages = page_sources(diagram) if {"png", "pdf"} & set(wanted) else []
        jobs: list[Job] = []
        self.spans: dict[str, tuple[int, int]] = {}
        for fmt in wanted:
            begin = len(jobs)
            if fmt == "svg":
                jobs.append(Job(master_source(diagram), "svg"))
            elif fmt == "png":
                jobs.extend(_png_jobs(self.pages))
            else:
                jobs.append(Job("".join(self.pages), "pdf", "cairo"))
            self.spans[fmt] = (begin, len(jobs))
        self.running: Running | None = start_all(jobs, ahead) if jobs else None

    def result(self) -> dict[str, Parts]:
        results = self.running.wait() if self.running is not None else []
        with gc_paused():
            return self._parts(results)

    def _parts(self, results: list[bytes]) -> dict[str, Parts]:
        out: dict[str, Parts] = {}
        expected = len(self.pages)
        for fmt, (a, b) in self.spans.items():
            outputs = results[a:b]
            if fmt == "svg":
                out[fmt] = (finish_svg(outputs[0].decode("utf-8"), self.diagram),)
            elif fmt == "png":
                out[fmt] = _check(tuple(png for data in outputs for png in split_pngs(data)), expected)
            else:
                out[fmt] = (merge_pdfs(_check(tuple(split_pdfs(outputs[0])), expected)),)
        return out


def _check(parts: tuple[bytes, ...], expected: int) -> tuple[bytes, ...]:
    if len(parts) != expected:
        raise RenderError(f"graphviz drew {len(parts)} of {expected} pages; please report it with the trace file.")
    return parts


class SvgRenderer(Renderer):
    """The master drawing: one SVG, every row, ids and titles for every arrow."""

    name = "svg"
    output_file_extension = "svg"

    def render(self, diagram: Diagram) -> Parts:
        return draw(diagram, ("svg",))["svg"]


class PngRenderer(Renderer):
    """16:9 slides, 1920 × 1080 pixels each."""

    name = "png"
    output_file_extension = "png"
    output_is_binary = True
    paged = True

    def render(self, diagram: Diagram) -> Parts:
        return draw(diagram, ("png",))["png"]


class PdfRenderer(Renderer):
    """One PDF, one 960 × 540 pt page per slide; vector text, so it prints sharp."""

    name = "pdf"
    output_file_extension = "pdf"
    output_is_binary = True

    def render(self, diagram: Diagram) -> Parts:
        return draw(diagram, ("pdf",))["pdf"]
