"""`build_diagram`: the stages in order, then the pages, the title block and the legend.

lanes (`lanes`) → steps (`steps`) → folds (`folding`) → rows and items
(`items`) → sides, columns, bands and positions (`geometry`) → room or
other ends for labels an arrow runs through (`clearing`) → pages (`pages`) →
one frozen `Diagram`. Each stage is a function of the previous
stages' frozen output.
"""

from __future__ import annotations

from collections.abc import Sequence

from ipctrace.model import Trace
from ipctrace.order import OrderedTrace
from ipctrace.perf import gc_paused
from ipctrace.render.i18n import korean_font, require_korean_font, tr
from ipctrace.render.layout.clearing import clear_crossings
from ipctrace.render.layout.ends import expected_why
from ipctrace.render.layout.folding import FoldedSteps, fold_steps
from ipctrace.render.layout.geometry import arrange, reach_of
from ipctrace.render.layout.items import Items, build_items, trace_facts
from ipctrace.render.layout.lanes import assign_lanes
from ipctrace.render.layout.measure import caption_lines
from ipctrace.render.layout.model import (
    ArrowKind,
    BarKind,
    CallKind,
    Diagram,
    LegendEntry,
    LegendSymbol,
    Metrics,
)
from ipctrace.render.layout.pages import MARGIN, frame_of, paginate
from ipctrace.render.layout.rows import densities
from ipctrace.render.layout.split import split_windows
from ipctrace.render.layout.steps import Step, build_steps
from ipctrace.render.options import PAGE_WIDTH_PT, Lang, RenderOptions, View


def choose_fonts(lang: Lang) -> tuple[str, str]:
    """Font lists for graphviz: DejaVu for Latin, digits and arrows, then a Korean font for Hangul.

    The Korean font is required for `--lang ko`, and used whenever it is installed, so a program's Korean
    message is drawn as Hangul in any language.
    """
    korean = require_korean_font() if lang is Lang.KO else korean_font()
    if korean:
        return f"DejaVu Sans,{korean}", f"DejaVu Sans Mono,{korean}"
    return "DejaVu Sans", "DejaVu Sans Mono"


def legend_entries(items: Items, lang: Lang) -> tuple[LegendEntry, ...]:
    """Only what this diagram uses, in a fixed order."""
    kinds = {a.kind for a in items.arrows}
    bars = {b.kind for b in items.bars}
    wanted = [
        (bool(kinds & {ArrowKind.MSG, ArrowKind.LOST, ArrowKind.FOUND}), LegendSymbol.MSG, "legend_msg"),
        (bool(kinds & {ArrowKind.IN, ArrowKind.OUT}), LegendSymbol.KERNEL, "legend_kernel"),
        (ArrowKind.PACKET in kinds, LegendSymbol.PACKET, "legend_packet"),
        (bool(kinds & {ArrowKind.FORK, ArrowKind.CONNECT, ArrowKind.EOF}), LegendSymbol.DASHED, "legend_fork"),
        (BarKind.WAIT in bars, LegendSymbol.WAIT, "legend_wait"),
        (BarKind.SLEEP in bars, LegendSymbol.SLEEP, "legend_sleep"),
        (BarKind.OPEN in bars, LegendSymbol.OPEN, "legend_open"),
        (bool(items.notes), LegendSymbol.NOTE, "legend_note"),
        (any(c.kind is CallKind.ERROR for c in items.calls), LegendSymbol.ERROR, "legend_error"),
        (any(c.handler for c in items.calls), LegendSymbol.HANDLER, "legend_handler"),
        (bool(items.folds), LegendSymbol.LOOP, "legend_loop"),
    ]
    return tuple(LegendEntry(symbol, tr(key, lang)) for used, symbol, key in wanted if used)


def default_title(trace: Trace) -> str:
    header = trace.header
    return header.title or header.scenario or " ".join(header.command) or "ipctrace"


