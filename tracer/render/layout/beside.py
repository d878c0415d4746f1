"""What is written beside a lifeline: call labels (with what their descriptor is) and printed lines.

Pure functions of the rows' `Context`. A call's descriptor is named on a
second line where it is new to the reader (the first call on it in that lane,
or after the lane used another one), so labels stay short but nothing is a
bare number.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ipctrace.calls import Call, spec
from ipctrace.model import Event, EventKey, Stream
from ipctrace.render.i18n import duration, tr
from ipctrace.render.labels import returned, show_call, show_text_line, takes_fd
from ipctrace.render.layout.measure import wrap_chars
from ipctrace.render.layout.model import (
    Bar,
    BarKind,
    CallKind,
    CallLabel,
    LaneId,
    Note,
    NoteKind,
    NoteLine,
    Row,
    RowKind,
)
from ipctrace.render.layout.rows import Context
from ipctrace.render.options import View

NOTE_LINES = 6  # printed lines shown in one note before "…"
ROWS_A_LINE = 3  # rows a long printed line may wrap onto (while the note keeps within NOTE_LINES) before "…"
MARK_CHARS = 40  # a mark's note wraps at this many characters
_NOTE_KIND = {Stream.STDOUT: NoteKind.OUT, Stream.STDERR: NoteKind.ERR, Stream.STDIN: NoteKind.IN}


@dataclass(frozen=True)
class Beside:
    calls: tuple[CallLabel, ...]
    notes: tuple[Note, ...]
    bars: tuple[Bar, ...]  # waits, sleeps and calls still blocked at the end


def _interrupted(event: Event) -> bool:
    """An error that is an exception's name (`SystemExit`), not an errno (`ECONNRESET`)."""
    return event.error is not None and not event.error.startswith("E")


def _failure(event: Event, ctx: Context) -> str:
    lang = ctx.options.lang
    if _interrupted(event):
        return tr("interrupted", lang, call=event.call, what=event.error)
    return f"{event.call} ✗ {event.error}"


def _kind(event: Event) -> CallKind:
    if event.blocked:
        return CallKind.BLOCKED
    if _interrupted(event):
        return CallKind.INTERRUPTED
    if event.error is not None:
        return CallKind.ERROR
    return CallKind.CALL


def _detail(event: Event, ctx: Context, last: dict[tuple[LaneId, int], str], lane: LaneId) -> tuple[str, ...]:
    return wrap_chars(_description(event, ctx, last, lane), ctx.density.line_chars)


def _description(event: Event, ctx: Context, last: dict[tuple[LaneId, int], str], lane: LaneId) -> str:
    """What the call's descriptor is, when the reader has not just been told."""
    d = ctx.descriptors
    created = d.created.get(event.key)
    if created:
        return created
    meaning = d.meaning.get(event.key, "")
    if not meaning or not takes_fd(event) or "addr" in spec(event.call).shown_args:
        return ""  # bind(fd 3, 0.0.0.0:8080) and connect(fd 3, …) say what the socket is themselves
    fd = event.fd if event.fd is not None else -1
    if last.get((lane, fd)) == meaning:
        return ""
    last[(lane, fd)] = meaning
    return f"fd {fd}: {meaning}" if event.key in d.expr else meaning


def _enter_label(row: Row, event: Event, ctx: Context, last: dict[tuple[LaneId, int], str], sig: str) -> CallLabel:
    expr = ctx.descriptors.expr.get(event.key)
    text = str(event.call) if ctx.density.bare else show_call(event, expr).split(" → ")[0]
    details = () if ctx.density.bare else _detail(event, ctx, last, row.lane)
    return CallLabel(row.lane, row.index, ("↯ " if sig else "") + text, details, CallKind.ENTER, handler=sig)


def _returned_text(event: Event, ctx: Context, waited: str) -> str:
    """The row where a call that waited returns: `read → 13  (waited 1.1 ms)`."""
    lang = ctx.options.lang
    result = returned(event)
    text = tr("returns", lang, call=event.call) if not result else f"{event.call} {result}"
    if event.error is not None:
        text = _failure(event, ctx)
    if ctx.density.waits:
        text += f"  ({tr('waited', lang, t=waited)})" if ctx.density.level == 0 else f"  ({waited})"
    return text


def _bare_text(event: Event, kind: CallKind, waited: bool, text: str) -> str:
    """A call by its name and result only: `write → 100`, `waitpid → 4313`, `accept ✗` (the why is in fuller views)."""
    if kind is CallKind.INTERRUPTED:
        return f"{event.call} ✗"
    if event.reaped is not None and not event.reaped.nothing:  # the child's exit status is on its own lane
        return f"{event.call} → {event.reaped.pid}"
    if waited:
        return text.split("  (")[0]
    result = returned(event) if kind is CallKind.CALL else ""
    return f"{event.call} {result}".strip()


