"""The plain data model every stage reads: events, endpoints, packets, processes, one trace.

A trace holds only recorded facts (what each process called, what the wire
carried, how each process ended). Channels, flows and the happens-before order
are derived from it by `ipctrace.link` and `ipctrace.order`, never stored as a
second truth.

Closed sets are enums whose values are the words on disk (a trace file reads
the same as before they existed); raw recorder shapes (address lists, wait
statuses, lists of new descriptors) are decoded once, when a trace is read or
assembled, into the typed fields of `Event`.
"""

from __future__ import annotations

import operator
import signal as _signal
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntFlag, StrEnum
from typing import Any, NamedTuple

from ipctrace.calls import RECEIVES, SENDS, Call

Pid = int
Fd = int
Nanos = int

FORMAT_VERSION = 1

#: Calls that move payload bytes out of a process, and into one (from the table of calls).
SEND_CALLS = SENDS
RECV_CALLS = RECEIVES


class EndpointKind(StrEnum):
    """What a descriptor refers to, as the recorder found it (a FIFO is a pipe with a name)."""

    PIPE = "pipe"
    FIFO = "fifo"  # a named pipe (mkfifo): a pipe reached through a path
    UNIX_STREAM = "unix-stream"
    UNIX_DGRAM = "unix-dgram"
    UNIX_SEQPACKET = "unix-seqpacket"
    TCP = "tcp"
    TCP6 = "tcp6"
    UDP = "udp"
    UDP6 = "udp6"
    SOCKET = "socket"  # a socket of a family ipctrace does not model
    FILE = "file"
    DIR = "dir"
    TTY = "tty"
    CHAR = "char"
    OTHER = "other"

    @classmethod
    def parse(cls, text: str) -> EndpointKind:
        try:
            return cls(text)
        except ValueError:
            return cls.OTHER

    @property
    def is_stream(self) -> bool:
        """Bytes without boundaries: pipes, Unix stream sockets, TCP."""
        return self in _STREAM_KINDS

    @property
    def is_datagram(self) -> bool:
        """Messages with boundaries: UDP, Unix datagram and seqpacket sockets."""
        return self in _DGRAM_KINDS

    @property
    def is_pipe(self) -> bool:
        """A pipe, anonymous or named: one inode for both ends."""
        return self in (EndpointKind.PIPE, EndpointKind.FIFO)

    @property
    def is_tcp(self) -> bool:
        return self in (EndpointKind.TCP, EndpointKind.TCP6)

    @property
    def is_udp(self) -> bool:
        return self in (EndpointKind.UDP, EndpointKind.UDP6)

    @property
    def is_ip(self) -> bool:
        return self.is_tcp or self.is_udp

    @property
    def is_unix(self) -> bool:
        return self in (EndpointKind.UNIX_STREAM, EndpointKind.UNIX_DGRAM, EndpointKind.UNIX_SEQPACKET)

    @property
    def is_ipc(self) -> bool:
        """A pipe or socket: something another process can be at the other end of."""
        return self.is_stream or self.is_datagram or self is EndpointKind.SOCKET


_STREAM_KINDS = frozenset(
    {EndpointKind.PIPE, EndpointKind.FIFO, EndpointKind.UNIX_STREAM, EndpointKind.TCP, EndpointKind.TCP6}
)
#: The kinds that are byte streams (`EndpointKind.is_stream`) and pipes (`is_pipe`), for loops that ask once a call.
STREAM_KINDS = _STREAM_KINDS
PIPE_KINDS = frozenset({EndpointKind.PIPE, EndpointKind.FIFO})
_DGRAM_KINDS = frozenset({EndpointKind.UDP, EndpointKind.UDP6, EndpointKind.UNIX_DGRAM, EndpointKind.UNIX_SEQPACKET})
DATAGRAM_KINDS = _DGRAM_KINDS


class Stream(StrEnum):
    """A process's standard streams, as the session connected them."""

    STDIN = "stdin"
    STDOUT = "stdout"
    STDERR = "stderr"


class Proto(StrEnum):
    TCP = "tcp"
    UDP = "udp"