def _subtitle(trace: Trace, options: RenderOptions) -> str:
    lang = options.lang
    parts = [tr(f"view_{options.view.value}", lang), f"{tr('time_flows_down', lang)} ↓"]
    if options.view is View.PACKETS and not trace.packets:
        parts.append(tr("no_packets", lang))
    return " · ".join(parts)


def _ending(trace: Trace, lang: Lang) -> str:
    ending = trace.header.ending
    if ending == "expected-blocked" and trace.header.ending_note:
        return tr("ending_expected", lang, why=expected_why(trace.header.ending_note))
    if ending in ("timeout", "deadlock", "interrupted", "failed"):
        return tr(f"ending_{ending}", lang)
    return ""


def master_top(title: str, caption: str, width: float, m: Metrics) -> float:
    """Height of the SVG's title block: title, caption lines, subtitle, legend."""
    lines = len(caption_lines(caption, max(width - 4 * m.pad, 300.0), m.small)) if caption else 0
    return m.pad + m.title * 1.35 + lines * m.line + m.line * 1.2 + m.line * 2.6


def build_diagram(ordered: OrderedTrace, options: RenderOptions | None = None) -> Diagram:
    """The whole layout: lanes, rows, items, positions and pages for one view of one trace.

    The cyclic collector is paused meanwhile: the layout makes many small objects and no cycles.
    """
    with gc_paused():
        return _build(ordered, options or RenderOptions())


def _build(ordered: OrderedTrace, options: RenderOptions) -> Diagram:
    font, mono = choose_fonts(options.lang)
    lanes = assign_lanes(ordered, options.view, options.lang, options.pids)
    steps = build_steps(ordered, lanes, options)
    folded: Sequence[Step | FoldedSteps] = fold_steps(steps, ordered, options.fold_min) if options.fold else steps
    m = Metrics.of(options.font_size)
    facts = trace_facts(ordered, options, folded)  # the rows too: the same at every density
    families = {lane: info.family for lane, info in lanes.info.items()}
    room = PAGE_WIDTH_PT - 2 * MARGIN
    for density in densities(options):  # as much text as fits across a slide at the smallest size
        items = build_items(ordered, options, lanes, facts, density)
        arranged = arrange(items, families, m)  # the width, without the rows' heights a wider one never needs
        if arranged.width <= room:
            break
    placed, hints = clear_crossings(items, families, m, arranged)
    windows, dropped = (
        split_windows(placed.lanes, placed.arrows, placed.width, room, m) if placed.width > room else ((), frozenset())
    )
    arrows = tuple(a for a in placed.arrows if str(a.id) not in dropped | hints)
    trace = ordered.trace
    title = options.title or default_title(trace)
    caption = options.caption if options.caption is not None else trace.header.lesson
    frame = frame_of(caption, placed.lanes, m)
    pages, cut = paginate(
        placed.rows,
        placed.lanes,
        arrows,
        items.bars,
        items.folds,
        items.together,
        placed.width,
        placed.height,
        frame,
        m,
        options.page_rows,
        windows,
        reach_of(placed, m) if placed.width > room and len(windows) == 1 else None,  # no one cut serves: per slide
    )
    arrows = tuple(a for a in arrows if str(a.id) not in cut) if cut else arrows
    shown = sorted({i for a in arrows if a.kind.carries_data for i in a.flows})
    return Diagram(
        title=title,
        caption=caption,
        subtitle=_subtitle(trace, options),
        ending=_ending(trace, options.lang),
        options=options,
        metrics=m,
        lanes=placed.lanes,
        rows=placed.rows,
        arrows=arrows,
        bars=items.bars,
        calls=placed.calls,
        notes=placed.notes,
        folds=items.folds,
        legend=legend_entries(items, options.lang) if options.legend else (),
        pages=pages,
        width=placed.width,
        height=placed.height,
        top=master_top(title, caption, placed.width, m),
        font=font,
        mono=mono,
        shown_flows=tuple(shown),
        folded_flows=tuple(sorted(items.folded_flows)),
        lane_index={lane.id: i for i, lane in enumerate(placed.lanes)},
        together=items.together,
    )
