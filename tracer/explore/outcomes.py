"""What a run meant to the program: which read got which bytes, what each process printed, how it ended.

Two schedules with the same outcome differ only in timing the program cannot see; the explorer
groups runs by this record, never by the schedule.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ipctrace import calls
from ipctrace.explore.commute import follow_pipes
from ipctrace.explore.controller import End, EndKind, Execution

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


def _senders(events: list[dict[str, Any]], paths: dict[int, str]) -> dict[int, str]:
    """Each pipe read (by the identity of its record) → the process that wrote its first byte."""
    return {read: paths.get(writes[0]["pid"], "") for read, writes in follow_pipes(events).items() if writes}


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
                sender = senders.get(id(e), "")
                received.append(Received(call, e.get("fd", -1), bytes(e.get("data") or b""), sender))
            elif call in calls.SENDS and e.get("fd") in _STANDARD_OUT:
                printed.append(bytes(e.get("data") or b""))
        end = execution.ends.get(path, End(EndKind.EXITED))
        text = _named(b"".join(printed).decode("utf-8", "replace"), names)
        procs.append(ProcessOutcome(path, tuple(received), text, end))
    return Outcome(tuple(procs))
