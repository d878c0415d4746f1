"""Wrappers of `socket.socket`'s descriptor calls and `socket.socketpair` / `socket.fromfd`.

The calls that make, name, connect and end a socket's descriptor live here, with the originals every
socket wrapper calls; the calls that move bytes are in `wrap_socket_data`.
"""

from __future__ import annotations

import errno as _errno
import socket

import ipctrace.record.core as core
import ipctrace.record.layout as L
from ipctrace.record.endpoints import as_json, forget, learn, socket_kind

TYPE_CHECKING = False  # typing is not imported at run time: every traced process would pay for it
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

_ID = L.CALL_IDS
_S = socket.socket
#: Bytes kept after a record for what a call learns on return (addresses: a Unix path escaped as JSON can be long).
POST_ROOM = 512
_UNDER_WAY = frozenset({_errno.EINPROGRESS, _errno.EAGAIN, _errno.EALREADY})

_METHODS = (
    "__init__",
    "bind",
    "listen",
    "accept",
    "connect",
    "connect_ex",
    "send",
    "sendall",
    "sendto",
    "sendmsg",
    "recv",
    "recv_into",
    "recvfrom",
    "recvfrom_into",
    "recvmsg",
    "recvmsg_into",
    "shutdown",
    "close",
    "setsockopt",
)
ORIGINALS: dict[str, Callable[..., Any]] = {name: getattr(_S, name) for name in _METHODS if hasattr(_S, name)}
_orig_socketpair = socket.socketpair
_orig_fromfd = socket.fromfd


def names(sock: Any, local: bool = True, peer: bool = False) -> dict[str, Any]:
    """The socket's own address and its peer's, as recorded; left out when the socket has none."""
    out: dict[str, Any] = {}
    if local:
        try:
            out["local"] = core.addr(sock.getsockname())
        except OSError:
            pass
    if peer:
        try:
            out["peer"] = core.addr(sock.getpeername())
        except OSError:
            pass
    return out


def _fd(sock: Any) -> int:
    try:
        return sock.fileno()
    except Exception:
        return -1


# -- descriptors and connections ------------------------------------------------------------------


def __init__(self, family=-1, type=-1, proto=-1, fileno=None):
    init = ORIGINALS["__init__"]
    if fileno is not None:  # accept(), socketpair(), fromfd() wrap fds they record themselves
        init(self, family, type, proto, fileno)
        forget(_fd(self))
        return
    lg = core.log()
    shown = {
        "args": {
            "family": int(family) if isinstance(family, int) else None,
            "type": int(type) if isinstance(type, int) else None,
        }
    }
    pos, alen = core.begin(lg, _ID["socket"], -1, shown, 256, L.F_RES)
    try:
        init(self, family, type, proto, fileno)
    except BaseException as exc:
        core.end(lg, pos, alen, 256, exc=exc, what="socket.socket")
        raise
    fd = self.fileno()
    forget(fd)
    ep = learn(fd, socket_kind(self.family, self.type))
    post = {
        "args": {"family": int(self.family), "type": int(self.type), "proto": int(self.proto)},
        "fd": fd,
        "ep": as_json(ep),
    }
    core.end(lg, pos, alen, 256, res=fd, post=post, what="socket.socket")


def bind(self, address, /):
    lg = core.log()
    pos, alen = core.begin(lg, _ID["bind"], _fd(self), {"args": {"addr": core.addr(address)}}, POST_ROOM)
    try:
        ORIGINALS["bind"](self, address)
    except BaseException as exc:
        core.end(lg, pos, alen, POST_ROOM, exc=exc, what="socket.bind")
        raise
    core.end(lg, pos, alen, POST_ROOM, post=names(self), what="socket.bind")


def listen(self, *backlog):
    lg = core.log()
    blob = {"args": {"backlog": backlog[0]}} if backlog and isinstance(backlog[0], int) else None
    pos, alen = core.begin(lg, _ID["listen"], _fd(self), blob, POST_ROOM)
    try:
        ORIGINALS["listen"](self, *backlog)
    except BaseException as exc:
        core.end(lg, pos, alen, POST_ROOM, exc=exc, what="socket.listen")
        raise
    core.end(lg, pos, alen, POST_ROOM, post=names(self), what="socket.listen")


def accept(self):
    lg = core.log()
    pos, alen = core.begin(lg, _ID["accept"], _fd(self), None, 2 * POST_ROOM, L.F_RES)
    try:
        conn, address = ORIGINALS["accept"](self)
    except BaseException as exc:
        core.end(lg, pos, alen, 2 * POST_ROOM, exc=exc, what="socket.accept")
        raise
    fd = conn.fileno()
    forget(fd)
    ep = learn(fd, socket_kind(conn.family, conn.type))
    post = {"ep2": as_json(ep), **names(conn, local=True, peer=True)}
    core.end(lg, pos, alen, 2 * POST_ROOM, res=fd, post=post, what="socket.accept")
    return conn, address


