"""What the explorer knows of one run: its decisions, how each process ended, and who chooses.

Shared by the controller that drives a run, the searches that choose (search.py) and the outcomes
read from a run (outcomes.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from ipctrace.errors import IpctraceError
from ipctrace.explore.steps import Step


class Pruned(Exception):  # noqa: N818 - a signal from a chooser, not an error
    """The chooser has nothing new to try from here (every enabled step is asleep): stop this run."""


@dataclass(frozen=True)
class Decision:
    """One point of a run: who was held with which step, who could go, who went."""

    enabled: tuple[str, ...]
    steps: Mapping[str, Step]
    chosen: str


class Chooser(Protocol):
    def choose(self, index: int, enabled: tuple[str, ...], steps: Mapping[str, Step], last: str | None) -> str: ...


class EndKind(StrEnum):
    EXITED = "exited"
    BLOCKED = "blocked forever"
    STUCK = "stuck"  # ran on past STEP_TIMEOUT without reaching a call the explorer sees
    PRUNED = "stopped by the explorer"


@dataclass(frozen=True)
class End:
    kind: EndKind
    call: str = ""  # the call a blocked process waits in


@dataclass
class Execution:
    """What one run did: its decisions, how each process ended, where its logs are."""

    decisions: list[Decision] = field(default_factory=list)
    ends: dict[str, End] = field(default_factory=dict)
    pids: dict[str, int] = field(default_factory=dict)
    logs: Path = Path()
    pruned: bool = False
    final: Mapping[str, Step] = field(default_factory=dict)  # the steps held when no process could go on


class ExploreError(IpctraceError):
    """The program cannot be explored, or a schedule replayed: one sentence."""
