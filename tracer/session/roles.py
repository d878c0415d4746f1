"""One role of a run: its program started with the tracing environment, its output pumped, its script fed.

Each role but an interactive one starts in a session of its own, so ipctrace can stop it and all its
children with one signal to its process group, and a Ctrl-C typed at ipctrace does not reach it
directly: ipctrace decides what happens to it (see `stopping`).
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from ipctrace.model import ExitStatus, Inode, Stream
from ipctrace.record import ENV_HOLD, ENV_NATIVE_OFF
from ipctrace.scenarios import Role
from ipctrace.session.output import OutputPrinter
from ipctrace.session.results import RunError
from ipctrace.unrecorded import GroupWatch, entry_problem, is_python


@dataclass
class RoleRun:
    """A started role: its process, what is left of its script, and what ipctrace knows of it."""

    role: Role
    proc: subprocess.Popen[bytes]
    script: deque[str]
    pumps: list = field(default_factory=list)  # the threads copying its stdout and stderr
    ready: bool = False
    exit: ExitStatus | None = None
    terminated: bool = False  # ipctrace sent it SIGTERM (service roles)
    recorded: bool = False  # one of its processes has recorded an event
    watch: GroupWatch | None = None  # a program no recorder enters: followed through /proc (unrecorded.py)
    streams: dict[Inode, Stream] = field(default_factory=dict)  # the pipes ipctrace gave it as stdin/out/err
    untraced: str | None = None  # why no recorder enters its program (unrecorded.entry_problem)
    given: int = 0  # times it was given input: a scripted line, or the end of its input
    unmarked: int = 0  # of those, times /proc showed it reading with no `stdin-wait` recorded (supervisor)

    def deliver_input(self, printer: OutputPrinter, all_of_it: bool) -> None:
        """The program asks for input: give it the next scripted line, or end of input after the last."""
        stdin = self.proc.stdin
        if stdin is None or stdin.closed:
            return
        self._let_output_through(printer)
        self.given += 1
        try:
            if not self.script:
                stdin.close()
                return
            while self.script:
                line = self.script.popleft()
                stdin.write(line.encode())
                printer.feed(self.role.name, line.encode(), typed=True)
                if not all_of_it:
                    break
            stdin.flush()
            if all_of_it:
                stdin.close()
        except (BrokenPipeError, ValueError):
            pass

    def _let_output_through(self, printer: OutputPrinter, wait: float = 0.2) -> None:
        """What the program wrote before asking (its prompt) is shown before the typed line."""
        fds = []
        for pipe in (self.proc.stdout, self.proc.stderr):
            try:
                if pipe is not None:
                    fds.append(pipe.fileno())
            except ValueError:  # its pump closed it: that output has ended
                pass
        printer.wait_taken(fds, wait)

    def close_stdin(self) -> None:
        stdin = self.proc.stdin
        if stdin is not None and not stdin.closed:
            try:
                stdin.close()
            except OSError:
                pass


@dataclass
class HeldRole:
    """A role started before its turn, held by its recorder before the program's first line (`ENV_HOLD`)."""

    run: RoleRun
    turn: int  # the pipe's write end: a byte lets the program start, closing it without one ends the process

    def release(self) -> RoleRun:
        """Its turn: the program starts now (a process that ended meanwhile is reaped as any role's is)."""
        try:
            os.write(self.turn, b"\n")
        except OSError:  # it is gone already
            pass
        finally:
            os.close(self.turn)
        return self.run

    def discard(self) -> None:
        """The run ended before its turn: the interpreter is killed before its program ran (nothing recorded)."""
        os.close(self.turn)  # end of file: were it not killed, the recorder would end it before the program starts
        try:
            os.killpg(self.run.proc.pid, signal.SIGKILL)  # its own session (launch): the interpreter, nothing else
        except (ProcessLookupError, PermissionError):
            pass
        self.run.proc.wait()
        self.run.close_stdin()
        for thread in self.run.pumps:
            thread.join(timeout=5)


