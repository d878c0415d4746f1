"""Wrappers of the `socket.socket` calls that move bytes.

`send`/`recv` (and `sendall`, `recv_into`) are the hot path, written out in full like
`os.read`/`os.write`; the calls that carry addresses or ancillary data put them in the record's
blobs (FORMAT.md). `socket.makefile` needs nothing of its own: its `SocketIO` reads and writes
through `recv_into` and `send`.
"""

from __future__ import annotations

import socket

import ipctrace.record.core as core
import ipctrace.record.hot as hot
import ipctrace.record.layout as L
from ipctrace.record.endpoints import as_json, endpoint, forget, learn
from ipctrace.record.wrap_socket import ORIGINALS, POST_ROOM, names

TYPE_CHECKING = False  # typing is not imported at run time: every traced process would pay for it
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

_ID = L.CALL_IDS
_FLAGS = L.F_FD | L.F_ASKED | L.F_RES | L.F_SIZE
_CAPPED, _PEEK = L.F_CAPPED, L.F_PEEK
_MSG_PEEK = getattr(socket, "MSG_PEEK", 2)
_FAILED = core.FAILED
_mv = memoryview
_send = ORIGINALS["send"]
_recv = ORIGINALS["recv"]
_sendall = ORIGINALS["sendall"]
_recv_into = ORIGINALS["recv_into"]


# -- the hot path ---------------------------------------------------------------------------------


def _flagged_send(call: str, orig: Callable[..., Any], whole: bool, sock: Any, data: Any, flags: Any) -> Any:
    """A send with flags (MSG_DONTWAIT, MSG_NOSIGNAL, ...): the flags go in the argument blob."""
    lg = core.log()
    try:
        view = _mv(data).cast("B")
        pos, alen, dlen = _begin_data(lg, call, sock, len(view), {"args": {"flags": flags}}, view, depth=3)
    except Exception:
        pos, alen, dlen = _FAILED, 0, 0
    try:
        res = orig(sock, data, flags)
    except BaseException as exc:
        core.end(lg, pos, alen, POST_ROOM, exc=exc, what="socket." + call)
        raise
    size = len(view) if whole else res
    _end_data(lg, pos, alen, size, size, {}, None, dlen, "socket." + call)
    return res


def _flagged_recv(sock: Any, n: Any, flags: Any) -> Any:
    """A recv with flags (MSG_PEEK: the bytes are looked at, not consumed)."""
    lg = core.log()
    try:
        pos, alen, room = _begin_data(lg, "recv", sock, int(n), {"args": {"flags": flags}}, depth=3)
    except Exception:
        pos, alen, room = _FAILED, 0, 0
    try:
        data = _recv(sock, n, flags)
    except BaseException as exc:
        core.end(lg, pos, alen, POST_ROOM, exc=exc, what="socket.recv")
        raise
    _end_data(lg, pos, alen, len(data), len(data), {}, data, room, "socket.recv")
    return data


def _flagged_recv_into(sock: Any, buffer: Any, nbytes: Any, flags: Any) -> Any:
    lg = core.log()
    try:
        view = _mv(buffer).cast("B")
        n = nbytes or len(view)
        pos, alen, room = _begin_data(lg, "recv_into", sock, int(n), {"args": {"flags": flags}}, depth=3)
    except Exception:
        pos, alen, room, view = _FAILED, 0, 0, None
    try:
        size = _recv_into(sock, buffer, nbytes, flags)
    except BaseException as exc:
        core.end(lg, pos, alen, POST_ROOM, exc=exc, what="socket.recv_into")
        raise
    _end_data(lg, pos, alen, size, size, {}, view, room, "socket.recv_into")
    return size


# -- addresses and ancillary data -----------------------------------------------------------------


def _passed_fds(ancdata: Any) -> list[int]:
    import array

    fds: list[int] = []
    for level, kind, blob in ancdata or ():
        if level == socket.SOL_SOCKET and kind == getattr(socket, "SCM_RIGHTS", 1):
            got = array.array("i")
            got.frombytes(bytes(blob)[: len(blob) - len(blob) % got.itemsize])
            fds += list(got)
    return fds


def sendto(self, data, *rest):
    lg = core.log()
    address = rest[-1] if rest else None
    flags = rest[0] if len(rest) == 2 else 0
    try:
        view = _mv(data).cast("B")
        n = len(view)
        blob: dict[str, Any] = {"peer": core.addr(address)}
        if flags:
            blob["args"] = {"flags": flags}
        pos, alen, dlen = _begin_data(lg, "sendto", self, n, blob, view)
    except Exception:
        pos, alen, dlen = _FAILED, 0, 0
    try:
        res = ORIGINALS["sendto"](self, data, *rest)
    except BaseException as exc:
        core.end(lg, pos, alen, POST_ROOM, exc=exc, what="socket.sendto")
        raise
    _end_data(lg, pos, alen, res, res, names(self), None, dlen, "socket.sendto")
    return res


