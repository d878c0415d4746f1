"""Which schedules to try: depth-first with dynamic partial-order reduction and sleep sets, or seeded random (PCT).

Depth-first search re-runs the program once per schedule, replaying a prefix of choices and trying
another process at the deepest point that has one left to try. With reduction (the default), what is
left to try at a point is only what a race asks for: after each run, `races` gives the point of each
step that depends on a later step of another process, and is not ordered before it by happens-before,
a backtracking point for that process (Flanagan and Godefroid's DPOR; a pipe read that got all it
asked for commutes with a write whose bytes it did not take, `commute.py`). A sleep set keeps the
steps already explored at a point, and passes on those independent of the step taken: a schedule
that only reorders independent steps is never run twice (Godefroid's sleep sets). A run that
reaches a point where every enabled step is asleep stops there (pruned, not counted as a schedule).
Without reduction every enabled process is tried at every point.

When the budget ends first, seeded random schedules in the manner of PCT (random priorities, a few
random points where the running process loses its priority) sample the rest; the exploration is
then not exhaustive, and says so.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field

from ipctrace import calls
from ipctrace.calls import Call
from ipctrace.explore.commute import PipeRead
from ipctrace.explore.controller import Decision, Pruned
from ipctrace.explore.steps import Step


class Nondeterministic(Exception):  # noqa: N818
    """A replayed prefix offered other choices than when it was first run: the program is not driven by us alone."""


@dataclass
class _Node:
    enabled: tuple[str, ...]
    steps: Mapping[str, Step]
    sleep: frozenset[str]
    chosen: str
    preemptions: int  # before this point's choice
    last: str | None
    done: set[str] = field(default_factory=set)
    backtrack: set[str] = field(default_factory=set)  # processes to try here (dynamic partial-order reduction)


@dataclass
class DepthFirst:
    """Chooser and search state of the systematic exploration (one instance for the whole search)."""

    reduce: bool = True
    preemption_bound: int | None = None
    stack: list[_Node] = field(default_factory=list)
    bound_hit: bool = False
    depth: int = 0
    final: Mapping[str, Step] = field(default_factory=dict)  # the steps held where the last run stopped
    reads: Mapping[int, PipeRead] = field(default_factory=dict)  # the last run's pipe reads (commute.py)

    def start(self) -> None:
        self.depth = 0
        self.final = {}

    def _preempts(self, last: str | None, candidate: str, enabled: tuple[str, ...]) -> bool:
        return last is not None and candidate != last and last in enabled

    def _allowed(self, node_pre: int, last: str | None, enabled: tuple[str, ...], candidate: str) -> bool:
        if self.preemption_bound is None:
            return True
        if node_pre + self._preempts(last, candidate, enabled) > self.preemption_bound:
            self.bound_hit = True
            return False
        return True

    def choose(self, index: int, enabled: tuple[str, ...], steps: Mapping[str, Step], last: str | None) -> str:
        d = self.depth
        self.depth += 1
        if d < len(self.stack):
            node = self.stack[d]
            if node.enabled != enabled:
                raise Nondeterministic(f"at step {d} the enabled processes were {node.enabled}, now {enabled}")
            node.steps = steps  # this run's: a pipe is a new inode every run, and steps are compared within one run
            return node.chosen
        sleep: frozenset[str] = frozenset()
        pre = 0
        if self.stack:
            parent = self.stack[-1]
            pre = parent.preemptions + self._preempts(parent.last, parent.chosen, parent.enabled)
            if self.reduce:
                went = parent.steps[parent.chosen]
                sleep = frozenset(
                    q
                    for q in parent.sleep | parent.done
                    if q != parent.chosen and q in steps and not parent.steps[q].depends_on(went)
                )
        for candidate in enabled:
            if candidate not in sleep and self._allowed(pre, last, enabled, candidate):
                every = set() if self.reduce else set(enabled)
                self.stack.append(_Node(enabled, steps, sleep, candidate, pre, last, backtrack=every | {candidate}))
                return candidate
        self.final = steps
        raise Pruned

    def races(self) -> None:
        """After a run: where two dependent steps of two processes were not ordered otherwise, try the other order.

        Flanagan and Godefroid's dynamic partial-order reduction, with happens-before: at every point of
        the run and for every held process's next step, the latest earlier step of another process that
        depends on it and does not already happen before that process (program order, fork, and
        dependent steps, transitively) gets a backtracking point; a step ordered by happens-before
        needs none, the reversal is found from the later race.
        """
        if not self.reduce:
            return
        nodes = self.stack[: self.depth]
        clock: list[int] = []  # per step: the steps that happen before it, itself included (a bit each)
        last: dict[str, int] = {}  # each process's latest step so far
        forks: dict[str, list[int]] = {}  # each process's forks so far
        states = [node.steps for node in nodes] + [self.final]  # and where the run stopped: steps still held
        upcoming = self._upcoming(nodes)
        for j, pending in enumerate(states):
            for path, step in pending.items():
                at = self._position(path, last, forks)
                mine = clock[at] if at is not None else 0
                runs_at = upcoming[j].get(path)  # where this step ran, if it did: what it got is known there
                for i in range(j - 1, -1, -1):
                    earlier = nodes[i]
                    if earlier.chosen == path or (mine >> i) & 1:
                        continue
                    if (
                        self._races(nodes, i, runs_at)
                        if runs_at is not None
                        else earlier.steps[earlier.chosen].depends_on(step)
                    ):
                        self._backtrack_at(nodes, i, path, mine)
                        break
            if j == len(nodes):
                break
            node = nodes[j]
            went = node.chosen
            step = node.steps[went]
            at = self._position(went, last, forks)
            now = (clock[at] if at is not None else 0) | 1 << j
            for i in range(j):
                if not (now >> i) & 1 and self._dependent(nodes, i, j):
                    now |= clock[i]
            clock.append(now)
            last[went] = j
            if step.call is Call.FORK:
                forks.setdefault(went, []).append(j)

    @staticmethod
    def _upcoming(nodes: list[_Node]) -> list[dict[str, int]]:
        """At each point, where each process's next step runs (absent: not in this run)."""
        out: list[dict[str, int]] = [{} for _ in range(len(nodes) + 1)]
        following: dict[str, int] = {}
        for j in range(len(nodes) - 1, -1, -1):
            following[nodes[j].chosen] = j
            out[j] = dict(following)
        return out

    def _races(self, nodes: list[_Node], i: int, j: int) -> bool:
        """Could the steps at points i < j have run the other way round with another result?

        Not a write and a later read that got only that write's bytes: before the write the read finds
        nothing of them (what else it could take there, the races between the reads say).
        """
        got = self.reads.get(j)
        if got is not None and got.sources == {i}:
            return False
        return self._dependent(nodes, i, j)

    def _dependent(self, nodes: list[_Node], i: int, j: int) -> bool:
        """Do the steps that ran at points i and j depend on each other (a full pipe read commutes with writes)?"""
        a, b = nodes[i].steps[nodes[i].chosen], nodes[j].steps[nodes[j].chosen]
        if not a.depends_on(b):
            return False
        for r, read, w, write in ((i, a, j, b), (j, b, i, a)):
            got = self.reads.get(r)
            if (
                got is not None
                and got.full
                and w not in got.sources
                and read.call in calls.RECEIVES
                and write.call in calls.SENDS
                and not (read.observes or read.updates or write.updates)
                and read.writes == write.writes
                and all(c.kind == "data" for c in read.writes)
            ):
                return False
        return True

    @staticmethod
    def _position(path: str, last: dict[str, int], forks: dict[str, list[int]]) -> int | None:
        """Where a process stands: its latest step, or before its first the fork that made it (None: the first one)."""
        if path in last:
            return last[path]
        parent, _, number = path.rpartition(".")
        made = forks.get(parent, [])
        if parent and number.isdigit() and 0 < int(number) <= len(made):
            return made[int(number) - 1]
        return None

    @staticmethod
    def _backtrack_at(nodes: list[_Node], i: int, path: str, before_path: int) -> None:
        """At point i, try `path` first if it can go there, else one whose later step leads to `path`'s, else all."""
        node = nodes[i]
        if path in node.enabled:
            node.backtrack.add(path)
            return
        for q in node.enabled:
            if any(nodes[k].chosen == q and (before_path >> k) & 1 for k in range(i + 1, len(nodes))):
                node.backtrack.add(q)
                return
        node.backtrack.update(node.enabled)

    def backtrack(self, final: Mapping[str, Step] | None = None, reads: Mapping[int, PipeRead] | None = None) -> bool:
        """Set up the next schedule (`final`: the steps held where the run ended blocked); False: the search is over."""
        if final:
            self.final = final
        self.reads = reads or {}
        self.races()
        while self.stack:
            node = self.stack[-1]
            node.done.add(node.chosen)
            for candidate in node.enabled:
                if candidate not in node.backtrack or candidate in node.sleep or candidate in node.done:
                    continue
                if self._allowed(node.preemptions, node.last, node.enabled, candidate):
                    node.chosen = candidate
                    return True
            self.stack.pop()
        return False


