"""What the run's live processes wait in, read from /proc: the judgements the supervisor makes from it.

The recording says what a process did; only /proc says where it sits now. The supervisor asks here
whether a quiet run is idle (every process asleep in a system call), deadlocked (each waiting in a call
only another process could end), whether a service may be stopped without cutting a write short, and,
when the run is stopped, what each process was left waiting in: a record shaped like the recorder's.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

import ipctrace.session.procfs as procfs
from ipctrace.calls import SENDS, WAITING_ON_OTHERS_SYSCALLS, syscalls_for
from ipctrace.model import Pid
from ipctrace.session.wakeup import POLL_SECONDS

Blocked = tuple[str, int | None]  # the system call (as /proc names it) and the descriptor it waits on

_WRITING = syscalls_for(SENDS)  # a write into a full pipe blocks too, and is no place to stop a process


def idle(pid: Pid) -> bool:
    """The process waits in a call that is not writing (a server back in its accept), so a signal cuts nothing."""
    blocked = procfs.blocked_call(pid)
    return blocked is not None and blocked[0] not in _WRITING


def all_waiting(pids: Iterable[Pid]) -> bool:
    """Every process sleeps in a system call: one computing (or preempted) is not idle, however long."""
    return all(procfs.blocked_call(pid) is not None for pid in pids)


def all_wait_on_others(pids: Iterable[Pid]) -> bool:
    """Every process waits in a call only another process could end (a read of an empty pipe, a wait)."""
    listed = list(pids)
    return bool(listed) and all(
        (procfs.blocked_call(pid) or ("", None))[0] in WAITING_ON_OTHERS_SYSCALLS for pid in listed
    )


def blocked_calls(live: Callable[[], list[Pid]], settle: float = 1.0) -> dict[Pid, Blocked]:
    """What each live process waits in; one caught between two calls gets `settle` seconds to get there."""
    found: dict[Pid, Blocked] = {}
    deadline = time.monotonic() + settle
    while True:
        for pid in live():
            if pid not in found and (call := procfs.blocked_call(pid)) is not None:
                found[pid] = call
        if all(pid in found for pid in live()) or time.monotonic() > deadline:
            return found
        time.sleep(POLL_SECONDS)


def blocked_record(
    pid: Pid, blocked: Blocked, *, ppid: Pid, since: int | None, kinds: dict[tuple[int, int], str]
) -> dict[str, Any]:
    """A record of the call `pid` is blocked in, shaped like the recorder's, with no return time.

    `since`: when its last recorded call returned (the blocked call began after it); `kinds`: the
    endpoint kinds the recording has shown, by (device, inode), for naming what the descriptor is.
    """
    call, fd = blocked
    ep = procfs.fd_endpoint(pid, fd, kinds) if fd is not None else None
    return {
        "pid": pid,
        "ppid": ppid,
        "tid": pid,
        "t0": since if since is not None else time.time_ns(),
        "t1": None,
        "call": call,
        "fd": fd,
        "ep": ep,
        "blocked": True,
        "args": {"syscall": call, "wchan": procfs.wchan(pid)},
    }


__all__ = ["Blocked", "all_wait_on_others", "all_waiting", "blocked_calls", "blocked_record", "idle"]