def _connector(name: str) -> Callable[..., Any]:
    orig = ORIGINALS[name]
    call = name

    def connect(self, address, /):
        lg = core.log()
        flags = L.F_RES if call == "connect_ex" else 0
        pos, alen = core.begin(lg, _ID[call], _fd(self), {"args": {"addr": core.addr(address)}}, 2 * POST_ROOM, flags)
        try:
            result = orig(self, address)
        except BaseException as exc:
            post = None
            if isinstance(exc, BlockingIOError):  # a non-blocking connect under way: this is its peer
                post = {**names(self), "peer": core.addr(address)}
            core.end(lg, pos, alen, 2 * POST_ROOM, post=post, exc=exc, what="socket." + name)
            raise
        post = names(self, local=True, peer=not result)
        if result in _UNDER_WAY:
            post["peer"] = core.addr(address)
        if result:
            post["err"] = _errno.errorcode.get(result, str(result))
        core.end(lg, pos, alen, 2 * POST_ROOM, res=result or 0, post=post, what="socket." + name)
        return result

    return connect


def shutdown(self, how, /):
    lg = core.log()
    pos, alen = core.begin(lg, _ID["shutdown"], _fd(self), {"args": {"how": how if isinstance(how, int) else None}})
    try:
        ORIGINALS["shutdown"](self, how)
    except BaseException as exc:
        core.end(lg, pos, alen, 0, exc=exc, what="socket.shutdown")
        raise
    core.end(lg, pos, alen, 0, what="socket.shutdown")


def close(self):
    fd = _fd(self)
    if fd < 0 or getattr(self, "_io_refs", 0) > 0:
        return ORIGINALS["close"](self)
    lg = core.log()
    pos, alen = core.begin(lg, _ID["close"], fd)
    try:
        result = ORIGINALS["close"](self)
    except BaseException as exc:
        core.end(lg, pos, alen, 0, exc=exc, what="socket.close")
        raise
    forget(fd)
    core.end(lg, pos, alen, 0, what="socket.close")
    return result


def setsockopt(self, level, optname, value, *rest):
    lg = core.log()
    shown = value if isinstance(value, int) else None
    blob = {"args": {"level": level, "opt": optname, "value": shown}}
    pos, alen = core.begin(lg, _ID["setsockopt"], _fd(self), blob)
    try:
        result = ORIGINALS["setsockopt"](self, level, optname, value, *rest)
    except BaseException as exc:
        core.end(lg, pos, alen, 0, exc=exc, what="socket.setsockopt")
        raise
    core.end(lg, pos, alen, 0, what="socket.setsockopt")
    return result


def socketpair(*args, **kwargs):
    lg = core.log()
    pos, alen = core.begin(lg, _ID["socketpair"], -1, None, 256)
    try:
        a, b = _orig_socketpair(*args, **kwargs)
    except BaseException as exc:
        core.end(lg, pos, alen, 256, exc=exc, what="socket.socketpair")
        raise
    kind = socket_kind(a.family, a.type)
    fa, fb = a.fileno(), b.fileno()
    forget(fa)
    forget(fb)
    ep_a, ep_b = learn(fa, kind), learn(fb, kind)
    post = {"res": [fa, fb], "fd": fa, "ep": as_json(ep_a), "ep2": as_json(ep_b)}
    core.end(lg, pos, alen, 256, post=post, what="socket.socketpair")
    return a, b


def fromfd(fd, family, type, proto=0):
    lg = core.log()
    pos, alen = core.begin(lg, _ID["fromfd"], -1, {"args": {"fd": fd if isinstance(fd, int) else None}}, 256, L.F_RES)
    try:
        sock = _orig_fromfd(fd, family, type, proto)
    except BaseException as exc:
        core.end(lg, pos, alen, 256, exc=exc, what="socket.fromfd")
        raise
    new = sock.fileno()
    forget(new)
    ep = learn(new, socket_kind(sock.family, sock.type))
    core.end(lg, pos, alen, 256, res=new, post={"fd": new, "ep": as_json(ep)}, what="socket.fromfd")
    return sock


def method_wrappers() -> dict[str, Callable[..., Any]]:
    made: dict[str, Callable[..., Any]] = dict(
        __init__=__init__,
        bind=bind,
        listen=listen,
        accept=accept,
        connect=_connector("connect"),
        connect_ex=_connector("connect_ex"),
        shutdown=shutdown,
        close=close,
        setsockopt=setsockopt,
    )
    return {name: fn for name, fn in made.items() if name in ORIGINALS}


def module_wrappers() -> dict[str, Callable[..., Any]]:
    return {"socketpair": socketpair, "fromfd": fromfd}
