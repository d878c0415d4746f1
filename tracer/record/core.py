"""What every wrapper shares: this process's recorder, the gate, and the never-raise helpers of rare calls.

A wrapper begins its record before the call and ends it after. Anything that goes wrong while
recording is caught here: if the call itself then succeeds, the failure is the recorder's (said
once on stderr and counted in the log's header); if the call fails too, it was the program's
own mistake (a wrong argument type) and the program gets exactly the untraced exception.
"""

from __future__ import annotations

import sys

import ipctrace.record.layout as L
from ipctrace.record.endpoints import endpoint
from ipctrace.record.log import TLS, Recorder, ThreadLog

TYPE_CHECKING = False  # typing is not imported at run time: every traced process would pay for it
if TYPE_CHECKING:
    from typing import Any

REC: Recorder | None = None
FAILED = -2  # the position of a record that could not be begun


def log() -> ThreadLog | None:
    """This thread's log (None when recording is off)."""
    try:
        return TLS.log
    except AttributeError:
        rec = REC
        return None if rec is None else rec.log()


def problem(lg: ThreadLog | None, what: str) -> None:
    """A recording failure: said once, counted; never raises."""
    try:
        rec = REC
        exc = sys.exc_info()[1]
        if exc is not None:
            what = f"{what} ({type(exc).__name__}: {exc})"
        if rec is not None:
            rec.problems.report(what)
        if lg is not None:
            lg.count_skipped()
    except Exception:
        pass


def failed(lg: Any, pos: int, exc: BaseException) -> None:
    """The call whose record begins at `pos` raised `exc`: its record ends with the error (never raises)."""
    try:
        lg.failed(pos, L.exception_code(exc))
    except Exception:
        problem(lg, "could not record a failed call")


def begin(
    lg: ThreadLog | None,
    call: int,
    fd: Any,
    blob: dict[str, Any] | None = None,
    post_cap: int = 0,
    flags: int = 0,
    depth: int = 1,
) -> tuple[int, int]:
    """Begin a rare call's record (fd, endpoint, argument blob); returns (position, blob length)."""
    if lg is None:
        return -1, 0
    try:
        ep = None
        if type(fd) is int and fd >= 0:
            flags |= L.F_FD
            ep = endpoint(fd)
        else:
            fd = -1
        site = lg.site(depth + 1)
        if site < 0:
            return -1, 0  # library plumbing
        args = L.json_blob(blob) if blob else b""
        return lg.begin(call, fd, flags, site, ep, 0, args=args, post_cap=post_cap), len(args)
    except Exception:
        return FAILED, 0


def end(
    lg: ThreadLog | None,
    pos: int,
    args_len: int,
    post_cap: int,
    res: int = 0,
    post: dict[str, Any] | None = None,
    exc: BaseException | None = None,
    what: str = "a call",
) -> None:
    """Complete a rare call's record with its result or its exception; never raises."""
    if lg is None or pos == -1:
        return
    if pos == FAILED:
        if exc is None:
            problem(lg, f"could not record {what}")
        return
    try:
        err = 0
        if exc is not None:
            err = L.exception_code(exc)
            if err < 0 and L.exception_name(err) != type(exc).__name__:
                post = {**(post or {}), "err": type(exc).__name__}
        blob = L.json_blob(post) if post else b""
        lg.end_blob(pos, res, 0, err, blob, args_len, post_cap)
    except Exception:
        problem(lg, f"could not record the end of {what}")


def point(call: int, blob: dict[str, Any] | None = None, res: int = 0, depth: int = 1) -> None:
    """A record complete at once (start, exit, exec, spawn, stdin-wait); never raises."""
    lg = log()
    if lg is None:
        return
    try:
        site = lg.site(depth + 1)
        lg.point(call, site if site > 0 else 0, blob, res)
    except Exception:
        problem(lg, "could not record a process event")


_STDIN_WAIT = L.CALL_IDS["stdin-wait"]
#: What a read of fd 0 can wait on (the native recorder's `stdin_wait` waits on the same): not a file or /dev/null.
_WAITING_KINDS = frozenset(i for i, kind in enumerate(L.KINDS) if kind not in ("", "file", "char", "other", "dir"))


def stdin_wait() -> None:
    """A read of fd 0, or a wait that includes it, is about to begin: the marker the session answers with the
    next scripted line (sys.stdin's raw reads, `os.read(0, n)`, select, poll and epoll all call it).

    Only what would wait is marked: fd 0 a pipe or socket with nothing in it yet, as the native recorder
    does (bytes already there are read at once and ask for no new line). Never raises.
    """
    try:
        ep = endpoint(0)
        if ep is None or ep[2] not in _WAITING_KINDS:
            return
        import fcntl
        import termios

        if int.from_bytes(fcntl.ioctl(0, termios.FIONREAD, bytes(4)), sys.byteorder) > 0:
            return
    except OSError:
        return
    point(_STDIN_WAIT, {"fd": 0, "args": {"want": "line"}}, depth=2)


def addr(address: Any) -> Any:
    """A socket address as JSON: [host, port] for IP, a path for Unix (an abstract name starts with @)."""
    if isinstance(address, tuple) and len(address) >= 2:  # a port that is not a number: the call refuses it
        return [str(address[0]), address[1]] if type(address[1]) is int else None
    if isinstance(address, (bytes, bytearray)):
        address = bytes(address).decode("utf-8", "surrogateescape")
    if isinstance(address, str):
        return "@" + address[1:] if address.startswith("\0") else address
    return None
