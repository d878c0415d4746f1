"""Text beside lifelines (calls, printed lines, folds) and around the drawing (title, caption, legend, footer)."""

from __future__ import annotations

from ipctrace.render.graphviz.sheet import Sheet
from ipctrace.render.i18n import tr
from ipctrace.render.layout.geometry import fold_room
from ipctrace.render.layout.measure import call_size, caption_lines, note_size, note_text, text_width
from ipctrace.render.layout.model import CallKind, Fold, LegendSymbol, Metrics, NoteKind, Side


def calls(sheet: Sheet) -> None:
    c, m = sheet.canvas, sheet.m
    t = c.theme
    ink = {CallKind.CALL: t.fg, CallKind.ENTER: t.muted, CallKind.ERROR: t.error, CallKind.BLOCKED: t.open_line}
    ink[CallKind.INTERRUPTED] = t.error
    for n, call in sheet.items.calls:
        if not sheet.has(call.row) or call.lane not in sheet.lane_x:
            continue
        size = call_size(call, m)
        w, h = sheet.size(size.w), sheet.size(size.h)
        offset = sheet.size(m.bar / 2 + m.pad * 0.6) + w / 2
        x = sheet.x(call.lane)
        cx = x + offset if call.side is Side.RIGHT else x - offset
        color = t.handler if call.handler else ink[call.kind]
        lines = [
            c.font(call.text, sheet.size(m.small), color, bold=call.kind in (CallKind.ERROR, CallKind.INTERRUPTED))
        ]
        lines += [c.font(detail, sheet.size(m.small), t.muted) for detail in call.details]
        lines += [c.font(line, sheet.size(m.small), t.mark, bold=True) for line in call.mark]
        align = "LEFT" if call.side is Side.RIGHT else "RIGHT"
        if call.mark:
            _mark_frame(sheet, n, cx, sheet.row_y(call.row), w, h)
        c.text(
            cx,
            sheet.row_y(call.row),
            c.lines_table(lines, align),
            w,
            h,
            name=f"call-{n}",
            id=f"call-{n}",
            fillcolor=t.mark_fill if call.mark else t.bg,
            class_=f"call {call.kind.value}{' handler' if call.handler else ''}{' marked' if call.mark else ''}",
        )


def _mark_frame(sheet: Sheet, n: int, cx: float, cy: float, w: float, h: float) -> None:
    """A thick frame around a marked call and its note, drawn under the text."""
    t, pad = sheet.canvas.theme, sheet.size(sheet.m.pad * 0.5)
    sheet.canvas.box(
        cx,
        cy,
        w + 0.5 * pad,  # clear of the activation bar beside it
        h + pad,
        name=f"mark-{n}",
        shape="box",
        style="rounded,filled",
        fillcolor=t.mark_fill,
        color=t.mark,
        penwidth=3.2 * max(sheet.s, 0.6),
        label="",
        id=f"mark-{n}",
        class_="mark",
    )


def notes(sheet: Sheet) -> None:
    c, m = sheet.canvas, sheet.m
    t = c.theme
    for n, note in sheet.items.notes:
        if not sheet.has(note.row) or note.lane not in sheet.lane_x:
            continue
        size = note_size(note, m)
        w, h = sheet.size(size.w), sheet.size(size.h)
        offset = sheet.size(m.bar / 2 + m.pad * 0.6) + w / 2
        x = sheet.x(note.lane)
        cx = x + offset if note.side is Side.RIGHT else x - offset
        rows = []
        small = sheet.size(m.small)
        for line in note.lines:
            text = note_text(line)
            color = t.error if line.kind is NoteKind.ERR else t.muted if line.kind is NoteKind.FDS else t.fg
            body = c.font(text.printed, small, color) if text.printed else ""
            if text.typed:
                body += c.font(text.typed, small, t.typed, bold=True)
            rows.append(body)
        fds = note.lines[0].kind is NoteKind.FDS
        c.box(
            cx,
            sheet.row_y(note.row),
            w,
            h,
            name=f"note-{n}",
            shape="box" if fds else "note",
            style="dashed" if fds else "filled",
            fillcolor=t.note_fill,
            color=t.note_line,
            margin="0.05,0.02",
            label=f"<{c.lines_table(rows)}>",
            id=f"note-{n}",
            class_="note fds" if fds else "note",
        )


