"""Wrappers of the `os` calls on descriptors: data (read, write, readv, writev, sendfile, splice) and fds.

The data calls are the hot path: each one is a single function with no helper calls but the
log's own `begin`/`end`, begun before the call (a send's bytes stored then) and completed after.
"""

from __future__ import annotations

import os

import ipctrace.record.core as core
import ipctrace.record.hot as hot
import ipctrace.record.layout as L
from ipctrace.record.endpoints import TABLE, as_json, copy, endpoint, forget, learn

TYPE_CHECKING = False  # typing is not imported at run time: every traced process would pay for it
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

_ID = L.CALL_IDS
_WRITE, _READ = _ID["write"], _ID["read"]
_SEND_FLAGS = L.F_FD | L.F_ASKED | L.F_RES | L.F_SIZE
_CAPPED = L.F_CAPPED
_FAILED = core.FAILED
_code = L.exception_code


_failed = core.failed


_mv = memoryview

ORIGINALS: dict[str, Callable[..., Any]] = {
    name: getattr(os, name)
    for name in (
        "read",
        "write",
        "readv",
        "writev",
        "sendfile",
        "splice",
        "pipe",
        "pipe2",
        "open",
        "close",
        "closerange",
        "dup",
        "dup2",
    )
    if hasattr(os, name)
}
_read = ORIGINALS["read"]
_write = ORIGINALS["write"]


def _log() -> Any:
    rec = core.REC
    return None if rec is None else rec.log()


write = hot.os_write
read = hot.os_read


def _joined(buffers: Any, limit: int) -> bytes:
    """The first `limit` bytes of a list of buffers, as one."""
    out = bytearray()
    for b in buffers:
        if len(out) >= limit:
            break
        out += _mv(b).cast("B")[: limit - len(out)]
    return bytes(out)


def writev(fd, buffers, /):
    lg = core.log()
    if lg is None:
        return ORIGINALS["writev"](fd, buffers)
    try:
        buffers = list(buffers)
        n = sum(_mv(b).nbytes for b in buffers)
        data = _joined(buffers, lg.cap)
        ep = endpoint(fd)
        flags = _SEND_FLAGS | (_CAPPED if n > lg.cap else 0)
        pos = lg.begin(_ID["writev"], fd, flags, lg.site(1), ep, n, data, len(data))
    except Exception:
        pos, data = _FAILED, b""
    try:
        res = ORIGINALS["writev"](fd, buffers)
    except BaseException as exc:
        if pos >= 0:
            lg.end(pos, 0, 0, _code(exc))
        raise
    if pos >= 0:
        lg.end(pos, res, res, 0, None, len(data))
    elif pos == _FAILED:
        core.problem(lg, "could not record os.writev")
    return res


def readv(fd, buffers, /):
    lg = core.log()
    if lg is None:
        return ORIGINALS["readv"](fd, buffers)
    try:
        buffers = list(buffers)
        n = sum(_mv(b).nbytes for b in buffers)
        room = min(n, lg.cap)
        pos = lg.begin(_ID["readv"], fd, _SEND_FLAGS, lg.site(1), endpoint(fd), n, None, 0, room=room)
    except Exception:
        pos, room = _FAILED, 0
    try:
        res = ORIGINALS["readv"](fd, buffers)
    except BaseException as exc:
        if pos >= 0:
            lg.end(pos, 0, 0, _code(exc))
        raise
    if pos >= 0:
        try:
            got = _joined(buffers, min(res, room))
            lg.end(pos, res, res, 0, got, len(got))
        except Exception:
            core.problem(lg, "could not record os.readv")
    elif pos == _FAILED:
        core.problem(lg, "could not record os.readv")
    return res


def sendfile(out_fd, in_fd, offset, count, *rest, **kw):
    """os.sendfile: the bytes it sent are read back from the source at that offset (capped)."""
    orig = ORIGINALS["sendfile"]
    lg = core.log()
    if lg is None:
        return orig(out_fd, in_fd, offset, count, *rest, **kw)
    try:
        start = os.lseek(in_fd, 0, os.SEEK_CUR) if offset is None else offset
    except Exception:
        start = None
    try:
        blob = {"args": {"in_fd": in_fd, "offset": offset, "count": count}, "ep2": as_json(endpoint(in_fd))}
        args = L.json_blob(blob)
        room = min(int(count), lg.cap) if start is not None else 0
        flags = L.F_FD | L.F_RES | L.F_SIZE
        pos = lg.begin(_ID["sendfile"], out_fd, flags, lg.site(1), endpoint(out_fd), count, args=args, room=room)
    except Exception:
        pos, args, room = _FAILED, b"", 0
    try:
        res = orig(out_fd, in_fd, offset, count, *rest, **kw)
    except BaseException as exc:
        if pos >= 0:
            core.end(lg, pos, len(args), 0, exc=exc, what="os.sendfile")
        raise
    if pos >= 0:
        try:
            data = os.pread(in_fd, min(res, room), start) if start is not None and room else b""
        except OSError:
            data = b""
        try:
            lg.end_blob(pos, res, res, 0, b"", len(args), 0, data, len(data))
        except Exception:
            core.problem(lg, "could not record os.sendfile")
    elif pos == _FAILED:
        core.problem(lg, "could not record os.sendfile")
    return res


