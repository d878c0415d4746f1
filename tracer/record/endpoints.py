"""The recorder's table of descriptors: what kernel object each fd number names, without a syscall per event.

Every creation, `dup`, `close` the recorder wraps updates the table; a number it has never seen
costs one `fstat`. A descriptor closed and reused by code the recorder does not wrap (a C
library, ctypes) keeps its old identity only until the next creation, `dup` or close of that
number that the recorder sees: every wrapped call that returns a descriptor forgets what the
table knew of that number first (tests/test_record_log.py).
"""

from __future__ import annotations

import os
import stat

from ipctrace.record.layout import KIND_ID, KINDS

_fstat = os.fstat
_isatty = os.isatty

#: fd -> (st_dev, st_ino, kind id)
TABLE: dict[int, tuple[int, int, int]] = {}


def endpoint(fd: int) -> tuple[int, int, int] | None:
    """What `fd` refers to (cached); None for a closed or bad descriptor."""
    got = TABLE.get(fd)
    if got is not None:
        return got
    return learn(fd)


def learn(fd: int, kind: str | None = None) -> tuple[int, int, int] | None:
    """Look `fd` up now (one fstat) and remember it; `kind` when the caller knows it (a new socket)."""
    if type(fd) is not int or fd < 0:
        return None
    try:
        st = _fstat(fd)
    except (OSError, ValueError, OverflowError):
        TABLE.pop(fd, None)
        return None
    ep = (st.st_dev, st.st_ino, KIND_ID[kind or kind_of(fd, st.st_mode)])
    TABLE[fd] = ep
    return ep


def forget(fd: int) -> None:
    TABLE.pop(fd, None)


def copy(fd: int, new: int) -> None:
    """`new` is now another name for what `fd` names (dup, dup2)."""
    ep = TABLE.get(fd)
    if ep is None:
        TABLE.pop(new, None)
        learn(new)
    else:
        TABLE[new] = ep


def is_pipe_like(fd: int) -> bool:
    """Does `fd` name a pipe, FIFO, socket or terminal (what a file object records)?"""
    try:
        mode = _fstat(fd).st_mode
    except (OSError, ValueError, OverflowError):
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or stat.S_ISCHR(mode)


def kind_of(fd: int, mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "pipe"
    if stat.S_ISSOCK(mode):
        return _socket_kind(fd)
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "dir"
    if stat.S_ISCHR(mode):
        try:
            return "tty" if _isatty(fd) else "char"
        except OSError:
            return "char"
    return "other"


def _socket_kind(fd: int) -> str:
    import _socket

    try:
        probe = _socket.socket(fileno=fd)
    except OSError:
        return "socket"
    try:
        return socket_kind(probe.family, probe.type)
    finally:
        probe.detach()


def socket_kind(family: int, type_: int) -> str:
    import _socket

    type_ &= ~(getattr(_socket, "SOCK_NONBLOCK", 0) | getattr(_socket, "SOCK_CLOEXEC", 0))
    if family == _socket.AF_UNIX:
        return {_socket.SOCK_STREAM: "unix-stream", _socket.SOCK_DGRAM: "unix-dgram"}.get(type_, "unix-seqpacket")
    suffix = "6" if family == _socket.AF_INET6 else ""
    if family in (_socket.AF_INET, _socket.AF_INET6):
        if type_ == _socket.SOCK_STREAM:
            return "tcp" + suffix
        if type_ == _socket.SOCK_DGRAM:
            return "udp" + suffix
    return "socket"


def as_json(ep: tuple[int, int, int] | None) -> list[object] | None:
    return None if ep is None else [ep[0], ep[1], KINDS[ep[2]]]
