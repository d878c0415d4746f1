"""One call a traced process made (`Event`), and the records it holds (its key, call site, what a wait reaped)."""

from __future__ import annotations

import signal as _signal
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NamedTuple

from ipctrace.calls import RECEIVES, SENDS, Call
from ipctrace.model.endpoints import Endpoint, Inode, SockAddr

Pid = int
Fd = int
Nanos = int

#: Calls that move payload bytes out of a process, and into one (from the table of calls).
SEND_CALLS = SENDS
RECV_CALLS = RECEIVES


class Stream(StrEnum):
    """A process's standard streams, as the session connected them."""

    STDIN = "stdin"
    STDOUT = "stdout"
    STDERR = "stderr"


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

    def ended(self) -> str:
        """What a sentence says of a process that ended so: `was killed by SIGKILL`, `ended with exit 3`."""
        return f"was {self}" if self.signal is not None else f"ended with {self}"


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
