"""Rows: (possibly folded) steps numbered top to bottom, and the context every item builder reads.

`number_rows` is the first stage after folding; `Context` bundles its result
with the trace, the lanes and the facts derived once (descriptor names, signal
handlers) so that each item builder is a pure function of one frozen value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ipctrace.link import LinkedTrace
from ipctrace.model import Event, EventKey, Trace
from ipctrace.order import Node, OrderedTrace
from ipctrace.render.layout.descriptors import Descriptors
from ipctrace.render.layout.folding import FoldedSteps
from ipctrace.render.layout.lanes import Lanes
from ipctrace.render.layout.model import Row, RowKind
from ipctrace.render.layout.steps import Step
from ipctrace.render.options import RenderOptions


@dataclass(frozen=True, slots=True)
class FoldSpan:
    item: FoldedSteps
    row0: int
    row1: int


@dataclass(frozen=True)
class Numbered:
    rows: tuple[Row, ...]
    row_of: Mapping[Node, int]  # the row where a node is drawn (a call that waited: where it returned)
    enter_row: Mapping[Node, int]  # the entry row of a call that waited
    hidden: frozenset[Node]  # nodes only a fold stands for
    folds: tuple[FoldSpan, ...]


def number_rows(items: Sequence[Step | FoldedSteps]) -> Numbered:
    rows: list[Row] = []
    row_of: dict[Node, int] = {}
    enter_row: dict[Node, int] = {}
    hidden: set[Node] = set()
    folds: list[FoldSpan] = []

    def add(step: Step) -> None:
        index = len(rows)
        rows.append(Row(index, step.kind, step.lane, step.keys))
        target = enter_row if step.kind is RowKind.ENTER else row_of
        for key in step.keys:
            target[key] = index

    for item in items:
        if isinstance(item, FoldedSteps):
            row0 = len(rows)
            for step in item.steps:
                add(step)
            hidden |= item.hidden
            folds.append(FoldSpan(item, row0, len(rows) - 1))
        else:
            add(item)
    return Numbered(tuple(rows), row_of, enter_row, frozenset(hidden), tuple(folds))


@dataclass(frozen=True, slots=True)
class Density:
    """How much text a label carries: a diagram too wide for a slide is laid out again, terser."""

    level: int  # 0 full, 1 short, 2 terse, 3 bare
    payload: int  # payload characters on an arrow
    line_chars: int  # characters per line of a note or a descriptor's description
    waits: bool  # say how long a call waited
    bare: bool = False  # calls by name and result only, no printed lines (a wide packets view)


def densities(options: RenderOptions) -> tuple[Density, ...]:
    limit = options.payload_limit
    return (
        Density(0, limit, 30, True),
        Density(1, min(limit, 16), 22, True),
        Density(2, min(limit, 11), 17, False),
        Density(3, min(limit, 10), 17, False, bare=True),
    )


@dataclass(frozen=True)
class Context:
    """What every item builder reads: the trace, the options, the lanes, the rows and derived facts."""

    ordered: OrderedTrace
    options: RenderOptions
    lanes: Lanes
    numbered: Numbered
    descriptors: Descriptors
    handlers: Mapping[EventKey, str]  # calls made in a signal handler → the signal, if known
    density: Density

    @property
    def trace(self) -> Trace:
        return self.ordered.trace

    @property
    def linked(self) -> LinkedTrace:
        return self.ordered.linked

    @property
    def rows(self) -> tuple[Row, ...]:
        return self.numbered.rows

    def event(self, row: Row) -> Event:
        key = row.keys[0]
        assert isinstance(key, EventKey), key
        return self.trace.event(key)

    def shown(self, key: Node | None) -> bool:
        """True when `key` has a row of its own (not only a fold standing for it)."""
        return key is not None and key in self.numbered.row_of and key not in self.numbered.hidden

    def row(self, key: Node) -> Row:
        return self.numbered.rows[self.numbered.row_of[key]]
