"""The classroom page: one self-contained HTML file that tells a run step by step.

`HtmlRenderer` (format `html`) embeds the layout of all three views (`views`),
the facts about every event, packet and flow and the happens-before causes
(`nodes`), each step in words (`sentences`), the slide themes and the page's words (`words`), as one JSON
document, next to the page's own script and style (package data in
`assets/`, kept readable). Nothing is fetched: no network, no external script
or font, and a Content-Security-Policy that forbids any request, so the file
works from a USB stick on a lecture-room PC with no internet.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
from dataclasses import asdict, replace
from functools import cache
from html import escape
from importlib import resources
from typing import Any

from ipctrace.order import OrderedTrace
from ipctrace.render.base import Parts, Renderer
from ipctrace.render.graphviz.themes import THEMES
from ipctrace.render.html.nodes import collect
from ipctrace.render.html.views import view_layout
from ipctrace.render.html.words import ui_words
from ipctrace.render.i18n import tr
from ipctrace.render.layout.build import build_diagram
from ipctrace.render.layout.model import Diagram, LaneKind
from ipctrace.render.options import RenderError, RenderOptions, View

#: The page's script, in the order it runs (one scope): data and layout, drawing, panels, the state on screen,
#: the controls, and the app (its state; it starts the page, so it comes last).
SCRIPTS = ("model.js", "draw.js", "panel.js", "screen.js", "controls.js", "app.js")
FORMAT_VERSION = 1
_MARKS = re.compile(r"@LANG@|@TITLE@|@ENCODING@|/\*@CSS@\*/|/\*@DATA@\*/|/\*@JS@\*/")


def _without_wire(ordered: OrderedTrace) -> bool:
    """True when the packets view would draw nothing the kernel view does not: no packets, no IP socket."""
    return not ordered.trace.packets and not any(ch.kind.is_ip for ch in ordered.linked.channels)


def diagrams_of(ordered: OrderedTrace, diagram: Diagram | None, options: RenderOptions) -> dict[View, Diagram]:
    """The layout of every view; `diagram` (the options' view) is reused when it is already built.

    A run with no wire (pipes and Unix sockets only) has a packets view that is its kernel view, so that
    layout is made once and only its subtitle says which view it is.
    """
    out: dict[View, Diagram] = {}
    for view in (View.PROCESSES, View.KERNEL, View.PACKETS):
        if diagram is not None and diagram.options.view is view:
            out[view] = diagram
        elif view is View.PACKETS and _without_wire(ordered):
            kernel = out[View.KERNEL]
            lang = options.lang
            subtitle = " · ".join(
                (tr("view_packets", lang), f"{tr('time_flows_down', lang)} ↓", tr("no_packets", lang))
            )
            out[view] = replace(kernel, subtitle=subtitle, options=replace(kernel.options, view=view))
        else:
            out[view] = build_diagram(ordered, replace(options, view=view, builds=False))
    return out


def document(ordered: OrderedTrace, options: RenderOptions, diagram: Diagram | None = None) -> dict[str, Any]:
    """Everything the page's script reads, as one JSON-ready value."""
    diagrams = diagrams_of(ordered, diagram, options)
    processes = diagrams[View.PROCESSES]
    ends = {
        lane.pid: lane.end.text + (f" ({lane.end.note})" if lane.end.note else "")
        for lane in processes.lanes
        if lane.kind is LaneKind.PROCESS and lane.pid is not None and lane.end is not None
    }
    facts = collect(ordered, options.lang, ends)
    return {
        "version": FORMAT_VERSION,
        "lang": options.lang.value,
        "theme": options.theme.value,
        "view": options.view.value,
        "title": processes.title,
        "caption": processes.caption,
        "words": ui_words(options.lang),
        "themes": {name.value: asdict(theme) for name, theme in THEMES.items()},
        "font": processes.font,
        "mono": processes.mono,
        "names": {str(pid): name for pid, name in facts.names.items()},
        "nodes": facts.nodes,
        "causes": facts.causes,
        "flows": facts.flows,
        "views": {view.value: view_layout(d, facts.rank) for view, d in diagrams.items()},
    }


@cache  # a handful of files, each read once
def asset(name: str) -> str:
    """One file of the page's script, style or template (package data)."""
    return (resources.files("ipctrace.render.html") / "assets" / name).read_text(encoding="utf-8")


def load_assets() -> None:
    """Read the page's script, style and template ahead (`ipctrace run`'s warm-up, while the programs run):
    the first read also imports importlib's package-data readers (and zipfile), ~4 CPU-ms."""
    for name in (*SCRIPTS, "page.css", "page.html"):
        asset(name)


#: Above this many bytes of JSON the data is embedded gzipped (base64), and the script unpacks it
#: (DecompressionStream: Chrome/Edge 80, Firefox 113, Safari 16.4). Smaller pages stay plain JSON,
#: readable in the file and opened by any browser.
GZIP_FROM = 1_000_000


def _json_for_script(value: Any) -> tuple[str, str]:
    """The data for its <script> element and how it is encoded: JSON that cannot close the element, or gzip."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if len(text) < GZIP_FROM:
        return text.replace("<", "\\u003c"), "json"
    packed = gzip.compress(text.encode("utf-8"), compresslevel=6, mtime=0)
    return base64.b64encode(packed).decode("ascii"), "gzip+base64"


_DATA_RE = re.compile(
    r'<script type="application/json" id="ipctrace-data" data-encoding="([^"]+)">(.*?)</script>', re.S
)


def embedded_data(html: str) -> dict[str, Any]:
    """The data a page embeds (for tests and tools): what `document` made, whichever way it was packed."""
    match = _DATA_RE.search(html)
    if match is None:
        raise RenderError("this file is not an ipctrace classroom page (it holds no ipctrace data).")
    encoding, payload = match.groups()
    if encoding == "gzip+base64":
        payload = gzip.decompress(base64.b64decode(payload)).decode("utf-8")
    return json.loads(payload)


def page(data: dict[str, Any]) -> str:
    """The whole HTML file."""
    script = "\n".join(asset(name) for name in SCRIPTS)
    if "</script" in script.lower() or "</style" in asset("page.css").lower():
        raise RenderError("the classroom page's assets contain a closing tag; please report it.")
    payload, encoding = _json_for_script(data)
    parts = {
        "@LANG@": escape(data["lang"]),
        "@TITLE@": escape(data["title"]),
        "@ENCODING@": encoding,
        "/*@CSS@*/": asset("page.css"),
        "/*@DATA@*/": payload,
        "/*@JS@*/": script,
    }
    return _MARKS.sub(lambda m: parts[m.group(0)], asset("page.html"))  # one pass: no text is replaced twice


class HtmlRenderer(Renderer):
    """The classroom page (see the module docstring): step through, details, causes, views, exercise, presenter."""

    name = "html"
    output_file_extension = "html"
    whole_trace = True

    def render(self, diagram: Diagram) -> Parts:
        raise RenderError("the classroom page is made from the whole trace: use render_outputs() or render().")

    def render_ordered(self, ordered: OrderedTrace, diagram: Diagram | None = None) -> Parts:
        return (page(document(ordered, self.options, diagram)),)