def hold(
    role: Role,
    command: list[str],
    env: dict[str, str],
    cwd: str | None,
    printer: OutputPrinter,
    native_note: str | None,
) -> HeldRole | None:
    """Start `role` now, held until `HeldRole.release`; None when it cannot start (said again in its turn)."""
    wait, turn = os.pipe()
    try:
        return HeldRole(launch(role, command, env, cwd, printer, native_note, hold=wait), turn)
    except RunError:
        os.close(turn)
        return None
    finally:
        os.close(wait)


def missing_program(command: tuple[str, ...] | list[str], cwd: str | None) -> str | None:
    """Why `command` cannot be started (its program is not found or not executable), or None."""
    program = command[0]
    if "/" in program:
        path = Path(cwd or ".", program)
        if not path.exists():
            return f"program {program!r} not found; check the command"
        if path.is_dir() or not os.access(path, os.X_OK):
            return f"{program!r} is not executable"
        return None
    if shutil.which(program) is None:
        return f"program {program!r} not found; check the command"
    return None


def _not_startable(program: str, exc: OSError) -> str:
    """Why the kernel would not run `program` (its execve failed), with what to do about it."""
    if exc.errno == errno.ENOEXEC:
        return (
            f"{program!r} is not a program this system can run ({exc.strerror}): a script needs a first line "
            "such as #!/bin/sh or #!/usr/bin/env python3, or give its interpreter (ipctrace run -- python3 prog.py)"
        )
    return f"{program!r} could not be started ({exc.strerror})"


def launch(
    role: Role,
    command: list[str],
    env: dict[str, str],
    cwd: str | None,
    printer: OutputPrinter,
    native_note: str | None = "",
    hold: int | None = None,
) -> RoleRun:
    """Start one role; a program that cannot be started is a RunError naming the role.

    `native_note`: "" when the native recorder is in `env`'s LD_PRELOAD, else why it is not. A role started
    as `python3 ...` gets the library stood down until its Python recorder starts: what finds the interpreter
    (a wrapper script, a shim) is not the program. `hold`: a descriptor the Python recorder waits on before
    the program starts (`ENV_HOLD`: started before its turn); it is closed before the program's first line.
    """
    scripted = role.stdin is not None and not role.interactive
    if is_python(tuple(command)) and not native_note:
        env = {**env, ENV_NATIVE_OFF: "1"}
    if hold is not None:
        env = {**env, ENV_HOLD: str(hold)}
    try:
        proc = subprocess.Popen(
            command,
            env=env,
            cwd=cwd,
            stdin=None if role.interactive else (subprocess.PIPE if scripted else subprocess.DEVNULL),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=not role.interactive,
            pass_fds=() if hold is None else (hold,),
        )
    except FileNotFoundError:
        raise RunError(f"cannot start {role.name}: program {command[0]!r} not found; check the command.") from None
    except PermissionError:
        raise RunError(f"cannot start {role.name}: {command[0]!r} is not executable.") from None
    except OSError as exc:  # the kernel refused the program itself: ENOEXEC for a script without `#!`
        raise RunError(f"cannot start {role.name}: {_not_startable(command[0], exc)}.") from None
    assert proc.stdout is not None and proc.stderr is not None  # both are pipes (above)
    streams = _stream_inodes(proc)  # before the pumps: a program that ends at once has them closed soon after
    pumps = [printer.pump(role.name, proc.stdout), printer.pump(role.name, proc.stderr)]
    untraced = entry_problem(tuple(command), not native_note, cwd, native_note or "")
    watch = None if untraced is None else GroupWatch(proc.pid)
    return RoleRun(role, proc, deque(role.stdin or ()), pumps, streams=streams, watch=watch, untraced=untraced)


def _stream_inodes(proc: subprocess.Popen[bytes]) -> dict[Inode, Stream]:
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
