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
import stat
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import ipctrace.record.layout as L
from ipctrace import calls
from ipctrace.calls import Call
from ipctrace.explore.execution import Chooser, Decision, End, EndKind, Execution, ExploreError, Pruned
from ipctrace.explore.roles import RolePlan, TypedInput, due_after
from ipctrace.explore.steps import Channel, Check, Step, held_ends, step_of

__all__ = ["STEP_TIMEOUT", "Chooser", "Decision", "End", "EndKind", "Execution", "ExploreError", "Pruned", "Spawn"]

RELEASES = calls.RELEASES_FD
EXITS = frozenset({Call.EXIT})
WHOLE_REPORTS = frozenset(L.CALL_IDS[c] for c in (Call.FORK, Call.EXIT))

#: How long one process may run between two of its calls before the run is called stuck.
STEP_TIMEOUT = 10.0
#: Pauses before a socket read that finds nothing is called not ready, right after another process's socket
#: step: loopback delivers in the sender's softirq, which a busy machine may run after the send returned.
IN_FLIGHT = (0.001, 0.003, 0.01)
#: And before a run whose held processes all wait on sockets ends as blocked forever.
LAST_LOOK = (0.03, 0.1)
SOCKETS = Channel("socket")
_PACKETS = calls.SENDS | calls.CONNECTS | calls.RELEASES_FD | EXITS  # steps that put something on the wire


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
    call_id: int = 0  # the held call, as the gate reported it
    ino: int = 0  # the inode of the held call's descriptor
    ends: frozenset[Channel] | None = None  # the pipe ends it holds, once a fork or exit report said


#: Starts role N of a run (the explorer's fork servers): its first process's pid, and its typed input if scripted.
Spawn = Callable[[int], tuple[int, TypedInput | None]]


