"""Calls made in signal handlers: they happen wherever the signal arrived, so the form keeps them apart, unordered.

A call recorded while the same thread was inside another call ran in a
handler that interrupted the outer call. A `waitpid(..., WNOHANG)` and the
lines printed right after it are a reaping poll (a SIGCHLD handler, or a
loop): asynchronous too, up to the wait that reaped nothing, where such a
loop ends. That wait is a poll whose count depends on timing: dropped.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ipctrace.calls import WAITS_FOR_CHILD
from ipctrace.model import Event, EventKey


@dataclass(frozen=True, slots=True)
class Asynchronous:
    """Of one process: the calls made in signal handlers, and the polls left out of the form."""

    handler: frozenset[EventKey]
    polls: frozenset[EventKey]


def asynchronous(events: Sequence[Event], is_output: Callable[[Event], bool]) -> Asynchronous:
    nested = set(_nested(events, is_output))
    polls: set[EventKey] = set()
    for key, reaped_nothing in _reaping_polls(events, is_output):
        nested.add(key)
        if reaped_nothing:
            polls.add(key)
    return Asynchronous(frozenset(nested), frozenset(polls))


def _nested(events: Sequence[Event], is_output: Callable[[Event], bool]) -> list[EventKey]:
    """Calls that began and ended inside another call of the same thread.

    Printed lines never contain others (a line's start is its first piece),
    and calls beginning at the same instant cannot contain each other.
    """
    by_tid: dict[int, list[Event]] = defaultdict(list)
    for e in events:
        by_tid[e.tid].append(e)
    nested = []
    for evs in by_tid.values():
        outer_end = -1  # the latest return of a call that began strictly earlier
        group_t0, group_end = -1, -1
        for e in sorted(evs, key=lambda e: e.t0):
            if e.t0 > group_t0:
                outer_end, group_t0 = max(outer_end, group_end), e.t0
            if e.t1 is None or e.blocked:
                continue
            if e.t1 < outer_end:
                nested.append(e.key)
            if not is_output(e) and e.t1 > e.t0:
                group_end = max(group_end, e.t1)
    return nested


def _is_nohang_wait(e: Event) -> bool:
    options = e.args.get("options")
    return e.call in WAITS_FOR_CHILD and isinstance(options, int) and bool(options & os.WNOHANG)


def _reaping_polls(events: Sequence[Event], is_output: Callable[[Event], bool]) -> list[tuple[EventKey, bool]]:
    """WNOHANG waits (with whether they reaped nothing) and the lines printed right after them."""
    out: list[tuple[EventKey, bool]] = []
    after_wait = False
    for e in sorted(events, key=lambda e: e.t0 if e.t1 is None else e.t1):  # in the order the calls returned
        if _is_nohang_wait(e):
            nothing = e.error == "ECHILD" or (e.reaped is not None and e.reaped.nothing)
            out.append((e.key, nothing))
            after_wait = not nothing  # a reaping loop ends at the wait that got nothing: what follows is the program
        elif is_output(e) and after_wait:
            out.append((e.key, False))
        else:
            after_wait = False
    return out
