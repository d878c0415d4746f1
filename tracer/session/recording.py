"""The recorder's output while a run goes on: what is new since the last look, and all of it at the end.

The one place the session reads what the recorder writes (`ipctrace.record`); the rest of the session
sees recorder records as dicts. The recording lives in the run's folder and is removed once
`trace.jsonl` holds everything it had.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ipctrace.record import tracing_environment
from ipctrace.tracefile import read_raw_events

RECORDING_NAME = "events.raw.jsonl"


class Recording:
    """The events file of one run, followed as it grows."""

    def __init__(self, outdir: Path) -> None:
        self.path = outdir / RECORDING_NAME
        self.path.write_bytes(b"")
        self._file = open(self.path, "rb")
        self._tail = b""
        self.problems: list[str] = []  # what the recorder could not record, one sentence each

    def environment(self, payload_cap: int, schedule: str | None) -> dict[str, str]:
        """The environment that makes the run's Python processes record into this recording."""
        return tracing_environment(str(self.path), payload_cap, schedule)

    def poll(self) -> list[dict[str, Any]]:
        """The records completed since the last poll."""
        chunk = self._file.read()
        if not chunk:
            return []
        data = self._tail + chunk
        cut = data.rfind(b"\n") + 1
        self._tail = data[cut:]
        return list(read_raw_events(data[:cut].decode("utf-8", "replace").splitlines(keepends=True)))

    def everything(self) -> list[dict[str, Any]]:
        """Every record, once all processes are gone."""
        self._file.close()
        with open(self.path, encoding="utf-8", errors="replace") as f:
            return list(read_raw_events(f))

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)
