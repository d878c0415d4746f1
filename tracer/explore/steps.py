"""What a held process is about to do: which calls are decision points, what a step touches, when it can run.

Two steps are independent when they touch no common channel (a pipe by its inode, all sockets as
one, the children of one process); independent steps commute, so the explorer need not try both
orders (partial-order reduction). Anything this module cannot place touches everything.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass, replace
from enum import StrEnum

import ipctrace.record.layout as L
from ipctrace import calls
from ipctrace.calls import Call, Trait

#: Calls at which a process is held until the explorer lets it go. A process's start and the record of
#: an uncaught exception change nothing another process can see (the exit after them does).
VISIBLE: frozenset[Call] = calls.calls_with(
    Trait.SENDS
    | Trait.RECEIVES
    | Trait.BLOCKS
    | Trait.WAITS_FOR_CHILD
    | Trait.RELEASES_FD
    | Trait.SLEEPS
    | Trait.CONNECTS
    | Trait.LIFECYCLE,
    without=Trait.KERNEL,
) - {Call.START, Call.EXCEPTION}

_BY_ID = {number: Call(name) for name, number in L.CALL_IDS.items()}
VISIBLE_IDS: frozenset[int] = frozenset(L.CALL_IDS[c.value] for c in VISIBLE)


class Check(StrEnum):
    """What makes a held call able to run without waiting for another process."""

    NONE = "none"  # it never waits for another process (under virtual time, a sleep neither)
    IN = "in"  # its descriptor is readable (data, end of file, a connection to accept)
    OUT = "out"  # its descriptor is writable (room in the pipe)
    CHILD = "child"  # a child has ended (or there is none)
    WAIT = "wait"  # a select/poll: one of its descriptors is ready, or it has a timeout (virtual: it may time out)


@dataclass(frozen=True)
class Channel:
    """Something steps of two processes can both touch."""

    kind: str  # "data" (a pipe's bytes), "writers"/"readers" (its open ends), "socket", "children", "fd", "all"
    number: int = 0  # the pipe's inode, the parent's pid, the descriptor's inode


EVERYTHING = Channel("all")


@dataclass(frozen=True)
class Step:
    """The call a held process makes when it is let go, and how it touches each channel.

    `writes`: changes it in an order-sensitive way (bytes into or out of a pipe); `updates`: changes
    that commute with each other (closing one end of several, a child ending); `observes`: reads it
    (a read of an empty pipe sees whether any writer is left). Two steps depend on each other when
    one writes what the other touches, or one updates what the other observes.
    """

    call: Call
    fd: int
    writes: frozenset[Channel]
    check: Check
    updates: frozenset[Channel] = frozenset()
    observes: frozenset[Channel] = frozenset()
    with_data: frozenset[Channel] | None = None  # what it writes instead when its data is there already

    def depends_on(self, other: Step) -> bool:
        mine = self.writes | self.updates | self.observes
        theirs = other.writes | other.updates | other.observes
        if not mine or not theirs:
            return False
        if EVERYTHING in mine or EVERYTHING in theirs:
            return True
        return bool(
            self.writes & theirs
            or other.writes & mine
            or self.updates & other.observes
            or self.observes & other.updates
        )

    def relaxed(self, shared: frozenset[Channel]) -> Step:
        """This step where the ends in `shared` are held by two processes or more: one closing changes nothing."""
        return replace(self, observes=self.observes - shared) if self.observes & shared else self

    def seeing_data(self) -> Step:
        """This read when the pipe holds data: whether writers are left does not matter to it.

        A datagram waiting is taken whole, whatever is sent after it: such a read commutes with every send.
        """
        writes = self.writes if self.with_data is None else self.with_data
        return replace(self, observes=frozenset(), writes=writes)


_EMPTY: frozenset[Channel] = frozenset()


def held_ends(text: str) -> frozenset[Channel]:
    """The pipe ends in a gate's `open` list (for counting how many processes hold each)."""
    return frozenset(c for c in _ends(text, frozenset()) if c.kind != "socket")


def _ends(text: str, quiet: frozenset[int]) -> frozenset[Channel]:
    """The open ends a fork or an exit changes (`p<ino>r`, `p<ino>w`, `s<ino>` from the gate)."""
    if text == "-":
        return _EMPTY
    out = set()
    for item in text.split(","):
        if item[0] == "s":
            out.add(Channel("socket"))
            continue
        ino = int(item[1:-1])
        if ino not in quiet:
            out.add(Channel("writers" if item[-1] == "w" else "readers", ino))
    return frozenset(out)


def _split(ends: frozenset[Channel]) -> tuple[frozenset[Channel], frozenset[Channel]]:
    """(writes, updates): a socket's end is written (all sockets are one channel), a pipe's end updated."""
    sockets = frozenset(c for c in ends if c.kind == "socket")
    return sockets, ends - sockets


def step_of(
    call_id: int, fd: int, mode: int, ino: int, writing: int, held: str, pid: int, ppid: int, quiet: frozenset[int]
) -> Step:
    """The step of a gate report; `writing`: 1 a pipe's write end, 2 a datagram socket; `quiet`: private pipes."""
    call = _BY_ID.get(call_id, Call.UNKNOWN)
    if call in calls.SLEEPS:
        return Step(call, fd, _EMPTY, Check.NONE)
    if call is Call.FORK or call is Call.EXIT:
        writes, updates = _split(_ends(held, quiet))
        family = Channel("children", pid if call is Call.FORK else ppid)
        return Step(call, fd, writes, Check.NONE, updates=updates | {family})
    if call in calls.WAITS_FOR_READY:
        return Step(call, fd, frozenset({EVERYTHING}), Check.WAIT)
    if call in calls.WAITS_FOR_CHILD:
        return Step(call, fd, frozenset({Channel("children", pid)}), Check.CHILD)
    if fd < 0 or not mode:
        return Step(call, fd, frozenset({EVERYTHING}), Check.NONE)
    if stat.S_ISFIFO(mode):
        if ino in quiet:
            return Step(call, fd, _EMPTY, Check.NONE)  # the program's own output: private to each process
        if call in calls.SENDS:
            return Step(
                call, fd, frozenset({Channel("data", ino)}), Check.OUT, observes=frozenset({Channel("readers", ino)})
            )
        if call in calls.RECEIVES:
            return Step(
                call, fd, frozenset({Channel("data", ino)}), Check.IN, observes=frozenset({Channel("writers", ino)})
            )
        if call in calls.RELEASES_FD:
            return Step(
                call, fd, _EMPTY, Check.NONE, updates=frozenset({Channel("writers" if writing else "readers", ino)})
            )
        return Step(call, fd, frozenset({Channel("data", ino)}), Check.NONE)
    if stat.S_ISSOCK(mode):
        # the two ends of a pair have two inodes: all sockets are one channel
        waits_in = call in calls.RECEIVES or (call in calls.BLOCKING and call not in calls.CONNECTS)
        check = Check.OUT if call in calls.SENDS else Check.IN if waits_in else Check.NONE
        whole = frozenset({Channel("datagrams", ino)}) if writing == 2 and call in calls.RECEIVES else None
        return Step(call, fd, frozenset({Channel("socket")}), check, with_data=whole)
    return Step(call, fd, frozenset({Channel("fd", ino)}), Check.NONE)
