"""One run of a program under the explorer: every process held at each visible call, one let go at a time.

The controller listens on a Unix socket (record/gate.py speaks to it). After letting one process go
it waits until the run is quiet again — that process held at its next call or ended, and every child
it forked connected and held — then asks a `Chooser` which enabled process goes next. A process
whose held call would wait for another one (a read of an empty pipe) is not enabled. When no
process is enabled but some are held, those are blocked forever: the run ends there.
"""

from __future__ import annotations

import os
import selectors
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol

import ipctrace.record.layout as L
from ipctrace import calls
from ipctrace.calls import Call
from ipctrace.errors import IpctraceError
from ipctrace.explore.steps import VISIBLE_IDS, Channel, Check, Step, held_ends, step_of
from ipctrace.record import tracing_environment
from ipctrace.record.gate import ENV_CALLS, ENV_EXPLORE, ENV_PATH, ENV_ZYGOTE

RELEASES = calls.RELEASES_FD
EXITS = frozenset({Call.EXIT})
WHOLE_REPORTS = frozenset(L.CALL_IDS[c] for c in (Call.FORK, Call.EXIT))

#: How long one process may run between two of its calls before the run is called stuck.
STEP_TIMEOUT = 10.0


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
class _Proc:
    path: str
    pid: int
    ppid: int
    conn: socket.socket
    pidfd: int
    buf: bytes = b""
    held: Step | None = None  # the step as it stands now (a read of a pipe with data sees no writers)
    gated: Step | None = None  # the step as the gate reported it
    running: bool = True
    closed: bool = False  # its connection reached end of file
    ended: bool = False  # and the process has ended (its pidfd is readable)
    forks_due: int = 0  # children it forked that have not connected yet
    ends: frozenset[Channel] | None = None  # the pipe ends it holds, once a fork or exit report said


@dataclass
class Execution:
    """What one run did: its decisions, how each process ended, where its logs are."""

    decisions: list[Decision] = field(default_factory=list)
    ends: dict[str, End] = field(default_factory=dict)
    pids: dict[str, int] = field(default_factory=dict)
    logs: Path = Path()
    pruned: bool = False
    final: Mapping[str, Step] = field(default_factory=dict)  # the steps held when no process could go on


class Controller:
    """Runs one command again and again under a chooser, each run into its own logs folder.

    The command starts once, as a fork server (record/gate.py): each run is a fork of it taken
    before the program's first line, so a run costs no interpreter start.
    """

    def __init__(self, workdir: Path, command: Sequence[str], cwd: str | None = None, payload_cap: int = 4096) -> None:
        self.workdir = workdir
        self.address = str(workdir / "explore.sock")
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(self.address)
        self.listener.listen(64)
        self.runs = 0
        self.out_fd, write_out = os.pipe()
        os.set_blocking(self.out_fd, False)
        self.quiet = frozenset({os.fstat(write_out).st_ino})
        env = explore_environment(self.address, workdir / "server", payload_cap)
        env[ENV_ZYGOTE] = "1"
        self.server = subprocess.Popen(
            list(command), env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=write_out, stderr=write_out
        )
        os.close(write_out)
        self.listener.settimeout(STEP_TIMEOUT)
        try:
            self.conn, _ = self.listener.accept()
        except OSError:
            self.close()
            raise ExploreError(f"{command[0]} did not start under the explorer (is it a Python program?)") from None
        self.conn.settimeout(STEP_TIMEOUT)
        self.buf = self._line()  # "Z <pid>"
        self.listener.settimeout(None)

    def _line(self) -> bytes:
        buf = b""
        while not buf.endswith(b"\n"):
            got = self.conn.recv(1)
            if not got:
                raise ExploreError("the program's fork server ended before the run began")
            buf += got
        return buf[:-1]

    def close(self) -> None:
        if getattr(self, "conn", None) is not None:
            self.conn.close()
        self.server.kill()
        self.server.wait()
        self.listener.close()
        os.close(self.out_fd)
        Path(self.address).unlink(missing_ok=True)

    def run(self, chooser: Chooser) -> Execution:
        self.runs += 1
        logs = self.workdir / f"run-{self.runs}"
        self.conn.sendall(f"N {logs}\n".encode())
        root = int(self._line().split()[1])
        one = _OneRun(self.listener, self.out_fd, self.quiet, root)
        try:
            execution = one.drive(chooser)
        finally:
            one.finish()
        execution.logs = logs
        return execution