def folds(sheet: Sheet, boxes: bool) -> None:
    """The dashed box around each fold (`boxes`), or its tab and words, drawn over the lifelines."""
    m, d = sheet.m, sheet.diagram
    for n, fold in sheet.items.folds:
        room = fold_room(fold, m)
        top = d.rows[fold.row0].top - room
        bottom = d.rows[fold.row1].bottom + m.pad
        span = sheet.clip(top, bottom)
        if span is None:
            continue
        left = max(sheet.transform.x(m.pad), 2.0)
        edge = sheet.transform.x(d.width - m.pad) if sheet.page is None else sheet.canvas.width - left  # a slide's
        right = min(edge, sheet.canvas.width - 2.0)  # lanes (a window of them, too) are centred on it
        y0, y1 = sheet.y(span[0]), sheet.y(span[1])
        if boxes:
            _fold_box(sheet, n, fold, left, right, y0, y1)
            continue
        if not sheet.has(fold.row0):
            continue
        _fold_words(sheet, n, fold, left, top)


def _fold_box(sheet: Sheet, n: int, fold: Fold, left: float, right: float, y0: float, y1: float) -> None:
    t = sheet.canvas.theme
    sheet.canvas.box(
        (left + right) / 2,
        (y0 + y1) / 2,
        right - left,
        y1 - y0,
        name=f"fold-{n}",
        shape="box",
        style="dashed",
        color=t.fold_line,
        penwidth=1.4,
        label="",
        id=f"fold-{n}",
        class_=f"fold count-{fold.count}",
        tooltip=f"{fold.label}: {fold.detail}",
    )


def _fold_words(sheet: Sheet, n: int, fold: Fold, left: float, top: float) -> None:
    c, m = sheet.canvas, sheet.m
    t = c.theme
    tab_w = sheet.size(text_width(fold.label, m.font, bold=True) + 2 * m.pad)
    line_h = sheet.size(m.line)
    tab_y = sheet.y(top) + line_h * 0.6
    c.box(
        left + tab_w / 2,
        tab_y,
        tab_w,
        line_h * 1.1,
        name=f"fold-tab-{n}",
        shape="box",
        style="filled",
        fillcolor=t.fold_fill,
        color=t.fold_line,
        label=f"<{c.font(fold.label, sheet.size(m.font), t.fg, bold=True)}>",
        id=f"fold-tab-{n}",
        class_="fold-label",
    )
    if fold.lines:
        w = sheet.size(max(text_width(line, m.small) for line in fold.lines) + m.pad)
        h = line_h * len(fold.lines)
        rows = [c.font(line, sheet.size(m.small), t.muted) for line in fold.lines]
        c.text(
            left + tab_w + sheet.size(m.pad) + w / 2,
            sheet.y(top) + sheet.size(m.pad * 0.3) + h / 2,
            c.lines_table(rows),
            w,
            h,
            name=f"fold-detail-{n}",
            id=f"fold-detail-{n}",
            class_="fold-detail",
        )


# -- around the drawing (page points, not scaled) -------------------------------------------------------


def title(sheet: Sheet, x: float, y: float, width: float, caption: bool) -> float:
    """The title (and the caption under it); returns the y below them."""
    c, m, d = sheet.canvas, sheet.m, sheet.diagram
    t = c.theme
    page = sheet.page
    suffix = f"   ({page.number}/{page.count})" if page is not None and page.count > 1 else ""
    text, size = _fitted_title(d.title, suffix, width, m)
    w = text_width(text, size, bold=True) + m.pad
    c.text(
        x + w / 2,
        y + m.title * 0.67,
        c.font(text, size, t.fg, bold=True),
        w,
        m.title * 1.3,
        name="title",
        id="title",
    )
    y += m.title * 1.35
    if caption and d.caption:
        lines = caption_lines(d.caption, width, m.small)
        h = len(lines) * m.line
        w = max(text_width(line, m.small) for line in lines) + m.pad
        rows = [c.font(line, m.small, t.muted) for line in lines]
        c.text(x + w / 2, y + h / 2, c.lines_table(rows), w, h, name="caption", id="caption")
        y += h
    return y


