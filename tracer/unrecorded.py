"""Which programs a recorder enters, and what the processes of a role no recorder enters are doing.

The session learns from the trace when a role is ready (its `listen` was recorded), when it asks for
input (its stdin-wait marker) and which children it has. The Python recorder enters Python interpreters,
the native recorder (an LD_PRELOAD library) every other dynamically linked program. A program neither
enters — a static binary, a set-user-ID one, anything when the native recorder could not be built —
records nothing, so for its role the session asks the kernel instead: the role's sockets in /proc/net
(listening, bound, connected), whether one of its processes waits in read() on the pipe that is its
standard input, and which processes are in its process group (each role runs in a session of its own,
so its process group id is its first process's pid and every child it forks stays in it).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import struct
import termios
import time
from collections.abc import Iterable
from pathlib import Path

from ipctrace.calls import syscall_name

Pid = int

SCAN_SECONDS = 0.05  # how often a role's process group is looked for new members (one pass over /proc)

#: Calls whose effect shows in /proc/net; a role readied by any other call is ready when it has ended.
OBSERVABLE_READY = ("listen", "bind", "connect")

_TCP_ESTABLISHED, _TCP_LISTEN = "01", "0A"
_UNIX_ACCEPTING = 0x10000  # __SO_ACCEPTCON in the Flags column of /proc/net/unix
_UNIX_CONNECTED = "03"  # SS_CONNECTED in its St column


def is_python(command: tuple[str, ...]) -> bool:
    """Whether a command starts a Python interpreter (by its name, however PATH finds it)."""
    return bool(command) and Path(command[0]).name.startswith("python")


def entry_problem(command: tuple[str, ...], native: bool, cwd: str | None = None, unavailable: str = "") -> str | None:
    """None when a recorder will record `command`; else one sentence saying why it runs untraced.

    `unavailable`: why the native recorder is not there, when it is not.
    """
    if not command:
        return "there is no program to run"
    if is_python(command):
        return None  # the Python recorder's start-up hook
    name = Path(command[0]).name
    if not native:
        why = f" ({unavailable.rstrip('.')})" if unavailable else ""
        return f"{name} ran untraced: it is not a Python program, and the native recorder is not available{why}"
    path = _resolve(command[0], cwd)
    return None if path is None else _native_problem(path)


def _resolve(program: str, cwd: str | None) -> Path | None:
    if "/" in program:
        return Path(cwd or ".", program)
    found = shutil.which(program)
    return Path(found) if found else None  # not found: starting it fails with its own sentence


_PT_INTERP, _PT_DYNAMIC = 3, 2


def _native_problem(path: Path, depth: int = 0) -> str | None:
    """Why LD_PRELOAD cannot enter the program at `path` (set-user-ID, statically linked), or None."""
    try:
        st = path.stat()
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError:
        return None  # starting it will say what is wrong
    if (st.st_mode & 0o4000 and st.st_uid != os.geteuid()) or (st.st_mode & 0o2000 and st.st_gid != os.getegid()):
        return (
            f"{path} is set-user-ID or set-group-ID: the system starts it without LD_PRELOAD, so no recorder "
            "enters it and it ran untraced"
        )
    if head.startswith(b"#!") and depth == 0:  # a script: what starts is its interpreter
        words = head[2:].split(b"\n", 1)[0].split()
        if not words:
            return None
        interpreter = Path(os.fsdecode(words[0]))
        if interpreter.name == "env" and len(words) > 1:
            found = shutil.which(os.fsdecode(words[1]))
            interpreter = Path(found) if found else interpreter
        return None if interpreter.name.startswith("python") else _native_problem(interpreter, 1)
    if not head.startswith(b"\x7fELF") or len(head) < 64 or head[4] != 2:  # ELFCLASS64
        return None
    (phoff,) = struct.unpack_from("<Q", head, 32)
    phentsize, phnum = struct.unpack_from("<HH", head, 54)
    for i in range(phnum):
        at = phoff + i * phentsize
        if at + 4 > len(head):
            return None  # headers past what was read: say nothing rather than guess
        if struct.unpack_from("<I", head, at)[0] in (_PT_INTERP, _PT_DYNAMIC):
            return None
    return (
        f"{path} is statically linked: LD_PRELOAD cannot enter it, so it ran untraced (its packets, its output "
        "and its parent's calls are still seen)"
    )


class GroupWatch:
    """The processes of one role's process group, found by a pass over /proc at most every SCAN_SECONDS."""

    def __init__(self, pgid: Pid) -> None:
        self.pgid = pgid
        self.members: set[Pid] = set()
        self._next_scan = 0.0

    def scan(self, force: bool = False) -> set[Pid]:
        now = time.monotonic()
        if force or now >= self._next_scan:
            self._next_scan = now + SCAN_SECONDS
            self.members = {pid for pid, pgid in _process_groups() if pgid == self.pgid}
        return self.members


