"""One fork server a role: each role's program starts once, each run's process is a fork of it.

The program is started under the explorer's gate with `IPCTRACE_EXPLORE_ZYGOTE` set
(record/gate.py): before its first line it connects, says `Z <pid>`, and for every `N <folder>`
forks a process that records into that folder and runs the program, answered `P <pid>`. A
descriptor sent with `N` becomes that process's standard input (a scripted role's pipe).
"""

from __future__ import annotations

import os
import socket
import subprocess
from collections import deque
from collections.abc import Sequence
from functools import partial
from pathlib import Path

from ipctrace.explore.controller import STEP_TIMEOUT, Chooser, Execution, ExploreError, _OneRun
from ipctrace.explore.roles import RolePlan, TypedInput, extra_calls, plan_of
from ipctrace.explore.steps import VISIBLE_IDS
from ipctrace.record import ENV_NATIVE_OFF, tracing_environment
from ipctrace.record.gate import ENV_CALLS, ENV_EXPLORE, ENV_PATH, ENV_ZYGOTE
from ipctrace.unrecorded import is_python


def gated_calls(extra: frozenset[int] = frozenset()) -> str:
    """The value of `IPCTRACE_EXPLORE_CALLS`: the calls the gate holds a process at."""
    return ",".join(str(i) for i in sorted(VISIBLE_IDS | extra))


def explore_environment(
    address: str,
    logs: Path,
    payload_cap: int,
    base: dict[str, str] | None = None,
    path: str = "main",
    native: Path | None = None,
) -> dict[str, str]:
    """The environment of a program run under the explorer (its processes connect to `address`).

    `native`: the native recorder's library, which gates a C program as the Python recorder gates Python.
    """
    env = tracing_environment(str(logs), payload_cap, base=dict(base) if base is not None else None, native=native)
    env[ENV_EXPLORE] = address
    env[ENV_CALLS] = gated_calls()
    env[ENV_PATH] = path
    return env


class ForkServers:
    """The fork servers of a scenario's roles, connected to the controller's `listener`."""

    def __init__(
        self,
        listener: socket.socket,
        address: str,
        workdir: Path,
        plan: Sequence[RolePlan],
        cwd: str | None,
        payload_cap: int,
        output: int,
        extra: frozenset[int],
        timeout: float,
        native: Path | None = None,
    ) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []
        self.conns: list[socket.socket] = []
        by_pid: dict[int, socket.socket] = {}
        try:
            for role in plan:
                env = explore_environment(
                    address, workdir / f"server-{role.name}", payload_cap, path=role.name, native=native
                )
                if native is not None and is_python(tuple(role.command)):
                    env[ENV_NATIVE_OFF] = "1"  # as a session does: what finds the interpreter (a shim) is not gated
                env[ENV_CALLS] = gated_calls(extra)
                env[ENV_ZYGOTE] = "1"
                self.procs.append(
                    subprocess.Popen(
                        list(role.command), env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=output, stderr=output
                    )
                )
            listener.settimeout(timeout)
            while len(by_pid) < len(plan):
                conn, _ = listener.accept()
                conn.settimeout(timeout)
                hello = _line(conn)  # "Z <pid>"
                by_pid[int(hello.split()[1])] = conn
        except (OSError, ValueError, IndexError):
            for conn in by_pid.values():
                conn.close()
            self.close()
            names = [r.command[0] for r in plan if r.command]
            raise ExploreError(
                f"{' and '.join(names)} did not start under the explorer: it must be a Python program, or a "
                "dynamically linked one with the native recorder built (scripts/install.sh)."
            ) from None
        finally:
            listener.settimeout(None)
        self.conns = [by_pid.get(p.pid) or socket.socket() for p in self.procs]

    def spawn(self, index: int, logs: Path, stdin: int = -1) -> int:
        """A new process of role `index` recording into `logs` (with `stdin` as its standard input); its pid."""
        conn = self.conns[index]
        message = f"N {logs}\n".encode()
        if stdin >= 0:
            socket.send_fds(conn, [message], [stdin])
        else:
            conn.sendall(message)
        return int(_line(conn).split()[1])

    def close(self) -> None:
        for conn in self.conns:
            conn.close()
        for proc in self.procs:
            proc.kill()
            proc.wait()


def _line(conn: socket.socket) -> bytes:
    buf = b""
    while not buf.endswith(b"\n"):
        got = conn.recv(1)
        if not got:
            raise ExploreError("the program's fork server ended before the run began")
        buf += got
    return buf[:-1]


class Controller:
    """Runs one scenario's roles again and again under a chooser, each run into its own logs folder.

    Each role's program starts once, as a fork server: each run's process of a role is a fork of it
    taken before the program's first line, so a run costs no interpreter start.
    """

    def __init__(
        self,
        workdir: Path,
        command: Sequence[str] | Sequence[RolePlan],
        cwd: str | None = None,
        payload_cap: int = 4096,
        native: Path | None = None,
    ) -> None:
        self.workdir = workdir
        self.plan = plan_of(command)
        self.address = str(workdir / "explore.sock")
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(self.address)
        self.listener.listen(64)
        self.runs = 0
        self.out_fd, write_out = os.pipe()
        os.set_blocking(self.out_fd, False)
        self.quiet = frozenset({os.fstat(write_out).st_ino})
        try:
            self.servers = ForkServers(
                self.listener,
                self.address,
                workdir,
                self.plan,
                cwd,
                payload_cap,
                write_out,
                extra_calls(self.plan),
                STEP_TIMEOUT,
                native,
            )
        except ExploreError:
            self._close_own()
            raise
        finally:
            os.close(write_out)

    def _close_own(self) -> None:
        self.listener.close()
        os.close(self.out_fd)
        Path(self.address).unlink(missing_ok=True)

    def close(self) -> None:
        self.servers.close()
        self._close_own()

    def run(self, chooser: Chooser) -> Execution:
        self.runs += 1
        logs = self.workdir / f"run-{self.runs}"
        one = _OneRun(self.listener, self.out_fd, self.quiet, plan=self.plan, spawn=partial(self._spawn, logs))
        try:
            execution = one.drive(chooser)
        finally:
            one.finish()
        execution.logs = logs
        return execution

    def _spawn(self, logs: Path, index: int) -> tuple[int, TypedInput | None]:
        """Start role `index` of this run: its process's pid and, for a scripted role, the pipe typed into."""
        script = self.plan[index].script
        if script is None:
            return self.servers.spawn(index, logs), None
        read, write = os.pipe()
        try:
            pid = self.servers.spawn(index, logs, read)
        except BaseException:
            os.close(write)
            raise
        finally:
            os.close(read)
        return pid, TypedInput(write, deque(script))
