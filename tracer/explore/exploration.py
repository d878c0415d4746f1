"""Explore one program: schedules tried within a budget, runs grouped into outcomes.

from ipctrace.explore.exploration import Budget, explore
result = explore([sys.executable, "pipe2.py"], Budget(max_runs=2000))
result.headline()   # "14 schedules, 3 outcomes, exhaustive: yes"
"""

from __future__ import annotations

import queue
import shutil
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ipctrace.explore.commute import PipeRead, pipe_reads
from ipctrace.explore.controller import EndKind
from ipctrace.explore.deciding import Candidate, Deciding, deciding_steps
from ipctrace.explore.execution import Execution
from ipctrace.explore.forkserver import Controller
from ipctrace.explore.outcomes import Outcome, outcome_from
from ipctrace.explore.roles import RolePlan
from ipctrace.explore.search import DepthFirst, Nondeterministic, Random, schedule_of
from ipctrace.inputs import InputError, check_count, check_number
from ipctrace.record.reader import read_logs


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
    calls: tuple[str, ...] = ()  # the call each of its decisions let go
    deciding: Deciding | None = None  # where it parts from the other outcomes (None: the only one)


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
    interrupted: bool = False  # Ctrl-C: what was found until then

    def headline(self) -> str:
        done = "yes" if self.exhaustive else "no (interrupted)" if self.interrupted else "no"
        return f"{_counted(self.schedules, 'schedule')}, {_counted(len(self.outcomes), 'outcome')}, exhaustive: {done}"

    def as_json(self) -> dict[str, Any]:
        return {
            "command": list(self.command),
            "schedules": self.schedules,
            "pruned_runs": self.pruned,
            "random_runs": self.random_runs,
            "outcomes_count": len(self.outcomes),
            "exhaustive": self.exhaustive,
            "interrupted": self.interrupted,
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
                    "deciding": g.deciding.as_json() if g.deciding else None,
                    "processes": g.outcome.as_json(),
                }
                for g in self.outcomes
            ],
        }


@dataclass
class _Tally:
    found: dict[Outcome, list[Any]] = field(default_factory=dict)  # outcome -> [count, schedule, calls]
    schedules: int = 0
    pruned: int = 0

    def add(self, outcome: Outcome, schedule: tuple[str, ...], called: tuple[str, ...]) -> None:
        self.schedules += 1
        seen = self.found.setdefault(outcome, [0, schedule, called])
        seen[0] += 1

    def groups(self) -> tuple[OutcomeGroup, ...]:
        """The outcomes in the order found, each with its deciding step."""
        found = [(i + 1, outcome, *seen) for i, (outcome, seen) in enumerate(self.found.items())]
        decided = deciding_steps([Candidate(n, outcome, schedule, called) for n, outcome, _, schedule, called in found])
        return tuple(
            OutcomeGroup(n, outcome, count, schedule, called, decided[n])
            for n, outcome, count, schedule, called in found
        )


def explore(
    command: Sequence[str],
    budget: Budget | None = None,
    reduce: bool = True,
    cwd: str | None = None,
    payload_cap: int = 4096,
    roles: Sequence[RolePlan] = (),
    native: Path | None = None,
) -> Exploration:
    """Run `command` under every schedule the budget allows.

    `roles`: a scenario's roles instead (a server and its clients), started in order as a session does.
    A Python program is gated by the Python recorder; any other by the native recorder, `native` (its library).
    """
    budget = budget or Budget()
    workdir = Path(tempfile.mkdtemp(prefix="ipctrace-explore-"))
    try:
        controller = Controller(workdir, tuple(roles) or command, cwd, payload_cap, native)
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
    sweeper = _Sweeper()
    interrupted = False
    try:
        while True:
            dfs.start()
            try:
                execution = controller.run(dfs)
            except Nondeterministic:
                wavered = True  # the program did not repeat itself: what it depends on is not all held here
                break
            reads = _count(tally, execution)
            sweeper.remove(execution.logs)
            if not dfs.backtrack(execution.final, reads if reduce else None):
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
                sweeper.remove(execution.logs)
                randoms += 1
    except KeyboardInterrupt:  # Ctrl-C: the outcomes found so far are the answer, said to be partial
        interrupted, finished = True, False
    finally:
        controller.close()
        sweeper.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    groups = tally.groups()
    return Exploration(
        command=tuple(command),
        schedules=tally.schedules,
        pruned=tally.pruned,
        outcomes=groups,
        exhaustive=finished and not dfs.bound_hit,
        method=_method(interrupted, finished, wavered),
        reduce=reduce,
        preemptions=budget.preemptions,
        seconds=time.monotonic() - started,
        random_runs=randoms,
        interrupted=interrupted,
    )


def _method(interrupted: bool, finished: bool, wavered: bool) -> str:
    if interrupted:
        return _INTERRUPTED
    return "systematic" if finished else _WAVERED if wavered else "systematic + random"


def _counted(n: int, thing: str) -> str:
    return f"{n} {thing}" + ("" if n == 1 else "s")


_INTERRUPTED = "interrupted with Ctrl-C: the outcomes of the schedules run until then"
_WAVERED = (
    "systematic, stopped: a schedule replayed did not offer the same choices again (the program depends on "
    "something the explorer does not hold, such as the clock or another program), then random"
)


class _Sweeper:
    """Removes each run's logs on a thread of its own: unlinking a run's log files takes milliseconds a file,
    time the next run need not wait for."""

    def __init__(self) -> None:
        self.folders: queue.SimpleQueue[Path | None] = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._sweep, name="ipctrace-explore-sweeper", daemon=True)
        self.thread.start()

    def remove(self, folder: Path) -> None:
        self.folders.put(folder)

    def stop(self) -> None:
        self.folders.put(None)
        self.thread.join()

    def _sweep(self) -> None:
        while (folder := self.folders.get()) is not None:
            shutil.rmtree(folder, ignore_errors=True)


def _count(tally: _Tally, execution: Execution) -> dict[int, PipeRead]:
    """Count the run's outcome; returns what its pipe reads got (for the search's finer independence)."""
    events, _ = read_logs(execution.logs)
    reads = pipe_reads(execution.decisions, execution.pids, events)
    if execution.pruned:
        tally.pruned += 1
        return reads
    called = tuple(d.steps[d.chosen].call.value for d in execution.decisions)
    tally.add(outcome_from(execution, events), schedule_of(execution.decisions), called)
    return reads


__all__ = ["Budget", "EndKind", "Exploration", "InputError", "OutcomeGroup", "explore"]