class TcpFlags(IntFlag):
    """TCP header flags; on disk and on screen as letters in the order S, F, R, P, A, U ("SA", "PA", "FA")."""

    NONE = 0
    FIN = 0x01
    SYN = 0x02
    RST = 0x04
    PSH = 0x08
    ACK = 0x10
    URG = 0x20

    @classmethod
    def from_letters(cls, letters: str) -> TcpFlags:
        flags = cls.NONE
        for letter in letters:
            flags |= _FLAG_OF_LETTER.get(letter, cls.NONE)
        return flags

    @property
    def letters(self) -> str:
        return "".join(letter for letter, flag in _LETTER_ORDER if self & flag)

    def __str__(self) -> str:
        return self.letters


_LETTER_ORDER = (
    ("S", TcpFlags.SYN),
    ("F", TcpFlags.FIN),
    ("R", TcpFlags.RST),
    ("P", TcpFlags.PSH),
    ("A", TcpFlags.ACK),
    ("U", TcpFlags.URG),
)
_FLAG_OF_LETTER = dict(_LETTER_ORDER)


class Inode(NamedTuple):
    """The identity of a pipe or socket in every process that holds it: (st_dev, st_ino).

    A tuple underneath, as `EventKey`: linking keys its tables by inode on every call of a trace, and a
    tuple's hash and equality run in C (a frozen dataclass's in Python: measured 180 ns a lookup).
    """

    dev: int
    ino: int

    def __str__(self) -> str:
        return f"{self.dev}:{self.ino}"


@dataclass(frozen=True, slots=True)
class SockAddr:
    """A socket address: an IP and port, or a Unix socket path (port is None)."""

    host: str
    port: int | None = None

    def __str__(self) -> str:
        if self.port is None:
            return self.host or "(unnamed)"
        if ":" in self.host:
            return f"[{self.host}]:{self.port}"
        return f"{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class Endpoint:
    """The kernel object behind a file descriptor, identified as the kernel does.

    Both ends of a pipe share one inode; the two ends of a socketpair have two.
    Inodes are the same in a parent and its forked child, so an endpoint names
    the same pipe or socket in every process that holds it.
    """

    dev: int
    ino: int
    kind: EndpointKind
    #: `Inode(dev, ino)`, made once: a trace shares one Endpoint per endpoint, and its inode is asked for
    #: on every call that uses it (made anew each time, it was 0.7 µs).
    inode: Inode = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "inode", Inode(self.dev, self.ino))


@dataclass(frozen=True, slots=True)
class CallSite:
    """Where in the program a call was made: the source file, line and function of the calling frame."""

    file: str
    line: int
    function: str = ""

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


class EventKey(NamedTuple):
    """Names one event: the process and its position in that process's stream.

    A typed immutable record like the dataclasses here, but a tuple underneath: every stage keys
    dicts by it, and a tuple's hash and equality run in C (a frozen dataclass's run as Python,
    measured 2.5x slower to look up and 1.7x slower to make; a million-event trace does tens of
    millions of lookups). Its hash, equality and order are those of `(pid, seq)`, as before.
    """

    pid: Pid
    seq: int

    def __str__(self) -> str:
        return f"{self.pid}#{self.seq}"


@dataclass(frozen=True, slots=True)
class ExitStatus:
    """How a process ended: an exit code, or the signal that killed it."""

    code: int | None = None
    signal: int | None = None

    @classmethod
    def from_wait_status(cls, status: int) -> ExitStatus:
        """A raw wait() status (an empty ExitStatus for a process that only stopped)."""
        sig = status & 0x7F
        if sig == 0:
            return cls(code=(status >> 8) & 0xFF)
        if sig == 0x7F:  # stopped, not ended
            return cls()
        return cls(signal=sig)

    def __str__(self) -> str:
        if self.signal is not None:
            return f"killed by {signal_name(self.signal)}"
        return f"exit {self.code}"


def signal_name(number: int) -> str:
    try:
        return _signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


@dataclass(frozen=True, slots=True)
class Reaped:
    """What a wait() returned: the child it reaped and how that child ended; pid 0 when nothing ended yet."""

    pid: Pid
    status: ExitStatus

    @property
    def nothing(self) -> bool:
        return self.pid == 0


