"""Running a scenario under the tracer: start its roles, script their input, capture, stop, assemble.

This is the one place that drives processes. It starts each role when the
previous one is ready (as the trace itself shows: its `listen` or `bind` has
been recorded), delivers each scripted input line when the program asks for
input, stops a run that hangs at its timeout (saying what each process was
blocked in), and writes everything under the output folder.
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import platform
import shutil
import signal
import socket
import stat
import struct
import subprocess
import sys
import termios
import threading
import time
from collections import deque
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

from ipctrace import __version__
from ipctrace.assemble import build_trace, exit_status_of
from ipctrace.calls import FD_SYSCALLS, WAITING_ON_OTHERS_SYSCALLS, syscall_name, syscalls_for
from ipctrace.errors import IpctraceError
from ipctrace.model import FORMAT_VERSION, CaptureInfo, ExitStatus, Header, Inode, Packet, Pid, SockAddr, Stream, Trace
from ipctrace.record import ENV_NATIVE_OFF, tracing_environment
from ipctrace.record.reader import LogFollower, read_logs
from ipctrace.scenarios import BUILTIN_DIR, PROGRAMS_DIR, Impl, Role, Scenario
from ipctrace.tracefile import write_trace
from ipctrace.unrecorded import GroupWatch, entry_problem, is_python, reached, waits_for_input

POLL_SECONDS = 0.005  # how often the supervisor looks at the trace while waiting for a condition
DEFAULT_PORT = 8080
SERVICE_GRACE = 2.0  # seconds a service's children get to end before the service is stopped anyway
DEADLOCK_IDLE = 2.0  # seconds with nothing recorded while every process waits on another: a deadlock


class RunError(IpctraceError):
    """A run that cannot start (port in use, capture impossible, ...); the message says what to do."""


@dataclass(frozen=True)
class RunOptions:
    output_root: Path = Path("output")
    outdir: Path | None = None  # default: output_root / scenario name
    port: int = DEFAULT_PORT  # 0: pick a free port
    capture: str = "scapy"  # scapy, tcpdump or none
    payload_cap: int = 4096
    timeout: float | None = None  # overrides the scenario's
    echo: IO[str] | None = None  # where roles' output is shown as it happens (None: not shown)


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
    ending: str  # complete, expected-blocked, timeout, failed
    ok: bool
    message: str
    blocked: list[Blocked] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)
    port: int | None = None
    recorder_problems: list[str] = field(default_factory=list)  # what the recorder could not record, said once


# -- ports ------------------------------------------------------------------------------------------


def choose_port(requested: int, protocols: tuple[str, ...] = ("tcp", "udp")) -> int:
    """The port a scenario will use: the requested one if free (for the protocols it uses), any free one for 0."""
    if requested == 0:
        for _ in range(50):
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
            if _port_is_free(port, protocols):
                return port
        raise RunError("could not find a free port; pass one with --port N.")
    if not 0 < requested < 65536:
        raise RunError(f"port {requested} is not a valid port number; choose one between 1 and 65535.")
    if not _port_is_free(requested, protocols):
        used = "/".join(p.upper() for p in protocols)
        raise RunError(
            f"port {requested} ({used}) is in use by another program: stop it, or choose another port with "
            f"--port N (--port 0 picks a free one)."
        )
    return requested


def _port_is_free(port: int, protocols: tuple[str, ...]) -> bool:
    kinds = {"tcp": socket.SOCK_STREAM, "udp": socket.SOCK_DGRAM}
    for kind in (kinds[p] for p in protocols):
        with socket.socket(socket.AF_INET, kind) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT leftovers are not "in use"
            try:
                probe.bind(("0.0.0.0", port))
            except OSError:
                return False
    return True


# -- output shown as it happens ---------------------------------------------------------------------


class OutputPrinter:
    """Shows each role's output as whole lines prefixed with its name, and keeps a copy per role.

    A line still being written (a prompt such as `Client: `) waits until it is complete or until the
    program is given its input, so lines of two programs never run into each other.
    """

    def __init__(self, outdir: Path, echo: IO[str] | None) -> None:
        self.outdir = outdir
        self.echo = echo
        self.lock = threading.Lock()
        self.pending: dict[str, str] = {}
        self.files: dict[str, IO[bytes]] = {}

    def feed(self, role: str, data: bytes, typed: bool = False) -> None:
        """Output of `role`; `typed` marks scripted input shown the way a terminal echoes it."""
        with self.lock:
            if not typed:
                if role not in self.files:
                    self.files[role] = open(self.outdir / f"{role.replace('/', '_')}.out", "wb")
                self.files[role].write(data)
                self.files[role].flush()
            if self.echo is None:
                return
            text = self.pending.pop(role, "") + data.decode("utf-8", "replace")
            complete, newline, partial = text.rpartition("\n")
            if typed and partial:
                complete, partial = text.removesuffix("\n"), ""
            if complete or newline:
                self._show("".join(f"[{role}] {line}\n" for line in complete.split("\n")))
            if partial:
                self.pending[role] = partial

    def pump(self, role: str, stream: IO[bytes]) -> threading.Thread:
        def run() -> None:
            # Ctrl-C stays pending for the supervisor, which blocks SIGINT and asks for it (Supervisor.run).
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
            fd = stream.fileno()
            while True:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                self.feed(role, chunk)
            stream.close()

        thread = threading.Thread(target=run, name=f"ipctrace-output-{role}", daemon=True)
        thread.start()
        return thread

    def close(self) -> None:
        with self.lock:
            for f in self.files.values():
                f.close()
            for role, partial in self.pending.items():
                self._show(f"[{role}] {partial}\n")
            self.pending.clear()

    def _show(self, text: str) -> None:
        """Echo to the terminal; if nobody reads it any more (`| head`), stop echoing, keep recording."""
        if self.echo is None:
            return
        try:
            self.echo.write(text)
            self.echo.flush()
        except (BrokenPipeError, ValueError, OSError):
            self.echo = None


# -- what a stopped process was doing ---------------------------------------------------------------


def blocked_call(pid: Pid) -> tuple[str, int | None] | None:
    """The system call `pid` is waiting in (name, fd), read from /proc; None if it is not blocked in one."""
    try:
        fields = Path(f"/proc/{pid}/syscall").read_text().split()
    except OSError:
        return None
    if not fields or fields[0] in ("running", "-1"):
        return None
    number = int(fields[0])
    name = syscall_name(number) or f"syscall {number}"
    fd = int(fields[1], 16) if name in FD_SYSCALLS and len(fields) > 1 else None
    return name, fd


def _fd_endpoint(pid: Pid, fd: int, kinds: dict[tuple[int, int], str]) -> list[Any] | None:
    try:
        st = os.stat(f"/proc/{pid}/fd/{fd}")
    except OSError:
        return None
    key = (st.st_dev, st.st_ino)
    kind = kinds.get(key) or (
        "pipe"
        if stat.S_ISFIFO(st.st_mode)
        else "socket"
        if stat.S_ISSOCK(st.st_mode)
        else "file"
        if stat.S_ISREG(st.st_mode)
        else "other"
    )
    return [st.st_dev, st.st_ino, kind]


def _alive(pid: Pid) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def _take_pending_sigint() -> bool:
    """Consume a Ctrl-C the kernel holds for this (SIGINT-blocking) process; was there one?"""
    if signal.SIGINT not in signal.sigpending():
        return False
    signal.sigtimedwait({signal.SIGINT}, 0)
    return True


def _become_subreaper() -> None:
    """Orphaned processes of the run are re-parented to ipctrace, so their exit is seen and reaped."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass


# -- the run ----------------------------------------------------------------------------------------


@dataclass
class _RoleRun:
    role: Role
    proc: subprocess.Popen
    script: deque[str]
    threads: list[threading.Thread]
    ready: bool = False
    exit: ExitStatus | None = None
    terminated: bool = False  # ipctrace sent it SIGTERM (service roles)
    streams: dict[Inode, Stream] = field(default_factory=dict)  # the pipes ipctrace gave it as stdin/out/err
    watch: GroupWatch | None = None  # a program no recorder enters: followed through /proc (unrecorded.py)
    recorded: bool = False  # one of its processes has recorded an event
    untraced: str | None = None  # why no recorder enters its program (unrecorded.entry_problem)


def _stream_inodes(proc: subprocess.Popen) -> dict[Inode, Stream]:
    """The inodes of the pipes connected to a role's standard streams: what goes through them is its own I/O."""
    out: dict[Inode, Stream] = {}
    for pipe, stream in ((proc.stdin, Stream.STDIN), (proc.stdout, Stream.STDOUT), (proc.stderr, Stream.STDERR)):
        if pipe is None:
            continue
        try:
            st = os.fstat(pipe.fileno())
        except (OSError, ValueError):
            continue
        out[Inode(st.st_dev, st.st_ino)] = stream
    return out


