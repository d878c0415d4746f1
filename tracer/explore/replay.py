"""A schedule replayed inside a traced run (`ipctrace run NAME --schedule ID`, `schedule = "child-first"`).

The session starts its roles as usual, with the gate's variables added; a thread here lets one
process go at a time as the schedule says. Where the schedule ends with processes blocked, they are
let go to block for real, so the run ends the way the session already knows (idle, blocked in read).
"""

from __future__ import annotations

import shutil
import socket
import tempfile
import threading
from pathlib import Path

from ipctrace.explore.controller import Chooser, Execution, ExploreError, _OneRun
from ipctrace.explore.forkserver import gated_calls
from ipctrace.explore.roles import RolePlan, extra_calls
from ipctrace.explore.search import NAMED, Replay
from ipctrace.record.gate import ENV_CALLS, ENV_EXPLORE, ENV_PATH

__all__ = ["NAMED", "ScheduleGate", "chooser_for"]


def chooser_for(schedule: str | tuple[str, ...]) -> Chooser:
    """A named schedule ("child-first") or a recorded one (process paths in order)."""
    if isinstance(schedule, tuple):
        return Replay(schedule)
    if schedule in NAMED:
        return NAMED[schedule]
    raise ExploreError(f"there is no schedule named {schedule!r}: name one of {', '.join(NAMED)} or an outcome's id.")


class ScheduleGate:
    """The controller of one traced run, on its own thread."""

    def __init__(self, chooser: Chooser, plan: tuple[RolePlan, ...] = (RolePlan("main"),)) -> None:
        self.chooser = chooser
        self.plan = plan  # the scenario's roles, which the session starts (each role's process names it)
        self.folder = Path(tempfile.mkdtemp(prefix="ipctrace-gate-"))  # short: a socket path has 108 bytes at most
        self.address = str(self.folder / "gate.sock")
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(self.address)
        self.listener.listen(64)
        self.execution: Execution | None = None
        self.thread = threading.Thread(target=self._drive, name="ipctrace-schedule", daemon=True)

    def variables(self) -> dict[str, str]:
        """What to add to the run's environment (the recorder's variables are in it already)."""
        return {ENV_EXPLORE: self.address, ENV_CALLS: gated_calls(extra_calls(self.plan)), ENV_PATH: self.plan[0].name}

    def start(self) -> None:
        self.thread.start()

    def _drive(self) -> None:
        one = _OneRun(self.listener, -1, frozenset(), plan=self.plan, release=True)
        try:
            self.execution = one.drive(self.chooser)
        finally:
            one.finish()

    def stop(self) -> None:
        self.thread.join(timeout=1.0)
        self.listener.close()
        shutil.rmtree(self.folder, ignore_errors=True)
