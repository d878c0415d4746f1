"""Calls that ran inside a signal handler, so the diagram can mark them as such.

A handler runs in the middle of whatever call the signal interrupted: its
calls begin and end while the same thread is still inside another call (the
server's SIGCHLD handler reaps children during `accept`). Lines printed by
those calls belong to the handler too. The signal is named SIGCHLD when the
handler reaps children; otherwise only "a signal" is known.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

from ipctrace.calls import WAITS_FOR_CHILD
from ipctrace.model import Event, EventKey, Trace


def _nested(events: list[Event]) -> list[list[Event]]:
    """Groups of calls made while the thread was inside an earlier, longer call (one group per outer call)."""
    groups: list[list[Event]] = []
    outer_end = -1
    for e in sorted(events, key=lambda e: (e.t0, -(e.t1 or e.t0))):
        if e.t1 is None or e.blocked:
            continue
        if e.t0 > outer_end or e.t1 > outer_end:  # not inside: it may be the outer call of the next group
            if e.t1 > e.t0:
                outer_end = e.t1
                groups.append([])
            continue
        groups[-1].append(e)
    return [g for g in groups if g]


def handler_calls(trace: Trace, is_output: Mapping[EventKey, bool] | None = None) -> dict[EventKey, str]:
    """Every call made inside a signal handler → the signal's name (`SIGCHLD`) or `""` when unknown."""
    by_thread: dict[tuple[int, int], list[Event]] = defaultdict(list)
    for e in trace.events:
        by_thread[(e.pid, e.tid)].append(e)
    out: dict[EventKey, str] = {}
    for events in by_thread.values():
        for group in _nested(events):
            sig = "SIGCHLD" if any(e.call in WAITS_FOR_CHILD for e in group) else ""
            for e in group:
                out[e.key] = sig
    return out
