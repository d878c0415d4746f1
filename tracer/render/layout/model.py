"""The layout model: the frozen records every renderer reads, positions included.

This is the contract between layout and drawing. Renderers (`graphviz_svg`,
`mermaid`, `plantuml`, `text`) read only these classes; how they are computed
lives in the other modules of this package.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ipctrace.model import Pid
from ipctrace.order import Node
from ipctrace.render.base import RenderOptions


@dataclass(frozen=True)
class Lane:
    """A lifeline: a process, a kernel buffer (pipe, socketpair, connection) or a socket on the wire."""

    id: str
    kind: str  # process, channel, socket
    title: str
    subtitle: str
    pid: Pid | None = None
    first_row: int = 0
    last_row: int = 0
    end: str = ""  # exit status, for a process
    open_end: bool = False  # the process was still running (blocked) when the run ended
    x: float = 0.0


@dataclass(frozen=True)
class Arrow:
    """A message between two lanes, from the sending row to the receiving row (never upwards)."""

    id: str
    kind: str  # msg, in, out, packet, fork, connect, eof, lost, found
    src: str
    dst: str
    src_row: int
    dst_row: int
    label: str
    detail: str = ""  # the byte count or packet numbers, drawn after the label
    flows: tuple[int, ...] = ()  # indices into LinkedTrace.flows
    packet: int | None = None
    title: str = ""  # a description for the SVG <title> (tooltips, tests)
    label_at: str = "src"  # src: above the sending end; dst: below the receiving end
    dashed: bool = False


@dataclass(frozen=True)
class Bar:
    """An activation bar: a call that waited (wait), slept (sleep), never returned (open), bytes held (held)."""

    lane: str
    row0: int
    row1: int
    kind: str
    label: str = ""


@dataclass(frozen=True)
class CallLabel:
    """What a process called at a row, written beside its lifeline."""

    lane: str
    row: int
    text: str
    kind: str = "call"  # call, enter, error, blocked, head
    side: str = "right"


@dataclass(frozen=True)
class NoteLine:
    """One line of a note: what was printed, and what was typed after it (a prompt and its answer)."""

    text: str
    kind: str = "out"  # out, err, in (typed / scripted input)
    typed: str = ""  # input read right after a prompt on the same line


@dataclass(frozen=True)
class Note:
    """Lines a process printed (or read from its terminal), at the moment it did."""

    lane: str
    row: int
    lines: tuple[NoteLine, ...]
    side: str = "right"


@dataclass(frozen=True)
class Fold:
    """Rows that stand for `count` repetitions of the same exchange (a loop)."""

    row0: int
    row1: int
    count: int
    label: str
    detail: str
    lanes: tuple[str, ...]
    flows: tuple[int, ...]  # every flow the loop stands for
    events: int = 0  # events folded away


@dataclass(frozen=True)
class Row:
    index: int
    kind: str  # head, call, enter, output, exit, packet
    lane: str
    keys: tuple[Node, ...]
    y: float = 0.0  # the row's line: calls, arrows and notes are centred on it
    height: float = 0.0  # the row's own height around `y`
    pre: float = 0.0  # room above it for the head of a lane that starts here


@dataclass(frozen=True)
class LegendEntry:
    symbol: str  # msg, kernel, packet, wait, sleep, open, note, error, dashed, loop
    text: str


@dataclass(frozen=True)
class Diagram:
    """Everything a renderer needs, positions included (points, y down)."""

    title: str
    subtitle: str
    options: RenderOptions
    lanes: tuple[Lane, ...]
    rows: tuple[Row, ...]
    arrows: tuple[Arrow, ...]
    bars: tuple[Bar, ...]
    calls: tuple[CallLabel, ...]
    notes: tuple[Note, ...]
    folds: tuple[Fold, ...]
    legend: tuple[LegendEntry, ...]
    width: float = 0.0
    height: float = 0.0
    top: float = 0.0  # y of the first row's top edge (the title block is above)
    font: str = "DejaVu Sans"
    mono: str = "DejaVu Sans Mono"
    shown_flows: tuple[int, ...] = ()  # flows drawn as arrows
    folded_flows: tuple[int, ...] = ()  # flows that only a fold stands for
    lane_index: Mapping[str, int] = field(default_factory=dict)

    def lane(self, lane_id: str) -> Lane:
        return self.lanes[self.lane_index[lane_id]]


def _replace(obj, **changes):  # type: ignore[no-untyped-def]
    from dataclasses import replace

    return replace(obj, **changes)