@dataclass
class Random:
    """PCT-style: each process a random priority; at `changes` random points the running one drops to the lowest."""

    seed: int
    changes: int = 2
    length: int = 40  # the expected number of decisions, where change points are drawn
    rng: random.Random = field(init=False)
    priority: dict[str, float] = field(default_factory=dict)
    points: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.points = {self.rng.randrange(self.length) for _ in range(self.changes)}

    def choose(self, index: int, enabled: tuple[str, ...], steps: Mapping[str, Step], last: str | None) -> str:
        for path in enabled:
            self.priority.setdefault(path, self.rng.random() + 1.0)
        if index in self.points and last in self.priority:
            self.priority[last] = -float(index)
        return max(enabled, key=lambda p: self.priority[p])


@dataclass(frozen=True)
class Replay:
    """Follow a recorded schedule; past its end (or where its process cannot go), the first enabled."""

    choices: tuple[str, ...]

    def choose(self, index: int, enabled: tuple[str, ...], steps: Mapping[str, Step], last: str | None) -> str:
        if index < len(self.choices) and self.choices[index] in enabled:
            return self.choices[index]
        return enabled[0]


@dataclass(frozen=True)
class ChildFirst:
    """The named schedule "child-first": the most recently forked process that can go, goes."""

    def choose(self, index: int, enabled: tuple[str, ...], steps: Mapping[str, Step], last: str | None) -> str:
        return max(enabled, key=lambda p: (p.count("."), p))


NAMED = {"child-first": ChildFirst()}


def schedule_of(decisions: list[Decision]) -> tuple[str, ...]:
    return tuple(d.chosen for d in decisions)
