"""`build_diagram`: the stages in order, then rows and lanes placed, title and legend added.

lanes (`lanes`) → steps (`steps`) → folds (`folding`) → rows and items
(`items`) → label sides, heights and gaps (`geometry`) → a `Diagram`.
"""

from __future__ import annotations

from collections.abc import Sequence

from ipctrace.model import Trace
from ipctrace.order import OrderedTrace
from ipctrace.render.base import RenderOptions
from ipctrace.render.i18n import tr
from ipctrace.render.layout.folding import FoldedSteps, fold_steps
from ipctrace.render.layout.geometry import HEAD_HEIGHT_LINES, Metrics, _lane_gaps, _row_heights, _sides
from ipctrace.render.layout.items import _Builder
from ipctrace.render.layout.lanes import assign_lanes
from ipctrace.render.layout.model import Arrow, Bar, CallLabel, Diagram, Fold, LegendEntry, Note, _replace
from ipctrace.render.layout.steps import Step, build_steps


def choose_fonts(lang: str) -> tuple[str, str]:
    if lang == "ko":
        from ipctrace.render.i18n import require_korean_font

        korean = require_korean_font()
        # Latin, digits and arrows from DejaVu (Nanum's → is a dot); Hangul from the Korean font
        return f"DejaVu Sans,{korean}", f"DejaVu Sans Mono,{korean}"
    return "DejaVu Sans", "DejaVu Sans Mono"


def legend_entries(
    diagram_arrows: Sequence[Arrow],
    bars: Sequence[Bar],
    calls: Sequence[CallLabel],
    notes: Sequence[Note],
    folds: Sequence[Fold],
    lang: str,
) -> tuple[LegendEntry, ...]:
    """Only what this diagram uses, in a fixed order."""
    kinds = {a.kind for a in diagram_arrows}
    entries = []
    if kinds & {"msg", "lost", "found"}:
        entries.append(LegendEntry("msg", tr("legend_msg", lang)))
    if kinds & {"in", "out"}:
        entries.append(LegendEntry("kernel", tr("legend_kernel", lang)))
    if "packet" in kinds:
        entries.append(LegendEntry("packet", tr("legend_packet", lang)))
    if kinds & {"fork", "connect", "eof"}:
        entries.append(LegendEntry("dashed", tr("legend_fork", lang)))
    bar_kinds = {b.kind for b in bars}
    if "wait" in bar_kinds:
        entries.append(LegendEntry("wait", tr("legend_wait", lang)))
    if "sleep" in bar_kinds:
        entries.append(LegendEntry("sleep", tr("legend_sleep", lang)))
    if "open" in bar_kinds:
        entries.append(LegendEntry("open", tr("legend_open", lang)))
    if notes:
        entries.append(LegendEntry("note", tr("legend_note", lang)))
    if any(c.kind == "error" for c in calls):
        entries.append(LegendEntry("error", tr("legend_error", lang)))
    if folds:
        entries.append(LegendEntry("loop", tr("legend_loop", lang)))
    return tuple(entries)


def default_title(trace: Trace) -> str:
    if trace.header.scenario:
        return trace.header.scenario
    return " ".join(trace.header.command) or "ipctrace"


def build_diagram(ordered: OrderedTrace, options: RenderOptions | None = None) -> Diagram:
    """The whole layout: lanes, rows, items and positions for one view of one trace."""
    options = options or RenderOptions()
    font, mono = choose_fonts(options.lang)
    lanes = assign_lanes(ordered, options.view, options.lang)
    steps = build_steps(ordered, lanes, options)
    items: list[Step | FoldedSteps] = fold_steps(steps, ordered, options.fold_min) if options.fold else list(steps)
    builder = _Builder(ordered, options, lanes, font, mono)
    builder.add_rows(items)
    builder.build_items()
    lane_list = builder.finish_lanes()
    order = [lane.id for lane in lane_list]
    keep = set(order)
    builder.arrows = [a for a in builder.arrows if a.src in keep and a.dst in keep]
    _sides(builder, order)

    m = Metrics.of(options.font_size)
    heights = _row_heights(builder, m, lane_list)
    fold_top = {f.row0 for f in builder.folds}
    fold_bottom = {f.row1 for f in builder.folds}
    top = m.font * 2.2 + m.line * 1.5 + m.pad * 2  # title, subtitle
    touched = {(a.src, a.src_row) for a in builder.arrows} | {(a.dst, a.dst_row) for a in builder.arrows}
    pre_rows = {lane.first_row for lane in lane_list if lane.kind != "process" and (lane.id, lane.first_row) in touched}
    y = top
    rows = []
    for row, h in zip(builder.rows, heights, strict=True):
        if row.index in fold_top:
            y += m.line * 1.8
        pre = HEAD_HEIGHT_LINES * m.line + m.pad * 2 if row.index in pre_rows else 0.0
        center = y + pre + h / 2
        rows.append(_replace(row, y=center, height=h, pre=pre))
        y += h + pre
        if row.index in fold_bottom:
            y += m.pad * 1.5
    bottom = y + m.line * 1.5 + m.pad

    gaps, left, right = _lane_gaps(builder, lane_list, m)
    x = left
    placed = []
    for i, lane in enumerate(lane_list):
        placed.append(_replace(lane, x=x))
        if i < len(gaps):
            x += gaps[i]
    width = x + right
    title = options.title or default_title(ordered.trace)
    subtitle = f"{tr('view_' + options.view, options.lang)} · {tr('time_flows_down', options.lang)} ↓"
    if options.view == "packets" and not ordered.trace.packets:
        subtitle += " · no packets were captured"
    shown = sorted({i for a in builder.arrows for i in a.flows if a.kind in ("msg", "lost", "found", "in", "out")})
    legend = (
        legend_entries(builder.arrows, builder.bars, builder.calls, builder.notes, builder.folds, options.lang)
        if options.legend
        else ()
    )
    return Diagram(
        title=title,
        subtitle=subtitle,
        options=options,
        lanes=tuple(placed),
        rows=tuple(rows),
        arrows=tuple(builder.arrows),
        bars=tuple(b if b.row1 >= 0 else _replace(b, row1=len(rows) - 1) for b in builder.bars),
        calls=tuple(builder.calls),
        notes=tuple(builder.notes),
        folds=tuple(builder.folds),
        legend=legend,
        width=width,
        height=bottom,
        top=top,
        font=font,
        mono=mono,
        shown_flows=tuple(shown),
        folded_flows=tuple(sorted(builder.folded_flows)),
        lane_index={lane.id: i for i, lane in enumerate(placed)},
    )