def _call_label(row: Row, ctx: Context, last: dict[tuple[LaneId, int], str]) -> tuple[CallLabel | None, Bar | None]:
    event = ctx.event(row)
    lang = ctx.options.lang
    handler = ctx.handlers.get(event.key)
    sig = (handler or tr("signal", lang)) if handler is not None else ""
    if row.kind is RowKind.ENTER:
        return _enter_label(row, event, ctx, last, sig), None
    if event.call is Call.FORK and isinstance(event.result, int) and event.result in ctx.lanes.of_pid:
        return None, None  # the fork arrow says it
    kind = _kind(event)
    expr = None if ctx.density.bare else ctx.descriptors.expr.get(event.key)
    enter = ctx.numbered.enter_row.get(event.key)
    bar = None
    details: tuple[str, ...] = ()
    if kind is CallKind.BLOCKED:
        text = show_call(event, expr)
        start = enter if enter is not None else row.index
        bar = Bar(row.lane, start, -1, BarKind.OPEN, tr("still_blocked", lang, call=event.call))
        details = _detail(event, ctx, last, row.lane)
    elif enter is not None:
        waited = duration((event.t1 or event.t0) - event.t0)
        bar = Bar(row.lane, enter, row.index, BarKind.SLEEP if event.call is Call.SLEEP else BarKind.WAIT, waited)
        text = _returned_text(event, ctx, waited)
    else:
        text = f"{show_call(event, expr)} ✗ {event.error}" if kind is CallKind.ERROR else show_call(event, expr)
        text = _failure(event, ctx) if kind is CallKind.INTERRUPTED else text
        details = _detail(event, ctx, last, row.lane)
    if ctx.density.bare:
        text, details = _bare_text(event, kind, enter is not None, text), ()
    text = f"↯ {text}" if sig else text  # made inside a signal handler
    return CallLabel(row.lane, row.index, text, details, kind, handler=sig), bar


def _note_lines(row: Row, ctx: Context) -> tuple[NoteLine, ...]:
    lines: list[NoteLine] = []
    pending, pending_kind = "", NoteKind.OUT
    for key in row.keys:
        event = ctx.trace.event(key)  # type: ignore[arg-type]
        kind = _NOTE_KIND[ctx.trace.stream_of(event) or Stream.STDOUT]
        data = event.data or b""
        if kind is NoteKind.IN and not data and not event.blocked:
            data = (tr("end_of_input", ctx.options.lang) + "\n").encode()
        if kind is not pending_kind and pending:
            lines.append(NoteLine(pending, pending_kind))
            pending = ""
        pending_kind = kind
        for piece in data.decode("utf-8", "replace").splitlines(keepends=True):
            pending += piece.rstrip("\n")
            if piece.endswith("\n"):
                lines.append(NoteLine(pending, kind))
                pending = ""
    if pending:
        lines.append(NoteLine(pending, pending_kind))
    return _merge_prompts(lines, int(ctx.density.line_chars * 1.2))


def _merge_prompts(lines: list[NoteLine], limit: int) -> tuple[NoteLine, ...]:
    """A prompt and the answer typed after it read as one line: `Client: ⌨ hello`."""
    merged: list[NoteLine] = []
    for line in lines:
        prev = merged[-1] if merged else None
        if (
            prev is not None
            and line.kind is NoteKind.IN
            and prev.kind is not NoteKind.IN
            and not prev.typed
            and prev.text.rstrip().endswith((":", ">", "?"))
        ):
            merged[-1] = NoteLine(prev.text, prev.kind, typed=line.text)
        else:
            merged.append(line)
    shown = [ln for ln in merged if ln.text.strip() or ln.typed.strip()]
    for rows in range(ROWS_A_LINE, 0, -1):  # fewer rows a line while the note would be too tall; one: cut
        cleaned = [row for ln in shown for row in _rows(ln, limit, rows)]
        if len(cleaned) <= NOTE_LINES:
            break
    if not cleaned:
        cleaned = [NoteLine("⏎")]
    if len(cleaned) > NOTE_LINES:
        cleaned = [*cleaned[: NOTE_LINES - 1], NoteLine(f"… (+{len(cleaned) - NOTE_LINES + 1})")]
    return tuple(cleaned)