def _process_groups() -> Iterable[tuple[Pid, Pid]]:
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] not in (b"Z", b"X"):  # a zombie has ended; its parent reaps it
            yield int(name), int(fields[2])


def socket_inodes(pids: Iterable[Pid]) -> set[int]:
    """The inodes of every socket the processes hold."""
    found = set()
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                found.add(int(target[8:-1]))
    return found


def _rows(name: str) -> list[list[str]]:
    try:
        return [line.split() for line in Path(f"/proc/net/{name}").read_text().splitlines()[1:]]
    except OSError:
        return []


def reached(pids: Iterable[Pid], calls: Iterable[str]) -> bool:
    """Whether one of the processes holds a socket that shows one of `calls` done (listen, bind, connect)."""
    inodes = socket_inodes(pids)
    wanted = set(calls)
    if not inodes or not wanted & set(OBSERVABLE_READY):
        return False
    for proto in ("tcp", "tcp6", "udp", "udp6"):
        for row in _rows(proto):
            if len(row) < 10 or int(row[9]) not in inodes:
                continue
            state, port = row[3], int(row[1].rsplit(":", 1)[1], 16)
            if "listen" in wanted and proto.startswith("tcp") and state == _TCP_LISTEN:
                return True
            if "bind" in wanted and port != 0:
                return True
            if "connect" in wanted and proto.startswith("tcp") and state == _TCP_ESTABLISHED:
                return True
    for row in _rows("unix"):
        if len(row) < 7 or int(row[6]) not in inodes:
            continue
        if "listen" in wanted and int(row[3], 16) & _UNIX_ACCEPTING:
            return True
        if "bind" in wanted and len(row) > 7:
            return True
        if "connect" in wanted and row[5] == _UNIX_CONNECTED:
            return True
    return False


def waits_for_input(pids: Iterable[Pid], stdin_write_fd: int) -> bool:
    """Whether one of the processes waits in read() on the pipe whose write end is `stdin_write_fd`, now empty.

    The emptiness check keeps a line just given from being taken for a new request while the reader
    has not woken up yet.
    """
    if unread(stdin_write_fd) != 0:  # bytes waiting, or a descriptor that cannot say (None)
        return False
    pipe = os.fstat(stdin_write_fd)
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/syscall").read_text().split()
        except OSError:
            continue
        if len(fields) < 2 or not fields[0].isdigit() or syscall_name(int(fields[0])) != "read":
            continue
        try:
            held = os.stat(f"/proc/{pid}/fd/{int(fields[1], 16)}")
        except OSError:
            continue
        if (held.st_dev, held.st_ino) == (pipe.st_dev, pipe.st_ino):
            return True
    return False


def unread(fd: int) -> int | None:
    """Bytes written to a pipe and not read yet (FIONREAD works on either end); None if `fd` cannot say (closed)."""
    try:
        return struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0]
    except OSError:
        return None