def sendmsg(self, buffers, ancdata=(), flags=0, address=None, /):
    lg = core.log()
    try:
        buffers = list(buffers)
        ancdata = list(ancdata)
        data = b"".join(_mv(b).cast("B") for b in buffers)
        blob: dict[str, Any] = {}
        if address is not None:
            blob["peer"] = core.addr(address)
        args: dict[str, Any] = {}
        if flags:
            args["flags"] = flags
        passed = _passed_fds(ancdata)
        if passed:
            args["fds"] = passed
            args["passed"] = [as_json(endpoint(fd)) for fd in passed]
        if args:
            blob["args"] = args
        pos, alen, dlen = _begin_data(lg, "sendmsg", self, len(data), blob, data)
    except Exception:
        pos, alen, dlen = _FAILED, 0, 0
    try:
        res = ORIGINALS["sendmsg"](self, buffers, ancdata, flags, *(() if address is None else (address,)))
    except BaseException as exc:
        core.end(lg, pos, alen, POST_ROOM, exc=exc, what="socket.sendmsg")
        raise
    _end_data(lg, pos, alen, res, res, names(self) if address is not None else {}, None, dlen, "socket.sendmsg")
    return res


def _begin_data(
    lg: Any, call: str, sock: Any, n: int, blob: dict[str, Any], data: Any = None, depth: int = 2
) -> tuple[int, int, int]:
    """Begin a data call with blobs: (position, argument blob length, payload bytes stored or room kept)."""
    if lg is None:
        return -1, 0, 0
    fd = sock.fileno()
    site = lg.site(depth)
    if site < 0:
        return -1, 0, 0
    args = L.json_blob(blob) if blob else b""
    cap = lg.cap
    dlen = min(n, cap) if data is not None else 0
    fl = _FLAGS | (_CAPPED if n > cap else 0)
    flags = (blob.get("args") or {}).get("flags", 0)
    if flags & _MSG_PEEK:
        fl |= _PEEK
    room = 0 if data is not None else min(n, cap)
    pos = lg.begin(_ID[call], fd, fl, site, endpoint(fd), n, data, dlen, args=args, post_cap=POST_ROOM, room=room)
    return pos, len(args), dlen if data is not None else room


def _end_data(
    lg: Any, pos: int, alen: int, res: int, size: int, post: dict[str, Any], data: Any, dlen: int, what: str
) -> None:
    if lg is None or pos == -1:
        return
    if pos == _FAILED:
        core.problem(lg, "could not record " + what)
        return
    try:
        blob = L.json_blob(post) if post else b""
        if data is None:
            lg.end_blob(pos, res, size, 0, blob, alen, POST_ROOM, None, dlen)
        else:
            lg.end_blob(pos, res, size, 0, blob, alen, POST_ROOM, data, min(size, dlen))
    except Exception:
        core.problem(lg, "could not record " + what)


def _receiver(call: str) -> Callable[..., Any]:
    orig = ORIGINALS[call]
    name = "socket." + call

    def receive(self, arg, *rest):
        lg = core.log()
        try:
            flags = 0
            if call in ("recvfrom", "recvfrom_into"):
                flags = rest[-1] if call == "recvfrom" and rest else (rest[1] if len(rest) > 1 else 0)
                n = arg if call == "recvfrom" else (rest[0] if rest and rest[0] else _mv(arg).nbytes)
            elif call == "recvmsg":
                flags = rest[1] if len(rest) > 1 else 0
                n = arg
            else:  # recvmsg_into
                arg = list(arg)
                flags = rest[1] if len(rest) > 1 else 0
                n = sum(_mv(b).nbytes for b in arg)
            blob = {"args": {"flags": flags}} if flags else {}
            pos, alen, room = _begin_data(lg, call, self, int(n), blob)
        except Exception:
            pos, alen, room = _FAILED, 0, 0
        try:
            result = orig(self, arg, *rest)
        except BaseException as exc:
            core.end(lg, pos, alen, POST_ROOM, exc=exc, what=name)
            raise
        if pos == -1 or lg is None:
            return result
        try:
            post: dict[str, Any] = {}
            if call == "recvfrom":
                data, address = result
                size = len(data)
            elif call == "recvfrom_into":
                size, address = result
                data = _mv(arg).cast("B")
            elif call == "recvmsg":
                data, anc, _mflags, address = result
                size = len(data)
                _received_fds(anc, post)
            else:
                size, anc, _mflags, address = result
                data = b"".join(_mv(b).cast("B") for b in arg)
                _received_fds(anc, post)
            if address is not None:
                post["peer"] = core.addr(address)
                post.update(names(self))
        except Exception:
            core.problem(lg, "could not record " + name)
            return result
        _end_data(lg, pos, alen, size, size, post, data, room, name)
        return result

    return receive


def _received_fds(anc: Any, post: dict[str, Any]) -> None:
    fds = _passed_fds(anc)
    if fds:
        for fd in fds:
            forget(fd)
        post["args"] = {"fds": fds, "passed": [as_json(learn(fd)) for fd in fds]}


hot.FLAGGED.update(
    send=lambda sock, data, flags: _flagged_send("send", _send, False, sock, data, flags),
    sendall=lambda sock, data, flags: _flagged_send("sendall", _sendall, True, sock, data, flags),
    recv=_flagged_recv,
    recv_into=_flagged_recv_into,
)


def method_wrappers() -> dict[str, Callable[..., Any]]:
    made: dict[str, Callable[..., Any]] = dict(
        send=hot.socket_send,
        sendall=hot.socket_sendall,
        sendto=sendto,
        sendmsg=sendmsg,
        recv=hot.socket_recv,
        recv_into=hot.socket_recv_into,
    )
    for call in ("recvfrom", "recvfrom_into", "recvmsg", "recvmsg_into"):
        if call in ORIGINALS:
            made[call] = _receiver(call)
    return {name: fn for name, fn in made.items() if name in ORIGINALS}
