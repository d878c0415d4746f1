"""Which pipe reads of a run commute with which writes: the search's finer independence, read from the run's logs.

A read of a pipe that got every byte it asked for, none of them from a given write, gives the same
bytes whether that write came before it or after (the write's bytes queue behind the ones it took):
the two steps commute, although both touch the pipe's bytes. Only a finished run can say so (what a
read gets is known when it returns), so the search uses this when it looks for races after a run,
never for the sleep sets it keeps during one.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ipctrace import calls
from ipctrace.explore.controller import Decision
from ipctrace.explore.steps import VISIBLE

_VISIBLE_NAMES = frozenset(c.value for c in VISIBLE)


@dataclass(frozen=True)
class PipeRead:
    """A read of a pipe in a run: `full` when it got all it asked for; `sources`: the writes its bytes came from."""

    full: bool
    sources: frozenset[int]  # indices of those writes' decisions


def _decision_of_event(decisions: Sequence[Decision], pids: Mapping[str, int], events: Sequence[dict[str, Any]]):
    """Each gated event of the log (by identity) → the index of the decision that let it go."""
    mine: dict[str, list[int]] = {}
    for index, d in enumerate(decisions):
        mine.setdefault(d.chosen, []).append(index)
    by_pid: dict[int, list[dict[str, Any]]] = {}
    for e in events:
        if e.get("call") in _VISIBLE_NAMES:
            by_pid.setdefault(e["pid"], []).append(e)
    out: dict[int, int] = {}
    for path, indices in mine.items():
        for index, e in zip(indices, by_pid.get(pids.get(path, -1), []), strict=False):
            if e["call"] != decisions[index].steps[path].call.value:
                break  # the log and the decisions part here: the rest of this process stays unknown
            out[id(e)] = index
    return out


def follow_pipes(events: Sequence[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    """Each completed pipe read (by the identity of its record) → the writes its bytes came from, in order.

    Under the explorer one process runs at a time, so the calls' return times order them as they ran;
    each pipe is followed as a queue of (write, bytes left).
    """
    queues: dict[int, deque[list[Any]]] = {}
    out: dict[int, list[dict[str, Any]]] = {}
    done = (e for e in events if e.get("state") == "done" and "err" not in e)
    for e in sorted(done, key=lambda e: e.get("t1", 0)):
        ep, res = e.get("ep"), e.get("res")
        if not ep or ep[2] != "pipe" or not isinstance(res, int):
            continue
        queue = queues.setdefault(ep[1], deque())
        if e["call"] in calls.SENDS:
            queue.append([e, res])
        elif e["call"] in calls.RECEIVES:
            took: list[dict[str, Any]] = []
            left = res
            while left and queue:
                part = min(left, queue[0][1])
                took.append(queue[0][0])
                queue[0][1] -= part
                left -= part
                if not queue[0][1]:
                    queue.popleft()
            out[id(e)] = took
    return out


def pipe_reads(
    decisions: Sequence[Decision], pids: Mapping[str, int], events: Sequence[dict[str, Any]]
) -> dict[int, PipeRead]:
    """The pipe reads of a run by decision index.

    A read or write the log cannot tie to its decision is left out (the search then keeps it dependent).
    """
    index_of = _decision_of_event(decisions, pids, events)
    by_id = {id(e): e for e in events}
    out: dict[int, PipeRead] = {}
    for read_id, writes in follow_pipes(events).items():
        index = index_of.get(read_id, -1)
        sources = {index_of.get(id(w), -1) for w in writes}
        if index < 0 or -1 in sources:
            continue
        read = by_id[read_id]
        asked = (read.get("args") or {}).get("n")
        out[index] = PipeRead(full=read["res"] > 0 and read["res"] == asked, sources=frozenset(sources))
    return out
