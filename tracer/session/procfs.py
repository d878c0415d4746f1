"""What /proc says about the run's processes: the call a process waits in, whether it lives, its children,
how many datagrams its UDP sockets dropped.

Everything here reads; nothing signals or waits. A process that is gone between two reads is simply
not there: every function returns "nothing known" instead of raising.
"""

from __future__ import annotations

import ctypes
import os
import stat
from collections.abc import Collection
from pathlib import Path
from typing import Any

from ipctrace.calls import FD_SYSCALLS, syscall_name
from ipctrace.model import Pid

_PR_SET_CHILD_SUBREAPER = 36


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


def fd_endpoint(pid: Pid, fd: int, kinds: dict[tuple[int, int], str]) -> list[Any] | None:
    """[dev, ino, kind] of what `fd` of `pid` is, as the recorder writes endpoints; None if it is gone."""
    try:
        st = os.stat(f"/proc/{pid}/fd/{fd}")
    except OSError:
        return None
    key = (st.st_dev, st.st_ino)
    kind = kinds.get(key) or _kind_of_mode(st.st_mode)
    return [st.st_dev, st.st_ino, kind]


def _kind_of_mode(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "pipe"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "file" if stat.S_ISREG(mode) else "other"


def wchan(pid: Pid) -> str:
    """The kernel function `pid` sleeps in ("" when unknown)."""
    try:
        return Path(f"/proc/{pid}/wchan").read_text().strip()
    except OSError:
        return ""


def alive(pid: Pid) -> bool:
    """Whether `pid` exists and is not a zombie (three system calls: the supervisor asks at every look)."""
    try:
        fd = os.open(f"/proc/{pid}/stat", os.O_RDONLY | os.O_CLOEXEC)
        try:
            line = os.read(fd, 4096)
        finally:
            os.close(fd)
        state = line.rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in (b"Z", b"X")


def children(pid: Pid) -> list[Pid]:
    """The children of `pid` (of all its threads), from /proc/PID/task/TID/children."""
    found: list[Pid] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in tasks:
        try:
            found.extend(int(c) for c in Path(f"/proc/{pid}/task/{tid}/children").read_text().split())
        except (OSError, ValueError):
            continue
    return found


def descendants(roots: Collection[Pid]) -> set[Pid]:
    """Every live process below `roots` (and the roots themselves), following /proc's child lists."""
    seen: set[Pid] = set()
    todo = [pid for pid in roots if alive(pid)]
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        todo.extend(c for c in children(pid) if c not in seen)
    return seen


def environment_mentions(pid: Pid, text: str) -> bool:
    """Whether the environment `pid` was started with holds `text` (a run's recording path marks its processes)."""
    try:
        return text.encode() in Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return False


def become_subreaper() -> None:
    """Orphaned processes of the run are re-parented to ipctrace, so their exit is seen and reaped."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def udp_drops(inodes: Collection[int]) -> dict[int, int]:
    """Datagrams each UDP socket (by inode) dropped because its receive queue was full (/proc/net/udp, udp6).

    Only sockets that are still open are listed by the kernel; a closed socket's count is gone.
    """
    wanted = set(inodes)
    drops: dict[int, int] = {}
    if not wanted:
        return drops
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 13 or not fields[9].isdigit() or not fields[-1].isdigit():
                continue
            inode = int(fields[9])
            if inode in wanted:
                drops[inode] = int(fields[-1])
    return drops
