"""Explore one program: schedules tried within a budget, runs grouped into outcomes.

from ipctrace.explore.exploration import Budget, explore
result = explore([sys.executable, "pipe2.py"], Budget(max_runs=2000))
result.headline()   # "14 schedules, 3 outcomes, exhaustive: yes"
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ipctrace.explore.controller import EndKind
from ipctrace.explore.forkserver import Controller
from ipctrace.explore.outcomes import Outcome, outcome_of
from ipctrace.explore.roles import RolePlan
from ipctrace.explore.search import DepthFirst, Nondeterministic, Random, schedule_of
from ipctrace.inputs import InputError, check_count, check_number


@dataclass(frozen=True)
class Budget:
    """How far to look: systematic schedules first, then seeded random ones if the space is larger."""

    max_runs: int = 5000
    max_seconds: float = 120.0
    preemptions: int | None = None  # at most this many switches away from a process that could go on
    random_runs: int = 100  # random schedules when the systematic search did not finish
    seed: int = 1

    def __post_init__(self) -> None:
        check_count(self.max_runs, "--max-runs", 1, 10_000_000)
        check_number(self.max_seconds, "--max-seconds", 0.1, 86_400.0, unit="seconds")
        check_count(self.random_runs, "--random-runs", 0, 10_000_000)
        if self.preemptions is not None:
            check_count(self.preemptions, "--preemptions", 0, 1000)


@dataclass(frozen=True)
class OutcomeGroup:
    number: int  # 1, 2, ... in the order found (the search is deterministic, so is the numbering)
    outcome: Outcome
    schedules: int
    representative: tuple[str, ...]  # the first schedule that led here, as process paths


@dataclass(frozen=True)
class Exploration:
    command: tuple[str, ...]
    schedules: int  # complete runs
    pruned: int  # runs stopped early by the reduction (every step there was asleep)
    outcomes: tuple[OutcomeGroup, ...]
    exhaustive: bool
    method: str  # "systematic", "systematic + random"
    reduce: bool
    preemptions: int | None
    seconds: float
    random_runs: int = 0

    def headline(self) -> str:
        done = "yes" if self.exhaustive else "no"
        return f"{self.schedules} schedules, {len(self.outcomes)} outcomes, exhaustive: {done}"

    def as_json(self) -> dict[str, Any]:
        return {
            "command": list(self.command),
            "schedules": self.schedules,
            "pruned_runs": self.pruned,
            "random_runs": self.random_runs,
            "outcomes_count": len(self.outcomes),
            "exhaustive": self.exhaustive,
            "method": self.method,
            "reduction": self.reduce,
            "preemption_bound": self.preemptions,
            "seconds": round(self.seconds, 3),
            "schedules_per_second": round(self.schedules / self.seconds, 1) if self.seconds > 0 else None,
            "outcomes": [
                {
                    "id": g.number,
                    "schedules": g.schedules,
                    "schedule": list(g.representative),
                    "summary": g.outcome.summary(),
                    "processes": g.outcome.as_json(),
                }
                for g in self.outcomes
            ],
        }


@dataclass
class _Tally:
    found: dict[Outcome, list[Any]] = field(default_factory=dict)  # outcome -> [count, schedule]
    schedules: int = 0
    pruned: int = 0

    def add(self, outcome: Outcome, schedule: tuple[str, ...]) -> None:
        self.schedules += 1
        seen = self.found.setdefault(outcome, [0, schedule])
        seen[0] += 1


def explore(
    command: Sequence[str],
    budget: Budget | None = None,
    reduce: bool = True,
    cwd: str | None = None,
    payload_cap: int = 4096,
    roles: Sequence[RolePlan] = (),
) -> Exploration:
    """Run `command` under every schedule the budget allows (Python programs: the gate is the Python recorder's).

    `roles`: a scenario's roles instead (a server and its clients), started in order as a session does.
    """
    budget = budget or Budget()
    workdir = Path(tempfile.mkdtemp(prefix="ipctrace-explore-"))
    try:
        controller = Controller(workdir, tuple(roles) or command, cwd, payload_cap)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    tally = _Tally()
    started = time.monotonic()
    deadline = started + budget.max_seconds
    dfs = DepthFirst(reduce=reduce, preemption_bound=budget.preemptions)
    finished = False
    randoms = 0
    wavered = False
    try:
        while True:
            dfs.start()
            try:
                execution = controller.run(dfs)
            except Nondeterministic:
                wavered = True  # the program did not repeat itself: what it depends on is not all held here
                break
            _count(tally, execution)
            shutil.rmtree(execution.logs, ignore_errors=True)
            if not dfs.backtrack():
                finished = True
                break
            if tally.schedules + tally.pruned >= budget.max_runs or time.monotonic() > deadline:
                break
        if not finished:
            for n in range(budget.random_runs):
                if time.monotonic() > deadline + budget.max_seconds:  # the random phase gets as long again at most
                    break
                execution = controller.run(Random(seed=budget.seed * 1_000_003 + n))
                _count(tally, execution)
                shutil.rmtree(execution.logs, ignore_errors=True)
                randoms += 1
    finally:
        controller.close()
        shutil.rmtree(workdir, ignore_errors=True)
    groups = tuple(
        OutcomeGroup(i + 1, outcome, count, schedule)
        for i, (outcome, (count, schedule)) in enumerate(tally.found.items())
    )
    return Exploration(
        command=tuple(command),
        schedules=tally.schedules,
        pruned=tally.pruned,
        outcomes=groups,
        exhaustive=finished and not dfs.bound_hit,
        method="systematic" if finished else "systematic + random" if not wavered else _WAVERED,
        reduce=reduce,
        preemptions=budget.preemptions,
        seconds=time.monotonic() - started,
        random_runs=randoms,
    )


_WAVERED = (
    "systematic, stopped: a schedule replayed did not offer the same choices again (the program depends on "
    "something the explorer does not hold, such as the clock or another program), then random"
)


def _count(tally: _Tally, execution: Any) -> None:
    if execution.pruned:
        tally.pruned += 1
        return
    tally.add(outcome_of(execution), schedule_of(execution.decisions))


__all__ = ["Budget", "EndKind", "Exploration", "InputError", "OutcomeGroup", "explore"]