class _OneRun:
    """One run: its roles started in order, its processes let go one at a time.

    `spawn` starts each role when it is due (exploring); without it (replaying inside a session) the
    session starts the roles itself and the run waits for each to connect.
    """

    def __init__(
        self,
        listener: socket.socket,
        out_fd: int,
        quiet: frozenset[int],
        plan: Sequence[RolePlan] = (RolePlan("main"),),
        spawn: Spawn | None = None,
        release: bool = False,
    ) -> None:
        self.release = release  # replaying in a traced run: blocked processes are let go to block for real
        self.listener = listener
        self.out_fd = out_fd
        self.quiet = set(quiet)  # pipes private to each process: the programs' own output and typed input
        self.plan = tuple(plan)
        self.role_index = {r.name: i for i, r in enumerate(self.plan)}
        self.spawn = spawn
        self.procs: dict[int, _Proc] = {}  # by pid
        self.roots: dict[int, int] = {}  # role index -> pid of the role's first process (once known)
        self.started = 0  # roles started so far
        self.roots_due = 0  # roles started whose first process has not connected yet
        self.inputs: dict[int, TypedInput] = {}  # the typed input pipes, by inode
        self.stopped: set[int] = set()  # service roles sent SIGTERM
        self.sent_by: str | None = None  # the process whose socket step went last (what it sent may be in flight)
        self.sel = selectors.DefaultSelector()
        self.sel.register(listener, selectors.EVENT_READ, "listen")
        if out_fd >= 0:
            self.sel.register(out_fd, selectors.EVENT_READ, "out")
        self.execution = Execution()

    # -- the roles --------------------------------------------------------------------------------

    def start_due(self, count: int) -> None:
        """Start the roles up to `count` (exploring; a session starts them itself when replaying)."""
        for index in range(self.started, count):
            self.roots_due += 1
            if self.spawn is None:
                continue
            pid, typed = self.spawn(index)
            self.roots[index] = pid
            if typed is not None:
                ino = os.fstat(typed.fd).st_ino
                self.inputs[ino] = typed
                self.quiet.add(ino)
        self.started = max(self.started, count)

    def _role_of(self, proc: _Proc) -> int:
        return self.role_index.get(proc.path.split(".", 1)[0], -1)

    def _made_ready(self, proc: _Proc) -> bool:
        """`proc` goes on past its role's ready call, and the roles after it wait for that."""
        index = self._role_of(proc)
        return index == self.started - 1 and proc.call_id in self.plan[index].ready

    def _last_exit(self, proc: _Proc, step: Step) -> bool:
        """`proc` was let go to exit and it was the last process: every other has ended, no role or child is due."""
        if step.call not in EXITS or self.release or self.started < len(self.plan) or self.roots_due > 0:
            return False
        if any(self.plan[i].service and i not in self.stopped for i in range(len(self.plan))):
            return False
        return proc.forks_due <= 0 and all(p.ended for p in self.procs.values() if p is not proc)

    def stop_services(self) -> bool:
        """SIGTERM the service roles once every other role has ended, as a session stops a server (False: none)."""
        if self.release or self.started < len(self.plan):
            return False
        others = [p for p in self.procs.values() if not self.plan[max(self._role_of(p), 0)].service]
        if any(not p.ended for p in others):
            return False
        stopping = False
        for index, role in enumerate(self.plan):
            pid = self.roots.get(index)
            if not role.service or index in self.stopped or pid is None:
                continue
            self.stopped.add(index)
            proc = self.procs.get(pid)
            if proc is None or proc.ended:
                continue
            try:
                os.kill(pid, signal.SIGTERM)
            except OSError:
                continue
            proc.held = proc.gated = None  # it runs its handler now: wait for its next call or its end
            proc.running = stopping = True
        return stopping

    # -- the decisions ----------------------------------------------------------------------------

    def drive(self, chooser: Chooser) -> Execution:
        ex = self.execution
        last: str | None = None
        self.start_due(due_after(self.plan, 0))
        if not self.settle():
            return self.stuck()
        while True:
            held = sorted((p for p in self.procs.values() if p.held is not None), key=lambda p: p.path)
            if not held:
                if self.stop_services() and self.settle():
                    continue
                break
            enabled = tuple(p.path for p in held if self.enabled(p))
            if not enabled and any(p.gated is not None and SOCKETS in p.gated.writes for p in held):
                enabled = self.last_look(held)
            shared = self.shared_ends()
            steps = {p.path: p.held.relaxed(shared) for p in held if p.held is not None}
            if not enabled:
                if self.stop_services():
                    if not self.settle():
                        return self.stuck()
                    continue
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
            typed = self.inputs.get(proc.ino)
            if typed is not None and proc.gated is not None and proc.gated.call in calls.RECEIVES:
                typed.type_next()  # it reads its input: the next scripted line, given as it asks
            ready = self._made_ready(proc)
            went = ex.decisions[-1].steps[chosen]
            self.sent_by = chosen if went.call in _PACKETS and SOCKETS in went.writes | went.updates else None
            proc.held = proc.gated = None
            proc.running = True
            self.send(proc, b"G\n")
            if ready:
                self.start_due(due_after(self.plan, self.started))
            last = chosen
            if self._last_exit(proc, went):
                proc.ended = True  # nothing is left to decide: its end need not be waited for
                break
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
        line = self.ask(proc, step)
        if line == b"0" and self.sent_by not in (None, proc.path) and SOCKETS in step.writes:
            for pause in IN_FLIGHT:  # what another process just sent may still be on its way through loopback
                time.sleep(pause)
                if (line := self.ask(proc, step)) != b"0":
                    break
        proc.held = step.seeing_data() if line == b"d" else step
        return line in (b"1", b"d")

    def last_look(self, held: list[_Proc]) -> tuple[str, ...]:
        """Every process waits, some on a socket: look again a little later before calling them blocked forever."""
        for pause in LAST_LOOK:
            time.sleep(pause)
            enabled = tuple(p.path for p in held if self.enabled(p))
            if enabled:
                return enabled
        return ()

    def ask(self, proc: _Proc, step: Step) -> bytes:
        self.send(proc, f"R {step.check.value}\n".encode())
        return self.reply(proc)

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
            index = self._role_of(proc)
            self.roots.setdefault(index, pid)
            self.quiet |= _standard_pipes(pid)
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
            proc.call_id, proc.ino = call, ino
            proc.held = proc.gated = step_of(
                call, fd, mode, ino, writing, parts[7], proc.pid, proc.ppid, frozenset(self.quiet)
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
        for pid in self.roots.values():
            try:
                os.killpg(pid, signal.SIGKILL)  # each role's first process leads its own group
            except OSError:
                pass
        for typed in self.inputs.values():
            typed.close()
        for proc in self.procs.values():
            proc.conn.close()
            if proc.pidfd >= 0:
                os.close(proc.pidfd)
        self.sel.close()


def _standard_pipes(pid: int) -> set[int]:
    """The pipes a role's first process was given as its standard streams: its own output and typed input."""
    out = set()
    for fd in (0, 1, 2):
        try:
            st = os.stat(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if stat.S_ISFIFO(st.st_mode):
            out.add(st.st_ino)
    return out