def splice(src, dst, count, *rest, **kw):
    """os.splice moves bytes inside the kernel: recorded on `dst` with its size, the source as ep2."""
    orig = ORIGINALS["splice"]
    lg = core.log()
    blob = {"args": {"src": src, "count": count}, "ep2": as_json(endpoint(src)) if lg is not None else None}
    pos, alen = core.begin(lg, _ID["splice"], dst, blob, post_cap=32, flags=L.F_RES)
    try:
        res = orig(src, dst, count, *rest, **kw)
    except BaseException as exc:
        core.end(lg, pos, alen, 32, exc=exc, what="os.splice")
        raise
    core.end(lg, pos, alen, 32, res=res, post={"size": res}, what="os.splice")
    return res


# -- descriptors ----------------------------------------------------------------------------------

_POST = 160  # room for a result blob of two fds and an endpoint


def pipe():
    lg = core.log()
    pos, alen = core.begin(lg, _ID["pipe"], -1, None, _POST)
    try:
        r, w = ORIGINALS["pipe"]()
    except BaseException as exc:
        core.end(lg, pos, alen, _POST, exc=exc, what="os.pipe")
        raise
    forget(w)
    core.end(lg, pos, alen, _POST, post={"res": [r, w], "ep": as_json(learn(r, "pipe"))}, what="os.pipe")
    learn(w, "pipe")
    return r, w


def pipe2(flags, /):
    lg = core.log()
    pos, alen = core.begin(lg, _ID["pipe2"], -1, {"args": {"flags": flags}}, _POST)
    try:
        r, w = ORIGINALS["pipe2"](flags)
    except BaseException as exc:
        core.end(lg, pos, alen, _POST, exc=exc, what="os.pipe2")
        raise
    core.end(lg, pos, alen, _POST, post={"res": [r, w], "ep": as_json(learn(r, "pipe"))}, what="os.pipe2")
    learn(w, "pipe")
    return r, w


def open_(path, flags, mode=0o777, *, dir_fd=None):
    """os.open: recorded when it opens an IPC endpoint (a FIFO blocks here until its other end opens)."""
    lg = core.log()
    try:
        shown = os.fspath(path) if not isinstance(path, int) else path
    except TypeError:
        shown = None
    pos, alen = core.begin(lg, _ID["open"], -1, {"args": {"path": shown, "flags": flags}}, _POST, L.F_RES)
    try:
        fd = ORIGINALS["open"](path, flags, mode, dir_fd=dir_fd)
    except BaseException as exc:
        core.end(lg, pos, alen, _POST, exc=exc, what="os.open")
        raise
    forget(fd)
    ep = learn(fd)
    if ep is not None and L.KINDS[ep[2]] in ("file", "dir") and pos >= 0 and lg is not None:
        lg.buf[pos + L.STATE_AT] = L.PADDING  # a regular file: not IPC, the record is given up
        return fd
    core.end(lg, pos, alen, _POST, res=fd, post={"fd": fd, "ep": as_json(ep)}, what="os.open")
    return fd


def close(fd, /):
    lg = core.log()
    pos, alen = core.begin(lg, _ID["close"], fd)
    try:
        ORIGINALS["close"](fd)
    except BaseException as exc:
        core.end(lg, pos, alen, 0, exc=exc, what="os.close")
        if isinstance(exc, OSError):
            forget(fd)
        raise
    forget(fd)
    core.end(lg, pos, alen, 0, what="os.close")


def closerange(fd_low, fd_high, /):
    lg = core.log()
    pos, alen = core.begin(lg, _ID["closerange"], -1, {"args": {"low": fd_low, "high": fd_high}})
    try:
        ORIGINALS["closerange"](fd_low, fd_high)
    except BaseException as exc:
        core.end(lg, pos, alen, 0, exc=exc, what="os.closerange")
        raise
    for fd in [fd for fd in TABLE if fd_low <= fd < fd_high]:
        forget(fd)
    core.end(lg, pos, alen, 0, what="os.closerange")


def dup(fd, /):
    lg = core.log()
    pos, alen = core.begin(lg, _ID["dup"], fd, None, 0, L.F_RES)
    try:
        new = ORIGINALS["dup"](fd)
    except BaseException as exc:
        core.end(lg, pos, alen, 0, exc=exc, what="os.dup")
        raise
    copy(fd, new)
    core.end(lg, pos, alen, 0, res=new, what="os.dup")
    return new


def dup2(fd, fd2, inheritable=True):
    lg = core.log()
    pos, alen = core.begin(lg, _ID["dup2"], fd, {"args": {"fd2": fd2}}, 0, L.F_RES)
    try:
        new = ORIGINALS["dup2"](fd, fd2, inheritable)
    except BaseException as exc:
        core.end(lg, pos, alen, 0, exc=exc, what="os.dup2")
        raise
    copy(fd, new)
    core.end(lg, pos, alen, 0, res=new, what="os.dup2")
    return new


def wrappers() -> dict[str, Callable[..., Any]]:
    made: dict[str, Callable[..., Any]] = dict(
        read=read,
        write=write,
        readv=readv,
        writev=writev,
        sendfile=sendfile,
        splice=splice,
        pipe=pipe,
        pipe2=pipe2,
        open=open_,
        close=close,
        closerange=closerange,
        dup=dup,
        dup2=dup2,
    )
    return {name: fn for name, fn in made.items() if name in ORIGINALS}
