"""Where each lane begins and ends, how each process ended, and what each fold stands for, in words.

An ending the scenario expects (the trace header's `ending` and its
explanation) is drawn as what it is — "blocked forever in recvfrom —
expected: UDP has no end of file" — never as a crash.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

from ipctrace.model import EventKey, Process, signal_name
from ipctrace.render.i18n import tr
from ipctrace.render.labels import show_size
from ipctrace.render.layout.measure import wrap_chars
from ipctrace.render.layout.model import (
    Arrow,
    ArrowKind,
    Bar,
    BarKind,
    EndKind,
    Fold,
    Lane,
    LaneEnd,
    LaneId,
    ProcessLane,
    RowKind,
)
from ipctrace.render.layout.rows import Context, FoldSpan
from ipctrace.render.options import Lang


def expected_why(note: str) -> str:
    """The first sentence of the scenario's explanation, without its leading "Expected:"."""
    first = note.split(". ")[0].strip().rstrip(".")
    return first.split(":", 1)[1].strip() if first.lower().startswith("expected:") else first


def _blocked_call(ctx: Context, pid: int) -> str:
    blocked = [e for e in ctx.trace.events_of(pid) if e.blocked]
    return str(blocked[-1].call) if blocked else "?"


def lane_end(ctx: Context, proc: Process | None, open_end: bool, exited: bool) -> LaneEnd:
    lang = ctx.options.lang
    header = ctx.trace.header
    expected = header.ending == "expected-blocked"
    if open_end and proc is not None:
        call = _blocked_call(ctx, proc.pid)
        if expected:
            return LaneEnd(
                EndKind.EXPECTED,
                tr("blocked_forever", lang, call=call),
                tr("expected", lang, why=expected_why(header.ending_note)),
            )
        return LaneEnd(EndKind.BLOCKED, tr("still_blocked", lang, call=call))
    if proc is None or proc.exit is None:
        return (
            LaneEnd(EndKind.EXIT, tr("ended", lang)) if exited else LaneEnd(EndKind.RUNNING, tr("still_running", lang))
        )
    status = proc.exit
    if status.signal is not None:
        sig = signal_name(status.signal)
        if header.ending in ("complete", "expected-blocked") and sig == "SIGTERM":
            return LaneEnd(EndKind.STOPPED, tr("stopped_by", lang, sig=sig))
        return LaneEnd(EndKind.KILLED, tr("killed", lang, sig=sig))
    code = status.code if status.code is not None else 0
    return LaneEnd(EndKind.EXIT if code == 0 else EndKind.FAILED, tr("exit", lang, code=code))


def _rows_used(
    ctx: Context, arrows: Sequence[Arrow], bars: Sequence[Bar]
) -> tuple[dict[LaneId, list[int]], dict[LaneId, int]]:
    """Every row each lane has something at (a row, an arrow end, a bar, a call on its pipe), and exit rows."""
    used: dict[LaneId, list[int]] = defaultdict(list)
    for arrow in arrows:
        used[arrow.src].append(arrow.src_row)
        used[arrow.dst].append(arrow.dst_row)
    for bar in bars:
        used[bar.lane].append(bar.row0)
    exit_row: dict[LaneId, int] = {}
    for row in ctx.rows:
        used[row.lane].append(row.index)
        if row.kind is RowKind.EXIT:
            exit_row[row.lane] = row.index
        key = row.keys[0]
        if row.kind in (RowKind.CALL, RowKind.ENTER) and isinstance(key, EventKey):
            lane = ctx.lanes.endpoint_lane.get(ctx.trace.event(key).inode)  # type: ignore[arg-type]
            if lane is not None:
                used[lane].append(row.index)
    return used, exit_row


