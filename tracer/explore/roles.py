"""The roles of an explored scenario: who starts when, who is typed at, who is stopped at the end.

A run under the explorer starts its roles as a session does: the first at once, each next one
when the one before it has made its ready call (the server's `listen`, say) or at once when that
one has none. A scripted role reads its lines one at a time, each given when the program asks;
a service role (a server that never exits) gets SIGTERM once the other roles have ended.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import ipctrace.record.layout as L


@dataclass(frozen=True)
class RolePlan:
    """One role as the explorer drives it; `command` is filled in (port, folders) already."""

    name: str
    command: tuple[str, ...] = ()
    ready: frozenset[int] = frozenset()  # the call ids after which the next role starts
    script: tuple[str, ...] | None = None  # its scripted input lines; None: no input (end of file)
    service: bool = False  # stopped with SIGTERM once the other roles have ended

    @staticmethod
    def ready_ids(names: Sequence[str]) -> frozenset[int]:
        return frozenset(L.CALL_IDS[n] for n in names if n in L.CALL_IDS)


def due_after(plan: Sequence[RolePlan], started: int) -> int:
    """How many roles have started once the role `started - 1` is ready (the ones with no ready call follow at once)."""
    count = started + 1 if started < len(plan) else started
    while count < len(plan) and not plan[count - 1].ready:
        count += 1
    return count


def extra_calls(plan: Sequence[RolePlan]) -> frozenset[int]:
    """Calls gated only to know when a role is ready (the next role starts after them)."""
    out: set[int] = set()
    for role in plan[:-1]:
        out |= role.ready
    return frozenset(out)


def plan_of(command: Sequence[str] | Sequence[RolePlan]) -> tuple[RolePlan, ...]:
    """The roles to drive: a plain command is one role, `main`."""
    if command and all(isinstance(r, RolePlan) for r in command):
        return tuple(r for r in command if isinstance(r, RolePlan))
    return (RolePlan("main", tuple(str(a) for a in command)),)


@dataclass
class TypedInput:
    """A scripted role's standard input under the explorer: the pipe's write end and the lines not typed yet."""

    fd: int
    lines: deque[str]

    def type_next(self) -> None:
        """The program reads its input: the next line, or end of input after the last (as a session gives it)."""
        if self.fd < 0:
            return
        if self.lines:
            try:
                os.write(self.fd, self.lines.popleft().encode())
                return
            except OSError:
                pass
        self.close()

    def close(self) -> None:
        if self.fd >= 0:
            try:
                os.close(self.fd)
            except OSError:
                pass
            self.fd = -1
