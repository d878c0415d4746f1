"""What a run is asked to do (`RunOptions`, checked when made) and what it gives back (`RunResult`)."""

from __future__ import annotations

import signal
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import IO

from ipctrace.errors import IpctraceError
from ipctrace.inputs import InputError, check_count, check_name, check_number
from ipctrace.model import Pid, Trace
from ipctrace.scenarios import MAX_TIMEOUT, Scenario

MAX_PAYLOAD_CAP = 64 * 1024 * 1024  # bytes kept per call: far above any course example's message
CAPTURE_BACKENDS = ("scapy", "tcpdump", "none")


class RunError(IpctraceError):
    """A run that cannot start or be kept (port in use, folder in use, disk full); the message says what to do."""


class Ending(StrEnum):
    """How a run ended, as the summary and the trace's header say it."""

    COMPLETE = "complete"  # every process ended
    EXPECTED_BLOCKED = "expected-blocked"  # stopped, blocked the way its scenario says it ends
    TIMEOUT = "timeout"
    DEADLOCK = "deadlock"  # every process waited for another, nothing moving
    FAILED = "failed"  # a crash, a role that ended before it was ready, nothing recorded
    INTERRUPTED = "interrupted"  # Ctrl-C, SIGTERM or SIGHUP to ipctrace
    DISK_FULL = "disk-full"  # the output folder's disk filled up: the run was stopped
    IDLE = "idle"  # nothing moving; judged against the scenario's expected ending before it is shown


@dataclass(frozen=True)
class RunOptions:
    """How to run a scenario; every number and name is checked here, so a bad one is one sentence before the run."""

    output_root: Path = Path("output")
    outdir: Path | None = None  # default: output_root / (name, or the scenario's run name: tcp_chat, tcp_chat-c)
    name: str | None = None  # the run's folder name under output_root (`--name`)
    port: int = 8080  # 0: pick a free port
    capture: str = "scapy"  # scapy, tcpdump or none
    payload_cap: int = 4096
    timeout: float | None = None  # overrides the scenario's
    echo: IO[str] | None = None  # where roles' output is shown as it happens (None: not shown)
    #: a named schedule ("child-first") or an explored one (process paths); None: the scenario's, if any
    schedule: str | tuple[str, ...] | None = None
    #: modules the caller needs once the run has ended (the diagrams'), imported while its programs run
    preload: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        try:
            check_count(self.port, "--port", 0, 65535)
            check_count(self.payload_cap, "--payload-cap", 0, MAX_PAYLOAD_CAP, unit="bytes")
            if self.timeout is not None:
                check_number(self.timeout, "--timeout", 0, MAX_TIMEOUT, unit="seconds")
            if self.name is not None:
                check_name(self.name, f"--name {self.name!r}")
        except InputError as exc:
            raise RunError(str(exc)) from None
        if self.capture not in CAPTURE_BACKENDS:
            raise RunError(f"capture {self.capture!r} is unknown: choose among {', '.join(CAPTURE_BACKENDS)}.")

    def folder(self, scenario: Scenario) -> Path:
        """The run's output folder (not yet resolved)."""
        return Path(self.outdir or self.output_root / (self.name or scenario.run_name))


@dataclass(frozen=True)
class Blocked:
    """A process still inside a call when the run was stopped."""

    pid: Pid
    role: str
    call: str
    fd: int | None
    detail: str


@dataclass
class RunResult:
    scenario: Scenario
    outdir: Path
    trace_path: Path
    trace: Trace
    ending: str  # an Ending
    ok: bool
    message: str
    blocked: list[Blocked] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)
    port: int | None = None
    stopped_by: signal.Signals | None = None  # the signal that stopped the run early (Ctrl-C, SIGTERM, SIGHUP)
    notes: list[str] = field(default_factory=list)  # what the user should know about the run (UDP drops, ...)
    recorder_problems: list[str] = field(default_factory=list)  # what the recorder could not record, said once

    @property
    def recorded(self) -> bool:
        """Whether the recorder recorded anything (blocked calls alone are read from /proc by ipctrace)."""
        return any(not e.blocked for e in self.trace.events)

    @property
    def exit_status(self) -> int:
        """0 as the scenario expects, 1 not, 128 + N when signal N stopped it (the shell's convention)."""
        if self.stopped_by is not None:
            return 128 + int(self.stopped_by)
        return 0 if self.ok else 1
