"""The plain data model every stage reads: events, endpoints, packets, processes, one trace.

A trace holds only recorded facts (what each process called, what the wire
carried, how each process ended). Channels, flows and the happens-before order
are derived from it by `ipctrace.link` and `ipctrace.order`, never stored as a
second truth.

Closed sets are enums whose values are the words on disk (a trace file reads
the same as before they existed); raw recorder shapes (address lists, wait
statuses, lists of new descriptors) are decoded once, when a trace is read or
assembled, into the typed fields of `Event`.

The model is split by what it describes, and every name is imported from here (`ipctrace.model`):
`endpoints` (what a descriptor refers to: its kind, inode and address), `events` (one call a process
made, and the records it holds), `packets` (what the wire carried); this module holds the processes
and the trace that gathers them all.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from dataclasses import dataclass, field

from ipctrace.calls import Call
from ipctrace.model.endpoints import DATAGRAM_KINDS, PIPE_KINDS, STREAM_KINDS, Endpoint, EndpointKind, Inode, SockAddr
from ipctrace.model.events import (
    EVENT_FIELDS,
    EVENT_TAIL,
    RECV_CALLS,
    SEND_CALLS,
    CallSite,
    Event,
    EventKey,
    ExitStatus,
    Fd,
    Nanos,
    Pid,
    Reaped,
    Stream,
    signal_name,
)
from ipctrace.model.packets import Packet, Proto, TcpFlags

FORMAT_VERSION = 1


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


__all__ = [
    "DATAGRAM_KINDS",
    "EVENT_FIELDS",
    "EVENT_TAIL",
    "FORMAT_VERSION",
    "PIPE_KINDS",
    "RECV_CALLS",
    "SEND_CALLS",
    "STREAM_KINDS",
    "CallSite",
    "CaptureInfo",
    "Endpoint",
    "EndpointKind",
    "Event",
    "EventKey",
    "ExitStatus",
    "Fd",
    "Header",
    "Inode",
    "Nanos",
    "Packet",
    "Pid",
    "Process",
    "Proto",
    "Reaped",
    "SockAddr",
    "Stream",
    "TcpFlags",
    "Trace",
    "signal_name",
]