def finish_lanes(
    ctx: Context, arrows: Sequence[Arrow], bars: Sequence[Bar], head_row: Mapping[LaneId, int]
) -> list[Lane]:
    """Each lane's first and last row (lanes nothing happens on are left out) and its ending."""
    last = max(len(ctx.rows) - 1, 0)
    used, exit_row = _rows_used(ctx, arrows, bars)
    open_lanes = {b.lane for b in bars if b.kind is BarKind.OPEN}
    out = []
    for lane_id in ctx.lanes.order:
        info = ctx.lanes.info[lane_id]
        where = used.get(lane_id, [])
        if not isinstance(lane_id, ProcessLane):
            if where:
                out.append(Lane(lane_id, info.title, info.subtitle, None, min(where), max(where)))
            continue
        if lane_id not in head_row and not where:
            continue
        first = min(head_row.get(lane_id, last), min(where, default=last))
        open_end = lane_id in open_lanes
        end_row = exit_row.get(lane_id, last if open_end else max(where, default=first))
        end = lane_end(ctx, ctx.trace.process(lane_id.pid), open_end, lane_id in exit_row)
        out.append(
            Lane(lane_id, info.title, info.subtitle, info.pid, first, max(end_row, first), end, detail=info.detail)
        )
    return out


def _phrases(arrows: Iterable[Arrow], ctx: Context, row0: int, row1: int) -> list[str]:
    """`client1's writer → handler for client1`, once per pair of processes a message went between."""
    titles = ctx.lanes.info
    seen: dict[tuple[LaneId, LaneId], None] = {}
    arrows = sorted(arrows, key=lambda a: (a.src_row, a.dst_row))
    for a in arrows:
        if a.kind is ArrowKind.MSG and row0 <= a.src_row <= row1 and a.src != a.dst:
            seen.setdefault((a.src, a.dst))
    for a in arrows:  # the kernel views have legs: pair them by flow
        if a.kind is ArrowKind.IN and row0 <= a.src_row <= row1:
            for b in arrows:
                if b.kind is ArrowKind.OUT and set(a.flows) & set(b.flows) and row0 <= b.dst_row <= row1:
                    seen.setdefault((a.src, b.dst))
    return [f"{titles[a].title} → {titles[b].title}" for a, b in seen]


def fold_records(ctx: Context, arrows: Sequence[Arrow]) -> tuple[list[Fold], set[int]]:
    """Each fold as the lecturer says it: `loop × 6` and `6 times: writer → handler, handler → client1`."""
    flow_of: dict[EventKey, list[int]] = defaultdict(list)
    for i, flow in enumerate(ctx.linked.flows):
        for key in (flow.send, flow.recv):
            if key is not None:
                flow_of[key].append(i)
    lang = ctx.options.lang
    folds: list[Fold] = []
    folded: set[int] = set()
    for span in ctx.numbered.folds:
        item = span.item
        keys = [k for k in item.all_keys if isinstance(k, EventKey)]
        flows = sorted({i for k in keys for i in flow_of.get(k, ())})
        hidden = item.hidden
        folded |= {i for i in flows if ctx.linked.flows[i].send in hidden or ctx.linked.flows[i].recv in hidden}
        folds.append(_fold(span, ctx, arrows, flows, keys, lang))
    return folds, folded


def _fold(
    span: FoldSpan, ctx: Context, arrows: Sequence[Arrow], flows: list[int], keys: list[EventKey], lang: Lang
) -> Fold:
    item = span.item
    sizes = sorted({ctx.trace.event(k).size or 0 for k in keys if ctx.trace.event(k).moves_data_out})
    phrases = _phrases(arrows, ctx, span.row0, span.row1)
    what = ", ".join(phrases) if phrases else tr("loop", lang, n="")
    detail = tr("loop_words", lang, n=f"{item.count:,}", what=what)
    if len(sizes) == 1:
        detail += f" ({tr('each', lang, b=show_size(sizes[0]))})"
    lanes = tuple(dict.fromkeys(s.lane for s in item.steps))
    events = sum(1 for k in item.hidden if isinstance(k, EventKey))
    label = tr("loop", lang, n=f"{item.count:,}")
    lines = wrap_chars(detail, ctx.density.line_chars * 2)
    return Fold(span.row0, span.row1, item.count, label, detail, lanes, tuple(flows), events, lines)
