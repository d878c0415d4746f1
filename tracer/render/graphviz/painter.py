"""DOT for the whole drawing (the SVG master) and for each 16:9 slide of it (PNG and PDF pages)."""

from __future__ import annotations

from ipctrace.render.graphviz import paint_arrows, paint_lanes, paint_text
from ipctrace.render.graphviz.canvas import Canvas, Transform
from ipctrace.render.graphviz.sheet import Items, Sheet, every_item, items_by_page
from ipctrace.render.graphviz.themes import THEMES
from ipctrace.render.layout.model import Diagram, Page
from ipctrace.render.layout.pages import MARGIN
from ipctrace.render.options import PAGE_HEIGHT_PT, PAGE_WIDTH_PT


def _paint(sheet: Sheet) -> None:
    paint_text.folds(sheet, boxes=True)
    paint_lanes.lifelines(sheet)
    paint_lanes.bars(sheet)
    paint_arrows.arrows(sheet)
    paint_text.calls(sheet)
    paint_text.notes(sheet)
    paint_lanes.heads(sheet)
    paint_lanes.ends(sheet)
    paint_text.folds(sheet, boxes=False)


def _canvas(diagram: Diagram, width: float, height: float) -> Canvas:
    theme = THEMES[diagram.options.theme]
    return Canvas(width, height, theme, diagram.metrics, diagram.font, diagram.mono)


def master_source(diagram: Diagram) -> str:
    """The whole diagram in one drawing: title block, every row, at the layout's own size."""
    m = diagram.metrics
    width = diagram.width
    canvas = _canvas(diagram, width, diagram.top + diagram.height + m.pad)
    lanes = {lane.id: lane.x for lane in diagram.lanes}
    sheet = Sheet(
        diagram,
        canvas,
        Transform(1.0, 0.0, diagram.top, 0.0),
        0,
        len(diagram.rows),
        -1e9,
        1e9,
        lanes,
        every_item(diagram),
    )
    x = m.pad * 2
    y = paint_text.title(sheet, x, m.pad, max(width - 4 * m.pad, 300.0), caption=True)
    subtitle = " · ".join(filter(None, (diagram.subtitle, diagram.ending)))
    sub_w = paint_text.text_width(subtitle, m.small) + m.pad
    canvas.text(
        x + sub_w / 2,
        y + m.line * 0.6,
        canvas.font(subtitle, m.small, canvas.theme.muted),
        sub_w,
        m.line,
        name="subtitle",
        id="subtitle",
    )
    y += m.line * 1.2
    if diagram.options.legend and diagram.legend:
        paint_text.legend(sheet, x + paint_text.legend_width(sheet, 4), y, 4)
    _paint(sheet)
    return canvas.source("sequence")


def page_sources(diagram: Diagram) -> list[str]:
    """Every slide's DOT; each page draws only what its rows hold (found in one pass)."""
    return [
        page_source(diagram, page, items)
        for page, items in zip(diagram.pages, items_by_page(diagram, diagram.pages), strict=True)
    ]


def page_source(diagram: Diagram, page: Page, items: Items | None = None) -> str:
    """One slide: 960 × 540 points, its rows scaled by the page's scale, title, lane heads and footer."""
    m = diagram.metrics
    canvas = _canvas(diagram, PAGE_WIDTH_PT, PAGE_HEIGHT_PT)
    lanes = {p.lane: p.x for p in page.lanes}
    transform = Transform(page.scale, page.dx, page.dy, page.y0)
    if items is None:
        items = items_by_page(diagram, [page])[0]
    sheet = Sheet(diagram, canvas, transform, page.row0, page.row1, page.y0, page.y1, lanes, items, page)
    paint_text.title(sheet, MARGIN, MARGIN * 0.6, PAGE_WIDTH_PT - 2 * MARGIN, caption=page.caption)
    footer_y = PAGE_HEIGHT_PT - MARGIN * 0.6 - m.line / 2
    if page.legend and diagram.options.legend and diagram.legend:
        columns = 3
        width = paint_text.legend_width(sheet, columns)
        rows = -(-len(diagram.legend) // columns)
        height = rows * m.line * 1.15 + m.pad
        paint_text.legend(sheet, MARGIN + width, footer_y - m.line / 2 - height - m.pad * 0.5, columns)
    if page.footer:
        paint_text.footer(sheet, footer_y, PAGE_WIDTH_PT, MARGIN)
    _paint(sheet)
    return canvas.source(f"page-{page.number}")