def _rows(line: NoteLine, limit: int, rows: int) -> list[NoteLine]:
    """A printed line as note rows of at most `limit` characters, broken at spaces onto up to `rows` rows.

    Only the last row is cut ("…"): `Waiting for a connection...` one character too long reads
    `Waiting for a` / `connection...`, not `Waiting for a connection.…`. A typed answer wraps the same
    way after its prompt; a line read from the terminal with no prompt (each row would show ⌨) stays on one.
    """
    if line.kind is NoteKind.IN or rows == 1:
        typed = show_text_line(line.typed.encode(), limit)
        return [NoteLine(show_text_line(line.text.encode(), limit), line.kind, typed)]
    if line.typed:
        prompt = show_text_line(line.text.encode(), limit)
        first, *rest = _wrapped(line.typed, limit, rows)
        return [NoteLine(prompt, line.kind, first), *(NoteLine("", line.kind, r, continued=True) for r in rest)]
    first, *rest = _wrapped(line.text, limit, rows)
    return [NoteLine(first, line.kind), *(NoteLine(r, line.kind, continued=True) for r in rest)]


def _wrapped(text: str, limit: int, rows: int) -> list[str]:
    """`text` as the terminal showed it, in at most `rows` pieces of `limit` characters, the last cut ("…").

    A line that fits on two rows is broken at the space that makes the rows most even (`Message from
    client:` / `Hello from client`, not `Message from client: Hello from` / `client`): the note stays narrow.
    Not `measure.wrap_chars`: a printed line keeps its own spacing, and a word longer than a row is cut
    (kept whole, it would widen the note past its row).
    """
    text = show_text_line(text[: 2 * rows * (limit + 1)].encode(), 1 << 62)  # more than is ever shown: cut
    if rows >= 2 and limit < len(text) <= 2 * limit + 1:  # it may fit on two rows (a long line: never scanned)
        even = [i for i, ch in enumerate(text) if ch == " " and max(_halves(text, i)) <= limit]
        if even:
            cut = min(even, key=lambda i: max(_halves(text, i)))
            return [text[:cut].rstrip(), text[cut:].lstrip()]
    out: list[str] = []
    while len(text) > limit and len(out) < rows - 1:
        cut = text.rfind(" ", 1, limit + 1)
        cut = cut if cut > 0 else limit  # one word longer than a row: cut inside it
        out.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    out.append(show_text_line(text.encode(), limit))
    return out


def _halves(text: str, at: int) -> tuple[int, int]:
    """The lengths of the two rows `text` makes when broken at the space at `at`."""
    return len(text[:at].rstrip()), len(text[at:].lstrip())


def _holds_note(row: Row, ctx: Context) -> Note | None:
    """Kernel view, at a fork: the descriptors parent and child now both hold."""
    if ctx.options.view is View.PROCESSES or ctx.density.bare:
        return None
    key = row.keys[0]
    holds = ctx.descriptors.holds.get(key) if isinstance(key, EventKey) else None
    if holds is None:
        return None
    lang = ctx.options.lang
    if not holds:
        return Note(row.lane, row.index, (NoteLine(tr("holds_nothing", lang), NoteKind.FDS),))
    wrapped = [part for h in holds for part in wrap_chars(h, ctx.density.line_chars + 8)]
    lines = (NoteLine(tr("both_hold", lang), NoteKind.FDS), *(NoteLine(h, NoteKind.FDS) for h in wrapped))
    return Note(row.lane, row.index, lines)


def _marked(label: CallLabel, row: Row, marks: dict[EventKey, str]) -> CallLabel:
    """The call with its mark's note under it, when `RenderOptions.marks` points at it (on its return row)."""
    if not marks or row.kind is not RowKind.CALL:
        return label
    for key in row.keys:
        note = marks.get(key) if isinstance(key, EventKey) else None
        if note:
            return replace(label, mark=wrap_chars(f"★ {note}", MARK_CHARS))
    return label


def beside(ctx: Context) -> Beside:
    """Call labels, notes and the bars of calls that waited, row by row."""
    calls: list[CallLabel] = []
    notes: list[Note] = []
    bars: list[Bar] = []
    last: dict[tuple[LaneId, int], str] = {}
    marks = {mark.key: mark.note for mark in ctx.options.marks}
    for row in ctx.rows:
        if row.kind in (RowKind.CALL, RowKind.ENTER):
            label, bar = _call_label(row, ctx, last)
            if label is not None:
                calls.append(_marked(label, row, marks))
            if bar is not None:
                bars.append(bar)
            if row.kind is RowKind.CALL:
                note = _holds_note(row, ctx)
                if note is not None:
                    notes.append(note)
        elif row.kind is RowKind.OUTPUT and not ctx.density.bare:
            notes.append(Note(row.lane, row.index, _note_lines(row, ctx)))
    return Beside(tuple(calls), tuple(notes), tuple(bars))
