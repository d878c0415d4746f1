"""What a run meant to the program: which read got which bytes, what each process printed, how it ended.

Two schedules with the same outcome differ only in timing the program cannot see; the explorer
groups runs by this record, never by the schedule.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ipctrace import calls
from ipctrace.explore.controller import End, EndKind, Execution
from ipctrace.record.reader import read_logs

_STANDARD_OUT = (1, 2)


@dataclass(frozen=True)
class Received:
    """One receive of a process: its call, its descriptor, the bytes it got (b"" at end of file).

    `sender`: the process whose write the first of those bytes came from (pipes; "" when not known).
    Not part of the outcome's identity: two writers of the same bytes make one outcome.
    """

    call: str
    fd: int
    data: bytes
    sender: str = field(default="", compare=False)


@dataclass(frozen=True)
class ProcessOutcome:
    path: str
    received: tuple[Received, ...]
    printed: str
    end: End

    def ending(self) -> str:
        if self.end.kind is EndKind.BLOCKED:
            return f"blocked forever in {self.end.call}"
        return self.end.kind.value


@dataclass(frozen=True)
class Outcome:
    processes: tuple[ProcessOutcome, ...]

    def summary(self) -> list[str]:
        """One line a process: how it ended and what it printed."""
        lines = []
        for p in self.processes:
            printed = " | ".join(line for line in p.printed.splitlines() if line.strip()) or "(printed nothing)"
            lines.append(f"{p.path}: {p.ending()}; {printed}")
        return lines

    def as_json(self) -> dict[str, Any]:
        return {
            p.path: {
                "ending": p.ending(),
                "printed": p.printed,
                "received": [
                    {"call": r.call, "fd": r.fd, "data": r.data.decode("utf-8", "backslashreplace"), "from": r.sender}
                    for r in p.received
                ],
            }
            for p in self.processes
        }


def _events_by_pid(events: Iterable[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {}
    for e in events:
        out.setdefault(e["pid"], []).append(e)
    return out


_NUMBER = re.compile(r"\b\d+\b")


def _named(text: str, names: dict[str, str]) -> str:
    """Printed text with each process id of the run replaced by the process's path (ids differ run to run)."""
    return _NUMBER.sub(lambda m: f"<{names[m.group()]}>" if m.group() in names else m.group(), text)


def _senders(events: list[dict[str, Any]], paths: dict[int, str]) -> dict[tuple[int, int], str]:
    """(pid, t1) of each pipe read → the process that wrote its first byte.

    Under the explorer one process runs at a time, so the calls' return times order them as they ran;
    each pipe is followed as a queue of (writer, bytes).
    """
    queues: dict[int, deque[list[Any]]] = {}
    out: dict[tuple[int, int], str] = {}
    done = (e for e in events if e.get("state") == "done" and "err" not in e)
    for e in sorted(done, key=lambda e: e.get("t1", 0)):
        ep = e.get("ep")
        if not ep or ep[2] != "pipe" or not isinstance(e.get("res"), int):
            continue
        queue = queues.setdefault(ep[1], deque())
        if e["call"] in calls.SENDS:
            queue.append([paths.get(e["pid"], ""), e["res"]])
        elif e["call"] in calls.RECEIVES and e["res"] > 0:
            out[(e["pid"], e.get("t1", 0))] = queue[0][0] if queue else ""
            left = e["res"]
            while left and queue:
                took = min(left, queue[0][1])
                queue[0][1] -= took
                left -= took
                if not queue[0][1]:
                    queue.popleft()
    return out


def outcome_of(execution: Execution) -> Outcome:
    events, _ = read_logs(execution.logs)
    return outcome_from(execution, events)


def outcome_from(execution: Execution, events: list[dict[str, Any]]) -> Outcome:
    """The outcome of a run whose logs are read already."""
    by_pid = _events_by_pid(events)
    procs = []
    names = {str(pid): path for path, pid in execution.pids.items()}
    senders = _senders(events, {pid: path for path, pid in execution.pids.items()})
    for path in sorted(execution.pids):
        received: list[Received] = []
        printed: list[bytes] = []
        for e in by_pid.get(execution.pids[path], []):
            if e.get("state") != "done" or "err" in e:
                continue
            call = e["call"]
            if call in calls.RECEIVES:
                sender = senders.get((e["pid"], e.get("t1", 0)), "")
                received.append(Received(call, e.get("fd", -1), bytes(e.get("data") or b""), sender))
            elif call in calls.SENDS and e.get("fd") in _STANDARD_OUT:
                printed.append(bytes(e.get("data") or b""))
        end = execution.ends.get(path, End(EndKind.EXITED))
        text = _named(b"".join(printed).decode("utf-8", "replace"), names)
        procs.append(ProcessOutcome(path, tuple(received), text, end))
    return Outcome(tuple(procs))