class _EventFields(NamedTuple):
    """The fields of an `Event` as they are stored: those that differ from call to call first, then `call`
    and the rest, which repeat (the trace reader shares one tuple of those between like lines)."""

    pid: Pid
    seq: int
    ppid: Pid
    tid: int
    t0: Nanos
    t1: Nanos | None
    data: bytes | None  # payload, possibly capped
    #: `EventKey(pid, seq)`, made once: every stage keys its tables by it, and one shared object per event
    #: (instead of a new one at each use) keeps a million-event trace's links hundreds of MB smaller.
    key: EventKey
    call: Call
    fd: Fd | None
    endpoint: Endpoint | None
    args: Mapping[str, Any]
    result: Any
    error: str | None
    size: int | None  # true payload length, even when `data` is capped
    local: SockAddr | None
    peer: SockAddr | None
    peer_endpoint: Endpoint | None  # the other end, for socketpair(); the new socket, for accept()
    blocked: bool
    address: SockAddr | None
    fds: tuple[Fd, ...]
    reaped: Reaped | None
    #: The program's frame that made the call (file, line, function), as the recorder saw it; None when unknown.
    site: CallSite | None


class Event(_EventFields):
    """One call made by a traced process, from entry (t0) to return (t1).

    `t1` is None for a call that never returned: the process was still blocked
    in it when the run ended (`call` is then the blocked call's name and
    `blocked` is True).

    `args` and `result` are the call's arguments and return value as recorded;
    the typed fields below them are those values decoded once: `address` (the
    `addr` argument of bind/connect), `fds` (descriptors the call created:
    pipe's two, accept's one, ...), `reaped` (what a wait returned).

    A typed immutable record like the dataclasses here, but a tuple underneath (as `EventKey`): a
    trace is read into a million of them, and a tuple is made in C (a frozen slots dataclass's
    `__init__` sets its 23 fields one `object.__setattr__` at a time: measured 4.6 µs an event, the
    tuple 0.2 µs), which the trace reader does straight from its decoded fields (`EVENT_FIELDS`).
    Equality and hashing are by identity, as for the dataclass it was (two calls are never "equal").
    """

    __slots__ = ()

    def __new__(
        cls,
        pid: Pid,
        seq: int,
        ppid: Pid,
        tid: int,
        t0: Nanos,
        t1: Nanos | None,
        call: Call,
        fd: Fd | None = None,
        endpoint: Endpoint | None = None,
        args: Mapping[str, Any] | None = None,
        result: Any = None,
        error: str | None = None,
        data: bytes | None = None,
        size: int | None = None,
        local: SockAddr | None = None,
        peer: SockAddr | None = None,
        peer_endpoint: Endpoint | None = None,
        blocked: bool = False,
        address: SockAddr | None = None,
        fds: tuple[Fd, ...] = (),
        reaped: Reaped | None = None,
        site: CallSite | None = None,
    ) -> Event:
        head = (pid, seq, ppid, tid, t0, t1, data, EventKey(pid, seq), call, fd, endpoint)
        rest = ({} if args is None else args, result, error, size, local, peer, peer_endpoint, blocked, address)
        return tuple.__new__(cls, head + rest + (fds, reaped, site))

    def __getnewargs__(self) -> tuple[Any, ...]:
        """The arguments of `Event(...)` that make this event again (copy, pickle): every field but `key`."""
        return (*self[:6], *self[8:14], self[6], *self[14:])

    __eq__ = object.__eq__
    __ne__ = object.__ne__
    __hash__ = object.__hash__

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={value!r}" for name, value in zip(_NEW_ARGS, self.__getnewargs__(), strict=True))
        return f"Event({shown})"

    @property
    def failed(self) -> bool:
        return self.error is not None

    @property
    def moves_data_out(self) -> bool:
        return self.call in SEND_CALLS and not self.failed and bool(self.size)

    @property
    def moves_data_in(self) -> bool:
        return self.call in RECV_CALLS and not self.failed and bool(self.size)

    @property
    def inode(self) -> Inode | None:
        return None if self.endpoint is None else self.endpoint.inode


#: The order of `Event`'s stored fields: a tuple of them is an Event (`tuple.__new__(Event, fields)`).
EVENT_FIELDS = _EventFields._fields
#: Where the fields that repeat from call to call begin (`call` and after), in `EVENT_FIELDS`.
EVENT_TAIL = EVENT_FIELDS.index("call")
_NEW_ARGS = (*EVENT_FIELDS[:6], *EVENT_FIELDS[8:14], "data", *EVENT_FIELDS[14:])


@dataclass(frozen=True, slots=True)
class Packet:
    """One TCP segment or UDP datagram seen on the loopback interface."""

    index: int  # position in the run's capture (pcap), from 0
    ts: Nanos
    proto: Proto
    src: SockAddr
    dst: SockAddr
    payload: bytes
    flags: TcpFlags = TcpFlags.NONE
    seq: int | None = None
    ack: int | None = None

    @property
    def length(self) -> int:
        return len(self.payload)


