"""The deciding step of each outcome: where its schedule parts from the other outcomes', said in words.

A race is decided by a receive that got other bytes than it gets in another outcome ("here the
child's read took its own message"): for each outcome, the first such receive along its
representative schedule. Outcomes that differ in no receive (only in what was printed, or in order)
are told apart where their schedules first go different ways.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ipctrace import calls
from ipctrace.explore.outcomes import Outcome, Received

_PREVIEW = 24  # characters of a message quoted in a sentence


@dataclass(frozen=True)
class Deciding:
    """Where one outcome parts from the others.

    `step`: the decision's index in the representative schedule; `path`, `call`, `nth`: the process and
    its `nth` call of that name (1 = its first), which names the event in a replayed trace.
    `against`: for each other outcome parted from here, what happened there instead.
    """

    step: int
    path: str
    call: str
    nth: int
    sentence: str
    against: tuple[tuple[int, str], ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "process": self.path,
            "call": self.call,
            "nth": self.nth,
            "sentence": self.sentence,
            "otherwise": [{"outcome": number, "there": what} for number, what in self.against],
        }


@dataclass(frozen=True)
class Candidate:
    """What the deciding step is computed from: one outcome, its number and its representative run."""

    number: int
    outcome: Outcome
    schedule: tuple[str, ...]  # process paths, one a decision
    calls: tuple[str, ...]  # the call each decision let go


def who(path: str, paths: Sequence[str]) -> str:
    """A process in words: the program ("the parent" once it has children), "the child", "child 2", ...

    Paths are the explorer's (`main`, `main.1` its first child, `main.1.1` that child's first child).
    """
    if path == "main":
        return "the parent" if any(p.startswith("main.") for p in paths) else "the program"
    if "." not in path:
        return path  # the first process of a role, by the role's name (`server`, `client`)
    parent, _, number = path.rpartition(".")
    if parent == "main":
        children = [p for p in paths if p.count(".") == 1]
        return "the child" if len(children) == 1 else f"child {number}"
    return f"child {number} of {who(parent, paths)}"


def _quoted(data: bytes) -> str:
    text = data.replace(b"\0", b"").decode("utf-8", "replace").strip()
    return f"“{text[:_PREVIEW]}…”" if len(text) > _PREVIEW else f"“{text}”"


def _took(reader: str, got: Received, paths: Sequence[str]) -> str:
    """`the child's read took its own message “Who are you?”`"""
    subject = f"{who(reader, paths)}'s {got.call}"
    if not got.data:
        return f"{subject} found the end of file"
    if got.sender == reader:
        return f"{subject} took its own message {_quoted(got.data)}"
    if got.sender:
        return f"{subject} took {who(got.sender, paths)}'s message {_quoted(got.data)}"
    return f"{subject} got {_quoted(got.data)}"


def _instead(reader: str, other: Outcome, k: int, paths: Sequence[str]) -> str:
    """What the same receive did in another outcome."""
    mine = next((p for p in other.processes if p.path == reader), None)
    if mine is None:
        return f"{who(reader, paths)} never ran"
    if k < len(mine.received):
        return _took(reader, mine.received[k], paths)
    if mine.end.call:
        return f"{who(reader, paths)} was blocked forever in {mine.end.call}"
    return f"{who(reader, paths)} got nothing more"


def _received(outcome: Outcome) -> dict[str, tuple[Received, ...]]:
    return {p.path: p.received for p in outcome.processes}


def _nth(c: Candidate, step: int) -> int:
    return sum(1 for k in range(step + 1) if c.schedule[k] == c.schedule[step] and c.calls[k] == c.calls[step])


def deciding_step(c: Candidate, others: Sequence[Candidate]) -> Deciding | None:
    """The first receive along `c`'s schedule that got other bytes in another outcome (None: one outcome)."""
    if not others:
        return None
    paths = sorted({p.path for p in c.outcome.processes})
    mine = _received(c.outcome)
    theirs = [(o, _received(o.outcome)) for o in others]
    seen: dict[str, int] = {}
    for step, (path, call) in enumerate(zip(c.schedule, c.calls, strict=True)):
        if call not in calls.RECEIVES:
            continue
        k = seen.get(path, 0)
        seen[path] = k + 1
        got = mine.get(path, ())
        if k >= len(got):
            continue  # the receive failed: its outcome has no bytes to compare
        parted = [o for o, rec in theirs if len(rec.get(path, ())) <= k or not _same(rec[path][k], got[k])]
        if parted:
            against = tuple((o.number, _instead(path, o.outcome, k, paths)) for o in parted)
            sentence = f"Here {_took(path, got[k], paths)}"
            return Deciding(step, path, call, _nth(c, step), sentence, against)
    return _first_fork(c, others, paths)


def _same(a: Received, b: Received) -> bool:
    return a.data == b.data and a.sender == b.sender


def _first_fork(c: Candidate, others: Sequence[Candidate], paths: Sequence[str]) -> Deciding:
    """No receive differs: the first point where `c`'s schedule goes another way than another outcome's."""

    def common(o: Candidate) -> int:
        n = 0
        while n < len(c.schedule) and n < len(o.schedule) and c.schedule[n] == o.schedule[n]:
            n += 1
        return n

    step = min(min(common(o) for o in others), len(c.schedule) - 1)
    if step < 0:
        return Deciding(0, "main", "", 0, "Here the schedules part at the start")
    path, call = c.schedule[step], c.calls[step]
    parted = tuple(
        (o.number, f"{who(o.schedule[step], paths)} went first") for o in others if common(o) == step < len(o.schedule)
    )
    sentence = f"Here {who(path, paths)} went first, with its {call}"
    return Deciding(step, path, call, _nth(c, step), sentence, parted)


def deciding_steps(candidates: Sequence[Candidate]) -> dict[int, Deciding | None]:
    """Each outcome's deciding step, by outcome number."""
    return {c.number: deciding_step(c, [o for o in candidates if o.number != c.number]) for c in candidates}
