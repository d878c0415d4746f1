"""The layout model: the frozen records every renderer reads, positions and pages included.

This is the contract between layout and drawing. The SVG/PNG/PDF painter,
Mermaid, PlantUML, the text renderer (and any page built on top, such as a
step-through HTML view) read only these records; how they are computed lives
in the other modules of this package. Every record is a frozen dataclass,
every closed set an enum, every identity a small record whose `str()` is the
id written into an SVG (`p4312`, `k-pipe1`, `flow-3`), never parsed back.

Coordinates are points, x to the right and y downwards, in one tall drawing
(the SVG). A `Page` is a window on that drawing for a 16:9 slide, with its own
scale and lane positions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property

from ipctrace.link import GroupId
from ipctrace.model import Inode, Pid
from ipctrace.order import Node
from ipctrace.render.options import RenderOptions

# -- identities -------------------------------------------------------------------------------------


class LaneKind(StrEnum):
    PROCESS = "process"
    CHANNEL = "channel"  # a pipe or socket buffer in the kernel (kernel view; non-IP ones in the packets view)
    SOCKET = "socket"  # one end of a TCP connection or a UDP socket, on the wire (packets view)


@dataclass(frozen=True, slots=True, order=True)
class ProcessLane:
    pid: Pid

    @property
    def kind(self) -> LaneKind:
        return LaneKind.PROCESS

    def __str__(self) -> str:
        return f"p{self.pid}"


@dataclass(frozen=True, slots=True, order=True)
class ChannelLane:
    group: GroupId  # the link stage's group: pipe#1, socketpair#1, tcp#2, ...

    @property
    def kind(self) -> LaneKind:
        return LaneKind.CHANNEL

    def __str__(self) -> str:
        return f"k-{self.group.kind}{self.group.number}"


@dataclass(frozen=True, slots=True, order=True)
class SocketLane:
    inode: Inode

    @property
    def kind(self) -> LaneKind:
        return LaneKind.SOCKET

    def __str__(self) -> str:
        return f"s-{self.inode.dev}-{self.inode.ino}"


LaneId = ProcessLane | ChannelLane | SocketLane


class ArrowKind(StrEnum):
    MSG = "msg"  # bytes from the sending call straight to the receiving call (processes view)
    IN = "in"  # a send puts bytes into the kernel (kernel and packets views)
    OUT = "out"  # a receive takes bytes out of the kernel
    PACKET = "packet"  # a TCP segment or UDP datagram on the wire
    FORK = "fork"
    CONNECT = "connect"
    EOF = "eof"
    LOST = "lost"  # bytes no traced process read
    FOUND = "found"  # bytes no traced process sent

    @property
    def carries_data(self) -> bool:
        return self in (ArrowKind.MSG, ArrowKind.IN, ArrowKind.OUT, ArrowKind.LOST, ArrowKind.FOUND)

    @property
    def dashed(self) -> bool:
        return self in (ArrowKind.FORK, ArrowKind.CONNECT, ArrowKind.EOF)


_ARROW_PREFIX = {ArrowKind.MSG: "flow", ArrowKind.LOST: "flow", ArrowKind.FOUND: "flow"}


@dataclass(frozen=True, slots=True, order=True)
class ArrowId:
    """`flow-3` (flow 3 of the linked trace), `in-4312-5` (event 4312#5), `packet-7`, `fork-4313`, ..."""

    kind: ArrowKind
    numbers: tuple[int, ...]

    def __str__(self) -> str:
        prefix = _ARROW_PREFIX.get(self.kind, self.kind.value)
        return "-".join((prefix, *(str(n) for n in self.numbers)))


# -- what is drawn ----------------------------------------------------------------------------------


class RowKind(StrEnum):
    HEAD = "head"
    CALL = "call"
    ENTER = "enter"  # the moment a call that waited was made: its bar starts here
    OUTPUT = "output"  # lines the program printed or read from its terminal
    EXIT = "exit"
    PACKET = "packet"


class BarKind(StrEnum):
    WAIT = "wait"  # blocked in a call until another process acted
    SLEEP = "sleep"
    OPEN = "open"  # still blocked when the run ended
    HELD = "held"  # bytes written and not yet read, held by the kernel


class CallKind(StrEnum):
    CALL = "call"
    ENTER = "enter"
    ERROR = "error"  # failed with an errno
    INTERRUPTED = "interrupted"  # ended by an exception (a signal handler raised SystemExit, ...)
    BLOCKED = "blocked"  # never returned


class Side(StrEnum):
    LEFT = "left"
    RIGHT = "right"


class LabelAt(StrEnum):
    SRC = "src"  # above the sending end: a descending arrow never reaches there
    DST = "dst"  # below the receiving end (a second flow out of the same send)


class NoteKind(StrEnum):
    OUT = "out"
    ERR = "err"
    IN = "in"  # typed / scripted input
    FDS = "fds"  # which descriptors the processes hold (kernel view, after a fork)


class EndKind(StrEnum):
    """How a lifeline ends, so an expected ending never looks like a crash."""

    EXIT = "exit"  # exit status 0
    FAILED = "failed"  # a non-zero exit status, or an uncaught exception
    KILLED = "killed"  # killed by a signal nobody expected
    STOPPED = "stopped"  # stopped by the run as the scenario expects (a service at the end, a known hang)
    EXPECTED = "expected"  # still blocked when the run ended, as the scenario says it must be
    BLOCKED = "blocked"  # still blocked when the run ended, unexpectedly
    RUNNING = "running"  # nothing says how it ended


@dataclass(frozen=True, slots=True)
class LaneEnd:
    kind: EndKind
    text: str  # `exit 0`, `blocked forever in recvfrom`
    note: str = ""  # why: the scenario's explanation of an expected ending

    @property
    def crashed(self) -> bool:
        return self.kind in (EndKind.FAILED, EndKind.KILLED, EndKind.BLOCKED)


@dataclass(frozen=True, slots=True)
class Lane:
    """A lifeline: a process, a kernel buffer (pipe, socketpair, connection) or a socket on the wire.

    Lanes whose lives do not overlap may share a column (`column`): a server's
    second client handler is drawn below its first, in the same place.
    """

    id: LaneId
    title: str
    subtitle: str
    pid: Pid | None = None
    first_row: int = 0
    last_row: int = 0
    end: LaneEnd | None = None
    column: int = 0
    x: float = 0.0
    detail: str = ""  # a third line of the head, under the subtitle: the pid (`pid 4242`) with `--pids`

    @property
    def kind(self) -> LaneKind:
        return self.id.kind

    @property
    def open_end(self) -> bool:
        return self.end is not None and self.end.kind in (EndKind.EXPECTED, EndKind.BLOCKED)


@dataclass(frozen=True, slots=True)
class Arrow:
    """A message between two lanes, from the sending row to the receiving row (never upwards)."""

    id: ArrowId
    kind: ArrowKind
    src: LaneId
    dst: LaneId
    src_row: int
    dst_row: int
    label: str
    detail: str = ""  # the byte count, the datagram's address or the packet's numbers, after the label
    flows: tuple[int, ...] = ()  # indices into LinkedTrace.flows
    packet: int | None = None
    title: str = ""  # a description for the SVG <title> (tooltips, tests)
    label_at: LabelAt = LabelAt.SRC
    side: Side = Side.RIGHT  # for a message a process reads back itself: which side its loop is drawn on


@dataclass(frozen=True, slots=True)
class Bar:
    """An activation bar on a lane from `row0` to `row1` (inclusive)."""

    lane: LaneId
    row0: int
    row1: int
    kind: BarKind
    label: str = ""


@dataclass(frozen=True, slots=True)
class CallLabel:
    """What a process called at a row, written beside its lifeline.

    `details` say what the call's descriptor refers to (`pipe #1 write end`),
    on the lines below, where it is new to the reader.
    """

    lane: LaneId
    row: int
    text: str
    details: tuple[str, ...] = ()
    kind: CallKind = CallKind.CALL
    side: Side = Side.RIGHT
    handler: str = ""  # the call ran inside a signal handler: which signal (`SIGCHLD`), or `signal`
    mark: tuple[str, ...] = ()  # a note pointing at this call (`RenderOptions.marks`), as its lines


@dataclass(frozen=True, slots=True)
class NoteLine:
    """One line of a note: what was printed, and what was typed after it (a prompt and its answer)."""

    text: str
    kind: NoteKind = NoteKind.OUT
    typed: str = ""
    continued: bool = False  # this row goes on with the line above it (a long line wrapped), not a new line


@dataclass(frozen=True, slots=True)
class Note:
    """Lines a process printed (or read from its terminal), at the moment it did."""

    lane: LaneId
    row: int
    lines: tuple[NoteLine, ...]
    side: Side = Side.RIGHT


@dataclass(frozen=True, slots=True)
class Fold:
    """Rows that stand for `count` repetitions of the same exchange (a loop)."""

    row0: int
    row1: int
    count: int
    label: str  # `loop × 6`
    detail: str  # in words: `6 times: client1's writer → handler for client1, ...`
    lanes: tuple[LaneId, ...]
    flows: tuple[int, ...]  # every flow the loop stands for
    events: int = 0  # events folded away
    lines: tuple[str, ...] = ()  # `detail` broken into lines, as drawn beside the fold's tab


@dataclass(frozen=True, slots=True)
class Row:
    """One step of the causal order; rows that do not depend on each other may share a `band` (one y).

    `y` is the row's line (calls, arrows and notes are centred on it); `top`
    and `bottom` bound everything drawn for its band, so a page may break
    between two bands and cut nothing.
    """

    index: int
    kind: RowKind
    lane: LaneId
    keys: tuple[Node, ...]
    band: int = 0
    y: float = 0.0
    top: float = 0.0
    bottom: float = 0.0
    head_y: float | None = None  # where the head of a lane starting here is drawn, when above `y`


class LegendSymbol(StrEnum):
    MSG = "msg"
    KERNEL = "kernel"
    PACKET = "packet"
    DASHED = "dashed"
    WAIT = "wait"
    SLEEP = "sleep"
    OPEN = "open"
    NOTE = "note"
    ERROR = "error"
    LOOP = "loop"
    HANDLER = "handler"


@dataclass(frozen=True, slots=True)
class LegendEntry:
    symbol: LegendSymbol
    text: str


@dataclass(frozen=True, slots=True)
class Metrics:
    """Sizes in points, derived from the smallest text size (`RenderOptions.font_size`)."""

    small: float  # call labels, notes, details: the smallest text drawn
    font: float  # payloads, lane titles
    title: float
    line: float
    pad: float
    bar: float
    min_gap: float

    @classmethod
    def of(cls, small: float) -> Metrics:
        return cls(
            small=small,
            font=small * 1.1,
            title=small * 1.55,
            line=small * 1.25,
            pad=small * 0.45,
            bar=small * 0.7,
            min_gap=small * 5.5,
        )


@dataclass(frozen=True, slots=True)
class PageLane:
    lane: LaneId
    x: float  # on this page, in diagram points before the page's scale
    head: bool  # its head is repeated at the top of this page (it began on an earlier page)


@dataclass(frozen=True, slots=True)
class Page:
    """One 16:9 slide: rows [row0, row1) of the drawing, the y window they fill, and how it is scaled.

    A page point is `scale` diagram points: page x = scale * x + dx, page
    y = scale * (y - y0) + dy. `continued` lists lanes whose bars come from
    the previous page, `continues` those whose bars go on to the next.
    """

    number: int
    count: int
    row0: int
    row1: int
    y0: float
    y1: float
    scale: float
    dx: float
    dy: float
    lanes: tuple[PageLane, ...]
    continued: tuple[LaneId, ...] = ()
    continues: tuple[LaneId, ...] = ()
    legend: bool = False  # the legend fits below this page's last row
    caption: bool = False  # the lesson is written under the title (first page)
    footer: bool = True  # False: the last page used its footer's room for the diagram

    def has_row(self, row: int) -> bool:
        return self.row0 <= row < self.row1


@dataclass(frozen=True)
class Diagram:
    """Everything a renderer needs, positions and pages included (points, y down)."""

    title: str
    caption: str  # the lesson, or ""
    subtitle: str  # the view: `processes view · time flows down ↓`
    ending: str  # how the run ended, when that is worth saying (`ended as expected: …`), or ""
    options: RenderOptions
    metrics: Metrics
    lanes: tuple[Lane, ...]
    rows: tuple[Row, ...]
    arrows: tuple[Arrow, ...]
    bars: tuple[Bar, ...]
    calls: tuple[CallLabel, ...]
    notes: tuple[Note, ...]
    folds: tuple[Fold, ...]
    legend: tuple[LegendEntry, ...]
    pages: tuple[Page, ...] = ()
    width: float = 0.0
    height: float = 0.0
    top: float = 0.0  # y of the first row's top edge (the title block is above)
    font: str = "DejaVu Sans"
    mono: str = "DejaVu Sans Mono"
    shown_flows: tuple[int, ...] = ()  # flows drawn as arrows
    folded_flows: tuple[int, ...] = ()  # flows that only a fold stands for
    lane_index: Mapping[LaneId, int] = field(default_factory=dict)
    together: tuple[tuple[int, int], ...] = ()  # row spans no page break cuts: a TCP handshake, a teardown

    def lane(self, lane_id: LaneId) -> Lane:
        return self.lanes[self.lane_index[lane_id]]

    @cached_property
    def marked(self) -> frozenset[tuple[LaneId, int]]:
        """Where the marked calls are, as (lane, row): found once per diagram, not once per slide."""
        return frozenset((c.lane, c.row) for c in self.calls if c.mark)