@dataclass(frozen=True, slots=True)
class Process:
    """One traced process: who started it, its role in the scenario, how it ended."""

    pid: Pid
    ppid: Pid
    role: str  # "server", "client", "server/child#1", ...
    argv: tuple[str, ...] = ()
    start: Nanos = 0
    end: Nanos | None = None
    exit: ExitStatus | None = None
    forked: bool = False  # True when it began as a fork() of its parent


@dataclass(frozen=True, slots=True)
class CaptureInfo:
    """What the packet capture saw, kept and lost."""

    backend: str  # "scapy", "tcpdump" or "none"
    captured: int = 0
    kept: int = 0
    kernel_drops: int | None = None
    note: str = ""  # why capture was off or incomplete, for the user


@dataclass(frozen=True, slots=True)
class Header:
    """The first line of a trace file: what ran, where, and how it ended.

    `streams` names the pipes the session connected to each role's stdin,
    stdout and stderr: bytes written into them are the programs' own output
    (shown as printed lines), not IPC between traced processes.
    """

    version: int
    command: tuple[str, ...]
    host: str
    clock: str
    started: Nanos
    scenario: str | None = None
    title: str = ""  # the scenario's title and lesson, for the diagrams' title and caption
    lesson: str = ""
    roles: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    capture: CaptureInfo = field(default_factory=lambda: CaptureInfo("none"))
    ending: str = ""  # "", "expected-blocked", "timeout", ...
    ending_note: str = ""
    ended: Nanos = 0  # when the run was over (its last process ended, or ipctrace stopped it)
    streams: Mapping[Inode, Stream] = field(default_factory=dict)


_KEY_OF = operator.attrgetter("key")

#: Legacy events (recorded per printed line, before output was recorded at the descriptor).
_STREAM_CALLS = {Call.STDOUT: Stream.STDOUT, Call.STDERR: Stream.STDERR, Call.STDIN: Stream.STDIN}


@dataclass(frozen=True, slots=True)
class Trace:
    """Everything one run recorded. Produced once by `ipctrace.load`, read by every consumer.

    Lookups by pid and by event key are indexed once, when first asked for (`ipctrace show` of a
    million-event trace asks for neither: the two indexes took a second to make).
    """

    header: Header
    processes: tuple[Process, ...]
    events: tuple[Event, ...]
    packets: tuple[Packet, ...] = ()
    _process_by_pid: dict[Pid, Process] = field(init=False, repr=False, compare=False)
    _events_by_pid: dict[Pid, tuple[Event, ...]] | None = field(init=False, repr=False, compare=False)
    _event_by_key: dict[EventKey, Event] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_process_by_pid", {p.pid: p for p in self.processes})
        object.__setattr__(self, "_events_by_pid", None)
        object.__setattr__(self, "_event_by_key", None)

    def process(self, pid: Pid) -> Process | None:
        return self._process_by_pid.get(pid)

    def events_of(self, pid: Pid) -> tuple[Event, ...]:
        by_pid = self._events_by_pid
        if by_pid is None:
            grouped: dict[Pid, list[Event]] = {}
            for e in self.events:
                grouped.setdefault(e.pid, []).append(e)
            by_pid = {p: tuple(evs) for p, evs in grouped.items()}
            object.__setattr__(self, "_events_by_pid", by_pid)
        return by_pid.get(pid, ())

    def event(self, key: EventKey) -> Event:
        by_key = self._event_by_key
        if by_key is None:
            by_key = dict(zip(map(_KEY_OF, self.events), self.events, strict=True))
            object.__setattr__(self, "_event_by_key", by_key)
        try:
            return by_key[key]
        except KeyError:
            raise KeyError(str(key)) from None

    def stream_of(self, event: Event) -> Stream | None:
        """Which of its standard streams an event reads or writes (program input/output), if any.

        A write into the pipe the session gave a role as its stdout is that
        program's output, whichever descriptor number it went through; a write
        on fd 1 after the program put a pipe of its own there is IPC.
        """
        legacy = _STREAM_CALLS.get(event.call)
        if legacy is not None:
            return legacy
        if event.endpoint is None or not self.header.streams:
            return None
        if event.call not in SEND_CALLS and event.call not in RECV_CALLS:
            return None
        return self.header.streams.get(event.endpoint.inode)
