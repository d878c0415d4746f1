"""Items: (possibly folded) steps become rows and everything drawn at them, as one frozen value.

`build_items` numbers the rows (`rows`) and runs the item builders in order —
what stands beside each lifeline (`beside`), the arrows and held bars
(`arrows`), the lanes' extents and endings and the folds in words (`ends`) —
each a pure function of the same `Context`. Sizes and coordinates are left to
`geometry`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ipctrace.model import EventKey
from ipctrace.order import Node, OrderedTrace
from ipctrace.render.layout.arrows import (
    connect_and_eof_arrows,
    fork_arrows,
    held_bars,
    kept_together,
    kernel_arrows,
    message_arrows,
    packet_arrows,
)
from ipctrace.render.layout.beside import beside
from ipctrace.render.layout.descriptors import Descriptors, follow_descriptors
from ipctrace.render.layout.ends import finish_lanes, fold_records
from ipctrace.render.layout.folding import FoldedSteps
from ipctrace.render.layout.handlers import handler_calls
from ipctrace.render.layout.lanes import Lanes
from ipctrace.render.layout.model import Arrow, ArrowKind, Bar, CallLabel, Fold, Lane, LaneId, Note, Row, RowKind
from ipctrace.render.layout.rows import Context, Density, Numbered, number_rows
from ipctrace.render.layout.steps import Step
from ipctrace.render.options import RenderOptions, View


@dataclass(frozen=True)
class Items:
    """Rows and what is drawn at them, before any size or position is known."""

    rows: tuple[Row, ...]
    lanes: tuple[Lane, ...]  # in left-to-right order, with first/last rows and endings
    arrows: tuple[Arrow, ...]
    bars: tuple[Bar, ...]
    calls: tuple[CallLabel, ...]
    notes: tuple[Note, ...]
    folds: tuple[Fold, ...]
    folded_flows: frozenset[int]
    together: tuple[tuple[int, int], ...]  # row spans a page break must not cut (besides arrows)
    depends: tuple[int, ...]  # per row: the latest earlier row it causally depends on (-1: none)


def _head_rows(ctx: Context, arrows: Sequence[Arrow]) -> dict[LaneId, int]:
    heads: dict[LaneId, int] = {}
    for row in ctx.rows:
        if row.kind is RowKind.HEAD:
            heads.setdefault(row.lane, row.index)
    for arrow in arrows:
        if arrow.kind is ArrowKind.FORK:
            heads.setdefault(arrow.dst, arrow.src_row)
    return heads


@dataclass(frozen=True)
class Facts:
    """What the item builders derive once, whatever the density: names, handlers, the rows and their causes."""

    descriptors: Descriptors
    handlers: Mapping[EventKey, str]
    numbered: Numbered
    depends: tuple[int, ...]  # `causal_floor`


def trace_facts(ordered: OrderedTrace, options: RenderOptions, steps: Sequence[Step | FoldedSteps]) -> Facts:
    numbered = number_rows(steps)
    return Facts(
        follow_descriptors(ordered.trace, ordered.linked, options.lang),
        handler_calls(ordered.trace),
        numbered,
        causal_floor(ordered, numbered),
    )


def build_items(
    ordered: OrderedTrace,
    options: RenderOptions,
    lanes: Lanes,
    facts: Facts,
    density: Density,
) -> Items:
    numbered = facts.numbered
    ctx = Context(ordered, options, lanes, numbered, facts.descriptors, facts.handlers, density)
    side = beside(ctx)
    arrows = [*fork_arrows(ctx)]
    if options.view is View.PROCESSES:
        arrows.extend(message_arrows(ctx))
    else:
        arrows.extend(kernel_arrows(ctx))
    if options.view is View.PACKETS:
        arrows.extend(packet_arrows(ctx))
    else:
        arrows.extend(connect_and_eof_arrows(ctx))
    bars = [*side.bars, *held_bars(ctx)]
    lane_list = finish_lanes(ctx, arrows, bars, _head_rows(ctx, arrows))
    keep = {lane.id for lane in lane_list}
    arrows = [a for a in arrows if a.src in keep and a.dst in keep]
    folds, folded = fold_records(ctx, arrows)
    last = len(numbered.rows) - 1
    closed = tuple(b if b.row1 >= 0 else Bar(b.lane, b.row0, last, b.kind, b.label) for b in bars if b.lane in keep)
    return Items(
        numbered.rows,
        tuple(lane_list),
        tuple(arrows),
        closed,
        tuple(c for c in side.calls if c.lane in keep),
        tuple(n for n in side.notes if n.lane in keep),
        tuple(folds),
        frozenset(folded),
        tuple(kept_together(ctx)),
        facts.depends,
    )


def causal_floor(ordered: OrderedTrace, numbered: Numbered) -> tuple[int, ...]:
    """For each row, the latest other row any of its nodes happens after (through undrawn nodes too)."""
    causes = ordered.causes()
    row_of, hidden = numbered.row_of, numbered.hidden
    floor: dict[Node, int] = {}
    for node in ordered.order:
        own = row_of.get(node, -2)
        best = -1
        for pred in causes.get(node, ()):
            at = row_of.get(pred)
            value = at if at is not None and pred not in hidden and at != own else floor.get(pred, -1)
            if value > best:
                best = value
        floor[node] = best
    out = []
    for row in numbered.rows:
        if row.kind is RowKind.ENTER:
            out.append(-1)  # a call's entry follows only its own lane
        else:
            out.append(max((floor.get(k, -1) for k in row.keys), default=-1))
    return tuple(out)