class ExploreError(IpctraceError):
    """The program cannot be explored, or a schedule replayed: one sentence."""


def explore_environment(
    address: str, logs: Path, payload_cap: int, base: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment of a program run under the explorer (its processes connect to `address`)."""
    env = tracing_environment(str(logs), payload_cap, base=dict(base) if base is not None else None)
    env[ENV_EXPLORE] = address
    env[ENV_CALLS] = ",".join(str(i) for i in sorted(VISIBLE_IDS))
    env[ENV_PATH] = "main"
    return env


class _OneRun:
    def __init__(
        self,
        listener: socket.socket,
        out_fd: int,
        quiet: frozenset[int],
        root: int,
        release: bool = False,
        roots: int = 1,
    ) -> None:
        self.release = release  # replaying in a traced run: blocked processes are let go to block for real
        self.listener = listener
        self.out_fd = out_fd
        self.quiet = quiet
        self.root = root
        self.procs: dict[int, _Proc] = {}  # by pid
        self.roots_due = roots
        self.sel = selectors.DefaultSelector()
        self.sel.register(listener, selectors.EVENT_READ, "listen")
        if out_fd >= 0:
            self.sel.register(out_fd, selectors.EVENT_READ, "out")
        self.execution = Execution()

    # -- the decisions ----------------------------------------------------------------------------

    def drive(self, chooser: Chooser) -> Execution:
        ex = self.execution
        last: str | None = None
        if not self.settle():
            return self.stuck()
        while True:
            held = sorted((p for p in self.procs.values() if p.held is not None), key=lambda p: p.path)
            if not held:
                break
            enabled = tuple(p.path for p in held if self.enabled(p))
            shared = self.shared_ends()
            steps = {p.path: p.held.relaxed(shared) for p in held if p.held is not None}
            if not enabled:
                ex.final = steps
                for p in held:
                    ex.ends[p.path] = End(EndKind.BLOCKED, p.held.call.value if p.held else "")
                    if self.release:
                        self.send(p, b"F\n")
                break
            try:
                chosen = chooser.choose(len(ex.decisions), enabled, steps, last)
            except Pruned:
                ex.pruned = True
                break
            ex.decisions.append(Decision(enabled, steps, chosen))
            proc = next(p for p in held if p.path == chosen)
            self.went(proc)
            proc.held = proc.gated = None
            proc.running = True
            self.send(proc, b"G\n")
            last = chosen
            if not self.settle():
                return self.stuck()
        for p in self.procs.values():
            ex.pids[p.path] = p.pid
            if p.ended:
                ex.ends.setdefault(p.path, End(EndKind.EXITED))
            elif ex.pruned:
                ex.ends.setdefault(p.path, End(EndKind.PRUNED))
        return ex

    def stuck(self) -> Execution:
        ex = self.execution
        for p in self.procs.values():
            ex.pids[p.path] = p.pid
            if p.ended:
                ex.ends[p.path] = End(EndKind.EXITED)
            elif p.held is not None:
                ex.ends[p.path] = End(EndKind.BLOCKED, p.held.call.value)
            else:
                ex.ends[p.path] = End(EndKind.STUCK)
        return ex

    def shared_ends(self) -> frozenset[Channel]:
        """Pipe ends that two or more live processes are known to hold (a process not yet known counts for none)."""
        seen: set[Channel] = set()
        shared: set[Channel] = set()
        for p in self.procs.values():
            if p.ends is None or p.ended or p.closed:
                continue
            shared |= seen & p.ends
            seen |= p.ends
        return frozenset(shared)

    def went(self, proc: _Proc) -> None:
        """Keep the ends each process holds up to date with the step it is let go to make."""
        step = proc.gated
        if step is None or proc.ends is None:
            return
        if step.call in RELEASES:
            proc.ends = (
                proc.ends - step.updates
            )  # the closed end (a second descriptor of it is not seen: fewer holders, safer)
        elif step.call in EXITS:
            proc.ends = frozenset()

    def enabled(self, proc: _Proc) -> bool:
        step = proc.held
        if step is None or step.check is Check.NONE or proc.gated is None:
            return True
        step = proc.gated
        self.send(proc, f"R {step.check.value}\n".encode())
        line = self.reply(proc)
        proc.held = step.seeing_data() if line == b"d" else step
        return line in (b"1", b"d")

    # -- waiting for the run to be quiet ----------------------------------------------------------

    def quiet_now(self) -> bool:
        if self.roots_due > 0:
            return False
        return all((p.held is not None or p.ended) and p.forks_due <= 0 for p in self.procs.values())

    def settle(self) -> bool:
        """Wait until every process is held or ended; False when one runs on past the timeout."""
        deadline = time.monotonic() + STEP_TIMEOUT
        while not self.quiet_now():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            for key, _ in self.sel.select(left):
                self.event(key.data)
        return True

    def event(self, what: object) -> None:
        if what == "listen":
            conn, _ = self.listener.accept()
            self.sel.register(conn, selectors.EVENT_READ, ("hello", conn))
        elif what == "out":
            try:
                os.read(self.out_fd, 65536)  # the program's output: what each process printed is in its log
            except BlockingIOError:
                pass
        elif isinstance(what, tuple) and what[0] == "hello":
            self.hello(what[1])
        elif isinstance(what, _Proc):
            self.message(what)
        elif isinstance(what, tuple) and what[0] == "pidfd":
            proc = what[1]
            self.sel.unregister(proc.pidfd)
            proc.ended = True

    def hello(self, conn: socket.socket) -> None:
        got = conn.recv(4096)
        self.sel.unregister(conn)
        if not got.startswith(b"H "):
            conn.close()
            return
        line, _, rest = got.partition(b"\n")
        _, pid_s, ppid_s, path = line.decode().split(" ", 3)
        pid, ppid = int(pid_s), int(ppid_s)
        try:
            pidfd = os.pidfd_open(pid)
        except OSError:
            pidfd = -1
        proc = _Proc(path, pid, ppid, conn, pidfd, buf=rest)
        self.procs[pid] = proc
        parent = self.procs.get(ppid)
        if parent is not None:
            parent.forks_due -= 1
            proc.ends = parent.ends  # a fork copies the descriptors the parent reported just before
        else:
            self.roots_due -= 1
        self.sel.register(conn, selectors.EVENT_READ, proc)
        if rest:
            self.lines(proc)

    def message(self, proc: _Proc) -> None:
        got = proc.conn.recv(65536)
        if not got:
            self.sel.unregister(proc.conn)
            proc.closed = True
            proc.running = False
            if proc.pidfd >= 0:
                self.sel.register(proc.pidfd, selectors.EVENT_READ, ("pidfd", proc))
            else:
                proc.ended = True
            return
        proc.buf += got
        self.lines(proc)

    def lines(self, proc: _Proc) -> None:
        while b"\n" in proc.buf:
            line, _, proc.buf = proc.buf.partition(b"\n")
            parts = line.decode().split(" ")
            if parts[0] != "G":
                continue
            call, fd, mode, ino, writing, forks = (int(x) for x in parts[1:7])
            proc.forks_due += forks
            proc.held = proc.gated = step_of(
                call, fd, mode, ino, bool(writing), parts[7], proc.pid, proc.ppid, self.quiet
            )
            if parts[7] != "-" or call in WHOLE_REPORTS:
                proc.ends = held_ends(parts[7])
            proc.running = False

    def send(self, proc: _Proc, data: bytes) -> None:
        try:
            proc.conn.sendall(data)
        except OSError:
            pass

    def reply(self, proc: _Proc) -> bytes:
        """The answer to a readiness question (the process is held, so nothing else comes first)."""
        proc.conn.setblocking(True)
        proc.conn.settimeout(STEP_TIMEOUT)
        try:
            while b"\n" not in proc.buf:
                got = proc.conn.recv(4096)
                if not got:
                    return b"0"
                proc.buf += got
        except OSError:
            return b"0"
        line, _, proc.buf = proc.buf.partition(b"\n")
        return line

    # -- the end ----------------------------------------------------------------------------------

    def finish(self) -> None:
        if self.release:
            for proc in self.procs.values():
                self.send(proc, b"F\n")
                proc.conn.close()
            self.sel.close()
            return
        for proc in self.procs.values():
            if not proc.ended:
                try:
                    os.kill(proc.pid, signal.SIGKILL)
                except OSError:
                    pass
        try:
            os.killpg(self.root, signal.SIGKILL)
        except OSError:
            pass
        for proc in self.procs.values():
            proc.conn.close()
            if proc.pidfd >= 0:
                os.close(proc.pidfd)
        self.sel.close()