class Supervisor:
    """Drives one run: starts roles, feeds scripts, watches the trace, stops and reaps."""

    def __init__(
        self,
        scenario: Scenario,
        env: dict[str, str],
        events_path: Path,
        subst: dict[str, str],
        printer: OutputPrinter,
        timeout: float,
        native_note: str | None = "",
    ) -> None:
        self.scenario = scenario
        self.env = env
        self.events_path = events_path
        self.subst = subst
        self.printer = printer
        self.timeout = timeout
        self.native_note = native_note  # "": the native recorder is in LD_PRELOAD; else why it is not
        self.runs: list[_RoleRun] = []
        self.role_of: dict[Pid, str] = {}
        self.ppid_of: dict[Pid, Pid] = {}
        self.reaped: dict[Pid, ExitStatus] = {}
        self.kinds: dict[tuple[int, int], str] = {}
        self.last_event_t1: dict[Pid, int] = {}
        self.blocked_records: list[dict[str, Any]] = []  # what stop() read from /proc, added to the trace
        self.follower = LogFollower(events_path)
        self._busy = 0
        self.log_problems: list[str] = []
        self.last_activity = time.monotonic()
        self._others_done_at: float | None = None
        self._next_deadlock_check = 0.0
        self._interrupted = False  # set by Ctrl-C while run() is in charge

    # The trace as it grows.
    def _read_new_events(self) -> list[dict[str, Any]]:
        done, busy = self.follower.poll()
        if done or len(busy) != self._busy:
            self.last_activity = time.monotonic()
        self._busy = len(busy)
        return done

    def _handle(self, obj: dict[str, Any]) -> None:
        pid, ppid = int(obj["pid"]), int(obj.get("ppid", 0))
        self.ppid_of.setdefault(pid, ppid)
        if pid not in self.role_of and ppid in self.role_of:
            self.role_of[pid] = self.role_of[ppid]
        if obj.get("t1") is not None:
            self.last_event_t1[pid] = int(obj["t1"])
        ep = obj.get("ep")
        if ep:
            self.kinds[(ep[0], ep[1])] = ep[2]
        call = obj.get("call")
        run = self._run_of(pid)
        if run is None:
            return
        run.recorded = True
        if call in run.role.ready:
            run.ready = True
        if call == "stdin-wait" and not run.role.interactive:
            self._deliver_input(run, all_of_it=(obj.get("args") or {}).get("want") == "all")

    def _run_of(self, pid: Pid) -> _RoleRun | None:
        role = self.role_of.get(pid)
        return next((r for r in self.runs if r.role.name == role), None)

    def _deliver_input(self, run: _RoleRun, all_of_it: bool) -> None:
        """The program asks for input: give it the next scripted line, or end of input after the last."""
        stdin = run.proc.stdin
        if stdin is None or stdin.closed:
            return
        self._let_output_through(run)
        try:
            if not run.script:
                stdin.close()
                return
            while run.script:
                line = run.script.popleft()
                stdin.write(line.encode())
                self.printer.feed(run.role.name, line.encode(), typed=True)
                if not all_of_it:
                    break
            stdin.flush()
            if all_of_it:
                stdin.close()
        except (BrokenPipeError, ValueError):
            pass

    @staticmethod
    def _let_output_through(run: _RoleRun) -> None:
        """What the program wrote before asking (its prompt) is shown before the typed line: wait (briefly)
        until the output pump has taken every byte waiting in the role's output pipes."""
        deadline = time.monotonic() + 0.2
        for pipe in (run.proc.stdout, run.proc.stderr):
            while pipe is not None and time.monotonic() < deadline:
                try:
                    waiting = struct.unpack("i", fcntl.ioctl(pipe.fileno(), termios.FIONREAD, b"\0\0\0\0"))[0]
                except (OSError, ValueError):
                    break
                if not waiting:
                    break
                time.sleep(0.001)

    # Processes.
    def start_role(self, role: Role) -> None:
        command = [arg.format(**self.subst) for arg in role.command]
        scripted = role.stdin is not None and not role.interactive
        blocked = signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # a program starts unmasked
        env = self.env
        if is_python(tuple(command)) and not self.native_note:  # what runs before the interpreter is how it is found
            env = {**env, ENV_NATIVE_OFF: "1"}
        try:
            proc = subprocess.Popen(
                command,
                env=env,
                cwd=self.subst.get("cwd"),
                stdin=None if role.interactive else (subprocess.PIPE if scripted else subprocess.DEVNULL),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=not role.interactive,
            )
        except FileNotFoundError:
            raise RunError(f"cannot start {role.name}: program {command[0]!r} not found; check the command.") from None
        except PermissionError:
            raise RunError(f"cannot start {role.name}: {command[0]!r} is not executable.") from None
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        self.role_of[proc.pid] = role.name
        assert proc.stdout is not None and proc.stderr is not None  # both are pipes (above)
        streams = _stream_inodes(proc)  # before the pumps: a program that ends at once has them closed soon after
        threads = [self.printer.pump(role.name, proc.stdout), self.printer.pump(role.name, proc.stderr)]
        untraced = entry_problem(tuple(command), not self.native_note, self.subst.get("cwd"), self.native_note or "")
        watch = None if untraced is None else GroupWatch(proc.pid)
        self.runs.append(
            _RoleRun(
                role,
                proc,
                deque(role.stdin or ()),
                threads,
                streams=streams,
                watch=watch,
                untraced=untraced,
            )
        )

    def _follow_unrecorded(self, final: bool = False) -> bool:
        """For roles that record nothing, learn from /proc what the trace would say: children, readiness, input.

        Returns whether such a role still has a live process (`final`: after a fresh look at its group).
        """
        left = False
        for run in self.runs:
            if run.watch is None or run.recorded:
                continue
            pids = {run.proc.pid, *run.watch.scan(force=final)}
            for pid in pids:
                self.role_of.setdefault(pid, run.role.name)  # reaped and stopped like recorded children
            left = left or any(_alive(pid) for pid in pids)
            if not run.ready and run.role.ready and (run.exit is not None or reached(pids, run.role.ready)):
                run.ready, self.last_activity = True, time.monotonic()
            stdin = run.proc.stdin
            if stdin is not None and not stdin.closed and not run.role.interactive:
                if waits_for_input(pids, stdin.fileno()):
                    self._deliver_input(run, all_of_it=False)
                    self.last_activity = time.monotonic()
        return left

    def _reap(self) -> None:
        for pid in list(self.role_of):
            if pid in self.reaped:
                continue
            try:
                got, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                continue
            if got:
                self.reaped[pid] = exit_status_of(status)
                for run in self.runs:
                    if run.proc.pid == pid:
                        run.exit = self.reaped[pid]
                        run.proc.returncode = os.waitstatus_to_exitcode(status)  # Popen must not wait again

    def _live_pids(self) -> list[Pid]:
        return [pid for pid in self.role_of if pid not in self.reaped and _alive(pid)]

    def _stop_services_when_done(self) -> None:
        """SIGTERM a service once the other roles have ended and its own children have been reaped.

        Waiting for the children (up to SERVICE_GRACE seconds) lets a server's SIGCHLD handler see
        the last of them, as it would in a lecture where the server is stopped by hand afterwards.
        """
        services = [r for r in self.runs if r.role.service and not r.terminated and r.exit is None]
        if not services:
            return
        others = {r.role.name for r in self.runs if not r.role.service}
        if any(_alive(pid) for pid, role in self.role_of.items() if role in others):
            return
        now = time.monotonic()
        if self._others_done_at is None:
            self._others_done_at = now
        for r in services:
            children = [pid for pid, role in self.role_of.items() if role == r.role.name and pid != r.proc.pid]
            if any(Path(f"/proc/{pid}").exists() for pid in children) and now - self._others_done_at < SERVICE_GRACE:
                continue
            r.terminated = True
            os.kill(r.proc.pid, signal.SIGTERM)

    INTERRUPTED = ("interrupted", "stopped with Ctrl-C; the trace holds what was recorded until then")

    def run(self) -> tuple[str, str]:
        """Run to the end; returns (ending, message). Ctrl-C ends the run early, keeping what it recorded.

        While it runs, SIGINT is blocked and the loop asks the kernel whether one is pending, so Ctrl-C
        is taken between two steps: a KeyboardInterrupt half-way through reading the trace would leave
        some processes unknown and their blocked calls unreported. The handler below only catches one
        that arrives while a role is being started (programs start with SIGINT unblocked).
        """

        def on_sigint(_signum: int, _frame: object) -> None:
            self._interrupted = True

        try:
            previous = signal.signal(signal.SIGINT, on_sigint)
        except ValueError:  # not the main thread: Ctrl-C cannot reach this loop anyway
            previous = None
        if previous is not None:
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            return self._run()
        except KeyboardInterrupt:
            return self.INTERRUPTED
        finally:
            if previous is not None:
                _take_pending_sigint()
                signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
                signal.signal(signal.SIGINT, previous)

    def _ctrl_c(self) -> bool:
        return self._interrupted or _take_pending_sigint()

    def _run(self) -> tuple[str, str]:
        roles = list(self.scenario.roles)
        deadline = time.monotonic() + self.timeout
        ending = self.scenario.ending
        self.start_role(roles[0])
        while True:
            for obj in self._read_new_events():
                self._handle(obj)
            self._reap()
            self._follow_unrecorded()
            started = len(self.runs)
            if started < len(roles):
                previous = self.runs[-1]
                if previous.ready or not previous.role.ready:
                    self.start_role(roles[started])
                    continue
                if previous.exit is not None:
                    for obj in self._read_new_events():  # what it recorded just before it ended (seen after the reap)
                        self._handle(obj)
                    if previous.ready:
                        continue
                    return "failed", (
                        f"{previous.role.name} ended ({previous.exit}) before it was ready "
                        f"(it never reached {' or '.join(previous.role.ready)}); see its output above."
                    )
            else:
                self._stop_services_when_done()
                if not self._live_pids() and not self._follow_unrecorded(final=True):
                    return "complete", ""
            now = time.monotonic()
            if ending is not None and started == len(roles) and now - self.last_activity > ending.idle:
                return "idle", ""
            if ending is None and started == len(roles) and self._deadlocked(now):
                return "deadlock", (
                    f"every process has been waiting for another for {DEADLOCK_IDLE:g} s with "
                    "nothing moving: a deadlock (what each waits in is listed below)"
                )
            if now > deadline:
                return "timeout", f"the run did not end within its timeout of {self.timeout:g} s"
            if self._ctrl_c():
                return self.INTERRUPTED
            time.sleep(POLL_SECONDS)

    def _deadlocked(self, now: float) -> bool:
        """Nothing recorded for a while, and every live process waits in a call only another could end.

        Runs that read the user's terminal are never judged: the user may simply be thinking.
        """
        if now - self.last_activity < DEADLOCK_IDLE or now < self._next_deadlock_check:
            return False
        self._next_deadlock_check = now + 0.5
        if any(r.role.interactive for r in self.runs):
            return False
        live = self._live_pids()
        return bool(live) and all((blocked_call(pid) or ("", None))[0] in WAITING_ON_OTHERS_SYSCALLS for pid in live)

    def _blocked_calls(self, settle: float = 1.0) -> dict[Pid, tuple[str, int | None]]:
        """What each live process waits in; one caught between two calls gets `settle` seconds to get there."""
        found: dict[Pid, tuple[str, int | None]] = {}
        deadline = time.monotonic() + settle
        while True:
            for pid in self._live_pids():
                if pid not in found and (call := blocked_call(pid)) is not None:
                    found[pid] = call
            if all(pid in found for pid in self._live_pids()) or time.monotonic() > deadline:
                return found
            time.sleep(POLL_SECONDS)

    def stop(self) -> None:
        """Note what every live process is blocked in, then kill them all and reap."""
        for obj in self._read_new_events():
            self._handle(obj)
        self._reap()
        records = []
        for pid, (call, fd) in self._blocked_calls().items():
            ep = _fd_endpoint(pid, fd, self.kinds) if fd is not None else None
            wchan = ""
            try:
                wchan = Path(f"/proc/{pid}/wchan").read_text().strip()
            except OSError:
                pass
            t = self.last_event_t1.get(pid, time.time_ns())
            records.append(
                {
                    "pid": pid,
                    "ppid": self.ppid_of.get(pid, 0),
                    "tid": pid,
                    "t0": t,
                    "t1": None,
                    "call": call,
                    "fd": fd,
                    "ep": ep,
                    "blocked": True,
                    "args": {"syscall": call, "wchan": wchan},
                }
            )
        for run in self.runs:
            try:
                os.killpg(run.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        for pid in self._live_pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 5
        while self._live_pids() and time.monotonic() < deadline:
            self._reap()
            time.sleep(POLL_SECONDS)
        self._reap()
        self.blocked_records = records

    def finish(self) -> list[dict[str, Any]]:
        """Every record plus the blocked-call records, after all processes are gone.

        A process the recorder shows inside a call is blocked in that call; /proc's answer is kept
        only for processes the logs say nothing about."""
        for run in self.runs:
            if run.proc.stdin is not None and not run.proc.stdin.closed:
                try:
                    run.proc.stdin.close()
                except OSError:
                    pass
            for thread in run.threads:
                thread.join(timeout=5)
        raw, problems = read_logs(self.events_path)
        # A role no recorder entered, in a run that recorded others (a run that recorded nothing says so once).
        others = any(r.recorded for r in self.runs)
        untraced = [f"{r.role.name}: {r.untraced}" for r in self.runs if r.untraced and others]
        self.log_problems = untraced + problems.sentences() + problems.messages
        in_call = {obj["pid"] for obj in raw if obj.get("state") == "in-progress"}
        return raw + [b for b in self.blocked_records if b["pid"] not in in_call]


def _generate_file(path: Path, size: int) -> None:
    """Deterministic text of `size` bytes (several datagrams' worth for the file transfers)."""
    line = b"ipctrace test data: the quick brown fox jumps over the lazy dog 0123456789\n"
    data = bytearray()
    n = 0
    while len(data) < size:
        data += b"%05d " % n + line
        n += 1
    path.write_bytes(bytes(data[:size]))


def _socket_addresses(raw: list[dict[str, Any]]) -> set[tuple[str, SockAddr, SockAddr | None]]:
    """(proto, local, peer) of every TCP/UDP socket the traced processes used."""
    out: set[tuple[str, SockAddr, SockAddr | None]] = set()
    for obj in raw:
        ep = obj.get("ep")
        kind = ep[2] if ep else ""
        local = obj.get("local")
        if not kind.startswith(("tcp", "udp")) or not isinstance(local, list):
            continue
        peer = obj.get("peer")
        out.add(
            (
                kind.rstrip("6"),
                SockAddr(local[0], local[1]),
                SockAddr(peer[0], peer[1]) if isinstance(peer, list) else None,
            )
        )
    return out


def _matches_expected(scenario: Scenario, blocked: list[Blocked]) -> bool:
    assert scenario.ending is not None
    for role, call in scenario.ending.blocked:
        names = syscalls_for([call])
        if not any((b.role == role or b.role.startswith(role + "/")) and b.call in names for b in blocked):
            return False
    return True


def _header(
    scenario: Scenario,
    subst: dict[str, str],
    started: int,
    ended: int,
    roles: dict[str, tuple[str, ...]],
    capture: CaptureInfo,
    ending: str,
    note: str,
    streams: dict[Inode, Stream] | None = None,
) -> Header:
    return Header(
        version=FORMAT_VERSION,
        command=tuple(" ".join(a.format(**subst) for a in r.command) for r in scenario.roles),
        host=platform.node(),
        clock="CLOCK_REALTIME (time.time_ns)",
        started=started,
        ended=ended,
        scenario=scenario.name,
        roles=roles,
        capture=capture,
        ending=ending,
        ending_note=note,
        streams=streams or {},
    )


def blocked_processes(trace: Trace) -> list[Blocked]:
    """The processes a trace shows still inside a call when the run was stopped."""
    roles = {p.pid: p.role for p in trace.processes}
    return [
        Blocked(
            e.pid,
            roles.get(e.pid, f"pid {e.pid}"),
            e.call,
            e.fd,
            f"{e.call}(fd {e.fd})" if e.fd is not None else e.call,
        )
        for e in trace.events
        if e.blocked
    ]


def _prepare_outdir(scenario: Scenario, outdir: Path) -> Path:
    """The run's folder, emptied of a previous run's results, with the scenario's generated files."""
    try:
        outdir.mkdir(parents=True, exist_ok=True)
        events_path = outdir / "recording"  # the recorder's logs (record/FORMAT.md), gone once trace.jsonl is written
        shutil.rmtree(events_path, ignore_errors=True)
        events_path.mkdir()
    except OSError as exc:
        raise RunError(
            f"cannot write to the output folder {outdir} ({exc.strerror}): choose another one with --output DIR."
        ) from None
    for pattern in ("received_file.txt", "echomsg.txt", "capture.pcap", "timeline.txt", "*.out", "sequence*"):
        for leftover in outdir.glob(pattern):  # a previous run's results must not pass for this run's
            leftover.unlink()
    for name, size in scenario.generate.items():
        _generate_file(outdir / name, size)
    return events_path


def _open_capture(backend: str) -> tuple[Any, str]:
    """A live capture (opened before any program starts), or None and the sentence saying why not."""
    from ipctrace import capture as capture_mod

    if backend == "none":
        return None, "capture turned off (--no-capture)"
    reason = capture_mod.capture_unavailable_reason(backend)
    if reason:
        return None, reason
    try:
        return capture_mod.start_capture(backend, "lo"), ""
    except capture_mod.CaptureUnavailable as exc:
        return None, str(exc)


def _keep_packets(
    capture: Any, backend: str, raw: list[dict[str, Any]], pcap_path: Path, port: int | None, protocols: tuple[str, ...]
) -> tuple[list[Packet], CaptureInfo]:
    """Stop the capture and keep the packets of the sockets this run's processes used.

    When no socket was recorded (programs no recorder enters), the packets to and from the run's port
    are kept: the port was free when the run began, so they are this run's.
    """
    from ipctrace import capture as capture_mod

    captured = capture.stop()
    all_packets = capture_mod.parse_packets(captured)
    sockets = _socket_addresses(raw)
    if not sockets and port:
        sockets = {(proto, SockAddr("0.0.0.0", port), None) for proto in protocols}
    packets = capture_mod.filter_packets(all_packets, sockets)
    # The pcap holds this run's packets only: lo also carries other programs' traffic.
    capture_mod.write_pcap(capture_mod.frames_of(packets, captured), pcap_path)
    packets = [replace(p, index=i) for i, p in enumerate(packets)]  # index = position in capture.pcap
    return packets, CaptureInfo(
        backend, captured=len(all_packets), kept=len(packets), kernel_drops=captured.kernel_drops
    )


def _judge(
    scenario: Scenario,
    ending: str,
    message: str,
    runs: list[_RoleRun],
    blocked: list[Blocked],
    outdir: Path,
    recorded: bool,
) -> tuple[str, bool, str]:
    """Did the run end the way the scenario expects? (ending, ok, what to tell the user)"""
    ok = True
    if ending == "idle":
        if scenario.ending is not None and _matches_expected(scenario, blocked):
            ending, message = "expected-blocked", scenario.ending.explanation
        else:
            ending, ok = "timeout", False
            message = "the run stopped making progress, but not in the way this scenario expects"
    elif ending in ("timeout", "failed", "interrupted", "deadlock"):
        ok = False
    elif ending == "complete":
        if scenario.ending is not None:
            ok = False
            message = "every process ended, but this scenario expects " + ", ".join(
                f"{r} to stay blocked in {c}" for r, c in scenario.ending.blocked
            )
        stopped_by_us = (ExitStatus(signal=signal.SIGTERM), ExitStatus(code=0))
        for run in runs:
            if (
                run.exit is not None
                and run.exit != ExitStatus(code=0)
                and not (run.terminated and run.exit in stopped_by_us)
            ):
                ok, ending = False, "failed"
                message = f"{run.role.name} ended with {run.exit}; see its output above"
    if not recorded:
        ok, ending = False, "failed"
        message = _nothing_recorded(scenario, runs)
    for a, b in scenario.same_files:
        fa, fb = outdir / a, outdir / b
        if not fb.exists() or fa.read_bytes() != fb.read_bytes():
            ok = False
            message = (message + "; " if message else "") + f"{b} is not identical to {a}"
    return ending, ok, message


def _nothing_recorded(scenario: Scenario, runs: list[_RoleRun]) -> str:
    """Why a run recorded nothing, and what it kept."""
    files = [f"{r.role.name.replace('/', '_')}.out" for r in runs] or ["ROLE.out"]
    outputs = " and ".join([", ".join(files[:-1]), files[-1]] if len(files) > 1 else files)
    they, their = ("they", "their") if len(files) > 1 else ("it", "its")
    kept = f"what {they} printed is in {outputs}, and {their} packets, if any, in capture.pcap"
    reasons = "; ".join(dict.fromkeys(r.untraced for r in runs if r.untraced))
    if scenario.impl == Impl.C:
        why = reasons or "the C originals ran, but the native recorder wrote no log"
        return f"nothing was recorded: {why}; {kept}; `ipctrace run {scenario.name}` traces the Python port"
    if reasons:
        return f"nothing was recorded: {reasons}; {kept}"
    return (
        "nothing was recorded: ipctrace traces Python programs started with a normal `python3` "
        "(not `python3 -I`, `-E` or `-S`, which skip the start-up hook) and other dynamically linked programs"
    )


def _built_c_programs(scenario: Scenario) -> str:
    """The folder of the built C originals when the scenario's commands name it ({cbin}), built if needed."""
    if not any("{cbin}" in arg for role in scenario.roles for arg in role.command):
        return ""
    from ipctrace.cprograms import CProgramsUnavailable, built_programs

    try:
        return str(built_programs())
    except CProgramsUnavailable as exc:
        raise RunError(str(exc)) from None


def _native_library() -> tuple[Path | None, str]:
    """The native recorder's library for LD_PRELOAD (built on first use), or None and why it cannot be had."""
    from ipctrace.cprograms import native_library_or_reason

    return native_library_or_reason()


def run_scenario(scenario: Scenario, options: RunOptions = RunOptions()) -> RunResult:
    """Run a scenario under the tracer and write its trace, capture and outputs."""
    outdir = Path(options.outdir or options.output_root / scenario.run_name).resolve()
    cbin = _built_c_programs(scenario)  # before anything is written: a missing compiler is one sentence
    events_path = _prepare_outdir(scenario, outdir)
    port = choose_port(options.port, scenario.protocols) if scenario.uses_port else None
    native, native_note = _native_library()
    env = tracing_environment(str(events_path), options.payload_cap, scenario.schedule, native=native)
    # A user's scenario file names its programs relative to itself: its roles run in the file's folder.
    here = scenario.path.parent.resolve() if scenario.path is not None else Path.cwd()
    own_file = scenario.path is not None and here != BUILTIN_DIR.resolve()
    subst = {
        "python": sys.executable,
        "programs": str(PROGRAMS_DIR),
        "cbin": cbin,
        "port": str(port or ""),
        "outdir": str(outdir),
        "here": str(here),
        "cwd": str(here) if own_file else os.getcwd(),
    }
    capture, capture_note = _open_capture(options.capture)

    _become_subreaper()
    printer = OutputPrinter(outdir, options.echo)
    started = time.time_ns()
    supervisor = Supervisor(
        scenario, env, events_path, subst, printer, options.timeout or scenario.timeout, native_note=native_note
    )
    try:
        ending, message = supervisor.run()
    except BaseException:  # a role that cannot start: stop the others, then say why
        supervisor.stop()
        supervisor.finish()
        printer.close()
        if capture is not None:
            capture.stop(drain=0)
        raise
    supervisor.stop()
    ended = time.time_ns()
    raw = supervisor.finish()
    printer.close()

    pcap_path = outdir / "capture.pcap"
    packets: list[Packet] = []
    info = CaptureInfo("none", note=capture_note)
    if capture is not None:
        packets, info = _keep_packets(capture, options.capture, raw, pcap_path, port, scenario.protocols)

    roles: dict[str, tuple[str, ...]] = {r.role.name: (str(r.proc.pid),) for r in supervisor.runs}
    roots = {r.proc.pid: r.role.name for r in supervisor.runs}
    streams = {inode: stream for r in supervisor.runs for inode, stream in r.streams.items()}
    trace = build_trace(
        _header(scenario, subst, started, ended, roles, info, "", "", streams),
        raw,
        roots=roots,
        reaped=supervisor.reaped,
        packets=packets,
    )
    blocked = blocked_processes(trace)
    recorded = len(raw) > len(supervisor.blocked_records)  # blocked calls read from /proc are not recordings
    ending, ok, message = _judge(scenario, ending, message, supervisor.runs, blocked, outdir, recorded)
    trace = replace(trace, header=_header(scenario, subst, started, ended, roles, info, ending, message, streams))
    trace_path = outdir / "trace.jsonl"
    write_trace(trace, trace_path)
    shutil.rmtree(events_path, ignore_errors=True)  # everything it held is in trace.jsonl now

    files = {"trace": trace_path}
    if capture is not None:
        files["capture"] = pcap_path
    for run in supervisor.runs:
        out = outdir / f"{run.role.name}.out"
        if out.exists():
            files[f"output of {run.role.name}"] = out
    return RunResult(
        scenario=scenario,
        outdir=outdir,
        trace_path=trace_path,
        trace=trace,
        ending=ending,
        ok=ok,
        message=message,
        blocked=blocked,
        files=files,
        port=port,
        recorder_problems=supervisor.log_problems,
    )


__all__ = ["RunError", "RunOptions", "RunResult", "run_scenario", "choose_port", "__version__"]