def _fitted_title(title: str, suffix: str, width: float, m: Metrics) -> tuple[str, float]:
    """A title that fits the page's width: smaller (down to the lane titles' size), then cut at a word with `…`."""
    size = m.title
    full = text_width(title + suffix, size, bold=True) + m.pad
    if full <= width:
        return title + suffix, size
    size = max(m.font, size * width / full)
    if text_width(title + suffix, size, bold=True) + m.pad <= width:
        return title + suffix, size
    words = title.split(" ")
    while len(words) > 1 and text_width(" ".join(words) + "…" + suffix, size, bold=True) + m.pad > width:
        words.pop()
    kept = " ".join(words)
    return (kept if kept == title else kept.rstrip(",:;") + "…") + suffix, size


_SYMBOLS = {
    LegendSymbol.MSG: ("──▶", "msg"),
    LegendSymbol.KERNEL: ("──▶", "kernel"),
    LegendSymbol.PACKET: ("──▶", "packet"),
    LegendSymbol.DASHED: ("╌╌▶", "dashed"),
    LegendSymbol.WAIT: ("▮", "wait_line"),
    LegendSymbol.SLEEP: ("▮", "sleep_line"),
    LegendSymbol.OPEN: ("▯", "open_line"),
    LegendSymbol.NOTE: ("▭", "note_line"),
    LegendSymbol.ERROR: ("✗", "error"),
    LegendSymbol.LOOP: ("⟳", "fold_line"),
    LegendSymbol.HANDLER: ("↯", "handler"),
}


def legend(sheet: Sheet, x_right: float, y: float, columns: int) -> float:
    """The legend in rows of `columns` entries, right-aligned at `x_right`; returns its height."""
    c, m = sheet.canvas, sheet.m
    entries = sheet.diagram.legend
    if not entries:
        return 0.0
    cells, widths = [], []
    for entry in entries:
        sym, color = _SYMBOLS[entry.symbol]
        cells.append(
            f'<TD ALIGN="LEFT">{c.font(sym, m.small, getattr(c.theme, color), bold=True)}</TD>'
            f'<TD ALIGN="LEFT">{c.font(entry.text + "   ", m.small, c.theme.muted)}</TD>'
        )
        widths.append(text_width("▶▶▶ " + entry.text + "   ", m.small) + m.pad)
    rows = [cells[i : i + columns] for i in range(0, len(cells), columns)]
    col_w = [max(widths[i] for i in range(k, len(widths), columns)) for k in range(min(columns, len(widths)))]
    table = "".join(f"<TR>{''.join(r)}</TR>" for r in rows)
    label = f'<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="1" CELLPADDING="1">{table}</TABLE>'
    w, h = sum(col_w) + m.pad * 2, len(rows) * m.line * 1.15 + m.pad
    c.text(x_right - w / 2, y + h / 2, label, w, h, name="legend", id="legend")
    return h


def legend_width(sheet: Sheet, columns: int) -> float:
    m = sheet.m
    widths = [text_width("▶▶▶ " + e.text + "   ", m.small) + m.pad for e in sheet.diagram.legend]
    if not widths:
        return 0.0
    return (
        sum(max(widths[i] for i in range(k, len(widths), columns)) for k in range(min(columns, len(widths))))
        + 2 * m.pad
    )


def footer(sheet: Sheet, y: float, width: float, margin: float) -> None:
    """Page number and view on the left; which lanes go on to the next page on the right."""
    c, m, d = sheet.canvas, sheet.m, sheet.diagram
    page = sheet.page
    assert page is not None
    lang = d.options.lang
    left = d.subtitle
    if page.count > 1:
        left = f"{tr('page', lang, i=page.number, n=page.count)} · {left}"
    w = min(text_width(left, m.small) + m.pad, width * 0.6)
    c.text(margin + w / 2, y, c.font(left, m.small, c.theme.muted), w, m.line, name="footer", id="footer")
    if page.continues:
        names = ", ".join(d.lane(lane).title for lane in page.continues)
        right = f"{tr('continues_mark', lang)} {names}"
        rw = text_width(right, m.small) + m.pad
        c.text(
            width - margin - rw / 2,
            y,
            c.font(right, m.small, c.theme.muted),
            rw,
            m.line,
            name="continues",
            id="continues",
        )
