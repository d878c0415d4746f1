"""At a process's exit: the calls other threads have made, recorded as ended before the exit is.

The interpreter's exit stops every daemon thread the next time it takes the GIL. A thread whose call is
over in the kernel (its byte sent) but which is still waiting for the GIL would leave the call in
progress for ever, though it ran (asyncio's child-watcher thread waking its loop, seen in CI). Such
threads are given the GIL (the exiting thread sleeps a moment) until their calls are recorded as done,
for at most SETTLE_LIMIT; a thread sleeping inside its own call stays as it is.
"""

from __future__ import annotations

import os
import time

import ipctrace.record.layout as L
from ipctrace.record.log import TLS, Recorder

_os_open = os.open
_os_read = os.read
_os_close = os.close
_sleep = time.sleep
_monotonic = time.monotonic
_getpid = os.getpid

#: How long a process's exit waits, at most, for other threads' calls that are over but not yet recorded as such.
SETTLE_LIMIT = 0.25
_SETTLE_POLL = 0.0005
_STATE_AT, _IN_PROGRESS = L.STATE_AT, L.IN_PROGRESS
_FUTEX = {"x86_64": 202, "aarch64": 98, "riscv64": 98, "i686": 240, "armv7l": 240}


def _task_file(tid: int, name: str, size: int) -> bytes | None:
    """The start of /proc/self/task/TID/NAME; None when it cannot be read (the thread has ended)."""
    try:
        fd = _os_open(f"/proc/self/task/{tid}/{name}", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        return _os_read(fd, size)
    except OSError:
        return None
    finally:
        _os_close(fd)


def _may_end_its_call(tid: int) -> bool:
    """Could thread `tid` of this process end its call if given the GIL? Not when it sleeps in a system call of its
    own (a `recv` waiting for data is really still in its call); yes when it runs, is stopped (a debugger, strace
    at the call's return), or waits in a futex (for the GIL: where a thread back from the kernel waits).
    """
    stat = _task_file(tid, "stat", 512)
    if stat is None:
        return False
    after_name = stat.rfind(b")") + 2
    state = stat[after_name : after_name + 1]
    if state not in (b"S", b"D"):
        return state in (b"R", b"t", b"T")
    syscall = _task_file(tid, "syscall", 64)
    if syscall is None:
        return False
    word = syscall.split(b" ", 1)[0].strip()
    return word == b"running" or word == str(_FUTEX.get(os.uname().machine, -1)).encode()


def other_threads(rec: Recorder) -> None:
    """Wait until the other threads' calls that may still end are recorded as ended (none: no wait)."""
    me = getattr(TLS, "log", None)
    pid = _getpid()
    waiting = [
        (lg, at)
        for lg in rec.logs
        if lg is not me and lg.alive and lg.pid == pid and _may_end_its_call(lg.tid)
        for at in lg.in_progress()
    ]
    deadline = _monotonic() + SETTLE_LIMIT
    while waiting and _monotonic() < deadline:
        _sleep(_SETTLE_POLL)  # the GIL is free meanwhile
        waiting = [
            (lg, at)
            for lg, at in waiting
            if lg.alive and lg.buf[at + _STATE_AT] == _IN_PROGRESS and _may_end_its_call(lg.tid)
        ]
