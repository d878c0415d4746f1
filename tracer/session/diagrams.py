"""The diagram files of a run (or of a trace drawn again): what `ipctrace run` and `ipctrace render` write.

Three promises on top of `ipctrace.render.render_outputs`:

- the formats that need no outside program (Mermaid, PlantUML, text) are written first, so a machine
  without graphviz still gets them, and the sentence about graphviz comes after (graphviz's `neato`
  runs are started before them, though, and draw while they are made: the PNG pages are most of a
  run's drawing time);
- a diagram of more than `max_pages` slide pages is not drawn (graphviz would take minutes for a
  picture nobody can show); the sentence says how to get it anyway (`--max-pages`) or smaller;
- each file is drawn into a hidden folder beside its place and renamed into it, so a full disk or a
  kill half-way never leaves a cut file under a real name.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ipctrace.model import Trace
from ipctrace.order import OrderedTrace, OrderError, analyse
from ipctrace.render import (
    Diagram,
    RenderError,
    build_diagram,
    get_renderer,
    render_outputs,
    start_graphviz_formats,
    write_outputs,
)
from ipctrace.session.folder import DRAWING, disk_sentence
from ipctrace.session.request import DEFAULT_FORMATS, GRAPHVIZ_FORMATS, MAX_PAGES, DiagramRequest

if TYPE_CHECKING:
    from ipctrace.render.graphviz.early import Ahead


@dataclass
class Drawing:
    """The files written, and the sentence saying what could not be drawn ("" when everything was)."""

    files: dict[str, Path] = field(default_factory=dict)
    problem: str = ""


def ordered_view(trace: Trace) -> OrderedTrace:
    """The linked, ordered trace the diagrams are drawn from: `analyse`'s, computed once per trace for the
    diagrams, the timeline and the summary of a run alike."""
    return analyse(trace)


def _page_problem(diagram: Diagram, request: DiagramRequest) -> str:
    """Why the graphviz formats are not drawn: too many pages for `max_pages` ("" when they fit)."""
    pages = len(diagram.pages)
    if pages <= request.max_pages:
        return ""
    how = (
        "drop --no-fold so that repeated exchanges fold into one row, "
        if not request.options.fold
        else "draw a part of it (--view processes, --packets data), "
    )
    return (
        f"the diagram would have {pages} pages, more than --max-pages {request.max_pages}, so no SVG, PNG or PDF "
        f"was drawn: {how}or pass --max-pages {pages} to draw all of it; the text timeline has every call."
    )


def _place(written: dict[str, Path], staging: Path, outdir: Path, request: DiagramRequest) -> dict[str, Path]:
    """Move whole files from the staging folder into `outdir`; stale parts of a longer drawing go first.

    Numbered files are a paged format's pages and a long Mermaid or PlantUML diagram's further parts alike.
    """
    for name in request.formats:
        renderer = get_renderer(name, request.options)
        if name in written:
            for old in outdir.glob(f"{request.stem}-[0-9][0-9].{renderer.output_file_extension}"):
                old.unlink()
    placed = {}
    for label, path in written.items():
        target = outdir / path.relative_to(staging)
        os.replace(path, target)
        placed[label] = target
    return placed


Make = Callable[[Path], dict[str, Path]]


def _unwritable(outdir: Path, exc: OSError) -> str:
    """Why no diagram can be written into `outdir` (its folder cannot be made, or nothing made in it)."""
    return f"cannot write the diagrams to {outdir} ({exc.strerror}): choose another folder with --output DIR."


def _draw_some(outdir: Path, request: DiagramRequest, drawing: Drawing, make: Make) -> None:
    """Write files with `make(staging)` into a hidden folder, then move them into `outdir` whole."""
    try:
        staging = Path(tempfile.mkdtemp(prefix=DRAWING + "-", dir=outdir))
    except OSError as exc:  # a read-only folder (or one full to its last inode): nothing can be drawn there
        drawing.problem = drawing.problem or _unwritable(outdir, exc)
        return
    try:
        drawing.files.update(_place(make(staging), staging, outdir, request))
    except RenderError as exc:
        drawing.problem = drawing.problem or str(exc)
    except OSError as exc:
        not_written = f"{disk_sentence(outdir / request.stem, exc)}: the diagrams were not written."
        drawing.problem = drawing.problem or not_written
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def draw(trace: Trace, outdir: Path, request: DiagramRequest, ahead: Ahead | None = None) -> Drawing:
    """Write the requested diagram files of `trace` into `outdir`: the tool-free formats first, then graphviz's.

    `ahead`: graphviz's `neato` processes started while the run's programs ran (`render.graphviz.early`),
    taken by the drawing's jobs; the caller that started them ends those left over. Started only now, at
    the layout, they do not pay: each start holds this process up until its exec, and on a busy machine the
    layout ends before they are ready (`ipctrace render` of tcp_chat at load 13: 0.74-1.11 s without,
    1.27-1.39 s with).
    """
    try:
        ordered = ordered_view(trace)
    except OrderError as exc:
        return Drawing(problem=str(exc))
    drawing = Drawing()
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return Drawing(problem=_unwritable(outdir, exc))
    try:
        diagram = build_diagram(ordered, request.options)  # one layout for every format
    except RenderError as exc:
        return Drawing(problem=str(exc))
    free = tuple(f for f in request.formats if f not in GRAPHVIZ_FORMATS)
    drawn_by_graphviz = tuple(f for f in request.formats if f in GRAPHVIZ_FORMATS)
    graphviz_problem = _page_problem(diagram, request) if drawn_by_graphviz else ""
    pending = None
    if drawn_by_graphviz and not graphviz_problem:
        try:
            pending = start_graphviz_formats(diagram, drawn_by_graphviz, ahead)  # neato draws while the rest is made
        except RenderError as exc:
            graphviz_problem = str(exc)
    if free:
        _draw_some(
            outdir,
            request,
            drawing,
            lambda staging: render_outputs(
                ordered, staging, request.options, formats=free, stem=request.stem, diagram=diagram
            ),
        )
    if pending is not None:
        graphviz = pending

        def finish(staging: Path) -> dict[str, Path]:
            parts = graphviz.result()
            return write_outputs({f: parts[f] for f in drawn_by_graphviz}, staging, request.options, request.stem)

        _draw_some(outdir, request, drawing, finish)
    drawing.problem = drawing.problem or graphviz_problem
    return drawing


__all__ = ["DEFAULT_FORMATS", "GRAPHVIZ_FORMATS", "MAX_PAGES", "DiagramRequest", "Drawing", "draw", "ordered_view"]
