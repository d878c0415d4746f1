"""The plain data model every stage reads: events, endpoints, packets, processes, one trace.

A trace holds only recorded facts (what each process called, what the wire
carried, how each process ended). Channels, flows and the happens-before order
are derived from it by `ipctrace.link` and `ipctrace.order`, never stored as a
second truth.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ipctrace.calls import RECEIVES, SENDS

Pid = int
Fd = int
Nanos = int

FORMAT_VERSION = 1

#: Calls that move payload bytes out of a process, and into one (from the table of calls).
SEND_CALLS = SENDS
RECV_CALLS = RECEIVES


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
    kind: str  # pipe, unix-stream, unix-dgram, tcp, udp, tcp6, udp6, file, tty, other


@dataclass(frozen=True, slots=True, order=True)
class EventKey:
    """Names one event: the process and its position in that process's stream."""

    pid: Pid
    seq: int

    def __str__(self) -> str:
        return f"{self.pid}#{self.seq}"


@dataclass(frozen=True, slots=True, eq=False)
class Event:
    """One call made by a traced process, from entry (t0) to return (t1).

    `t1` is None for a call that never returned: the process was still blocked
    in it when the run ended (`call` is then the blocked call's name and
    `blocked` is True).
    """

    pid: Pid
    seq: int
    ppid: Pid
    tid: int
    t0: Nanos
    t1: Nanos | None
    call: str
    fd: Fd | None = None
    endpoint: Endpoint | None = None
    args: Mapping[str, Any] = field(default_factory=dict)
    result: Any = None
    error: str | None = None
    data: bytes | None = None  # payload, possibly capped
    size: int | None = None  # true payload length, even when `data` is capped
    local: SockAddr | None = None
    peer: SockAddr | None = None
    peer_endpoint: Endpoint | None = None  # the other end, for socketpair()
    blocked: bool = False

    @property
    def key(self) -> EventKey:
        return EventKey(self.pid, self.seq)

    @property
    def failed(self) -> bool:
        return self.error is not None

    @property
    def moves_data_out(self) -> bool:
        return self.call in SEND_CALLS and not self.failed and bool(self.size)

    @property
    def moves_data_in(self) -> bool:
        return self.call in RECV_CALLS and not self.failed and bool(self.size)


@dataclass(frozen=True, slots=True)
class Packet:
    """One TCP segment or UDP datagram seen on the loopback interface."""

    index: int  # position in the run's capture (pcap), from 0
    ts: Nanos
    proto: str  # tcp or udp
    src: SockAddr
    dst: SockAddr
    payload: bytes
    flags: str = ""  # TCP flags as letters in the order S, F, R, P, A, U (e.g. "SA", "PA", "FA")
    seq: int | None = None
    ack: int | None = None

    @property
    def length(self) -> int:
        return len(self.payload)


@dataclass(frozen=True, slots=True)
class ExitStatus:
    """How a process ended: an exit code, or the signal that killed it."""

    code: int | None = None
    signal: int | None = None

    def __str__(self) -> str:
        if self.signal is not None:
            import signal as _signal

            try:
                return f"killed by {_signal.Signals(self.signal).name}"
            except ValueError:
                return f"killed by signal {self.signal}"
        return f"exit {self.code}"


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
    """The first line of a trace file: what ran, where, and how it ended."""

    version: int
    command: tuple[str, ...]
    host: str
    clock: str
    started: Nanos
    scenario: str | None = None
    roles: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    capture: CaptureInfo = field(default_factory=lambda: CaptureInfo("none"))
    ending: str = ""  # "", "expected-blocked", "timeout", ...
    ending_note: str = ""
    ended: Nanos = 0  # when the run was over (its last process ended, or ipctrace stopped it)


@dataclass(frozen=True, slots=True)
class Trace:
    """Everything one run recorded. Produced once by `ipctrace.load`, read by every consumer."""

    header: Header
    processes: tuple[Process, ...]
    events: tuple[Event, ...]
    packets: tuple[Packet, ...] = ()

    def process(self, pid: Pid) -> Process | None:
        for proc in self.processes:
            if proc.pid == pid:
                return proc
        return None

    def events_of(self, pid: Pid) -> tuple[Event, ...]:
        return tuple(e for e in self.events if e.pid == pid)

    def event(self, key: EventKey) -> Event:
        for e in self.events:
            if e.pid == key.pid and e.seq == key.seq:
                return e
        raise KeyError(str(key))
