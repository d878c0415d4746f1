"""The recorder's output while a run goes on: what is new since the last look, and all of it at the end.

The one place the session reads what the recorders write (`ipctrace.record`: per-thread memory-mapped
logs in the run's `recording/` folder, record/FORMAT.md); the rest of the session sees records as dicts.
The recording is removed once `trace.jsonl` holds everything it had.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from ipctrace.record import tracing_environment
from ipctrace.record.reader import LogFollower, read_logs

RECORDING_NAME = "recording"
KEPT_MAPPED = 64  # logs the supervisor keeps mapped between two looks (more threads: mapped at each look)


class Recording:
    """The log folder of one run, followed as it grows."""

    def __init__(self, outdir: Path) -> None:
        self.path = outdir / RECORDING_NAME
        shutil.rmtree(self.path, ignore_errors=True)
        self.path.mkdir()
        self._follower = LogFollower(self.path, live=True, most_mapped=KEPT_MAPPED)
        self._busy = 0
        self.problems: list[str] = []  # what the recorder could not record or read back, one sentence each

    def environment(self, payload_cap: int, native: Path | None = None) -> dict[str, str]:
        """The environment that makes the run's processes record into this recording.

        `native`: the native recorder's library, put in LD_PRELOAD for the programs that are not Python.
        """
        return tracing_environment(str(self.path), payload_cap, native=native)

    def poll(self) -> tuple[list[dict[str, Any]], bool]:
        """The records completed since the last poll, and whether anything moved (a call began or ended)."""
        done, busy = self._follower.poll()
        moved = bool(done) or len(busy) != self._busy
        self._busy = len(busy)
        return done, moved

    def everything(self) -> list[dict[str, Any]]:
        """Every record, once all processes are gone (a call still in progress is marked so)."""
        self._follower.close()
        raw, problems = read_logs(self.path)
        self.problems = problems.sentences() + problems.messages
        return raw

    def remove(self) -> None:
        self._follower.close()
        shutil.rmtree(self.path, ignore_errors=True)
