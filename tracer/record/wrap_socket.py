"""Wrappers of `socket.socket` methods and `socket.socketpair` / `socket.fromfd`.

`send`/`recv` (and `sendall`, `recv_into`) are the hot path, written out in full like
`os.read`/`os.write`; the calls that carry addresses or ancillary data put them in the record's
blobs (FORMAT.md). `socket.makefile` needs nothing of its own: its `SocketIO` reads and writes
through `recv_into` and `send`.
"""

from __future__ import annotations

import errno as _errno
import socket

import ipctrace.record.core as core
import ipctrace.record.hot as hot
import ipctrace.record.layout as L
from ipctrace.record.endpoints import as_json, endpoint, forget, learn, socket_kind

TYPE_CHECKING = False  # typing is not imported at run time: every traced process would pay for it
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

_ID = L.CALL_IDS
_S = socket.socket
_FLAGS = L.F_FD | L.F_ASKED | L.F_RES | L.F_SIZE
_CAPPED, _PEEK = L.F_CAPPED, L.F_PEEK
_MSG_PEEK = getattr(socket, "MSG_PEEK", 2)
_FAILED = core.FAILED
_code = L.exception_code


_failed = core.failed


_mv = memoryview
_POST = 512
_UNDER_WAY = frozenset(
    {_errno.EINPROGRESS, _errno.EAGAIN, _errno.EALREADY}
)  # room for addresses (a Unix path escaped as JSON can be long)

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
_RECV, _RECV_INTO = _ID["recv"], _ID["recv_into"]
_send = ORIGINALS["send"]
_recv = ORIGINALS["recv"]
_sendall = ORIGINALS["sendall"]
_recv_into = ORIGINALS["recv_into"]


def _log() -> Any:
    rec = core.REC
    return None if rec is None else rec.log()


def _names(sock: Any, local: bool = True, peer: bool = False) -> dict[str, Any]:
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
        core.end(lg, pos, alen, _POST, exc=exc, what="socket." + call)
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
        core.end(lg, pos, alen, _POST, exc=exc, what="socket.recv")
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
        core.end(lg, pos, alen, _POST, exc=exc, what="socket.recv_into")
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
        core.end(lg, pos, alen, _POST, exc=exc, what="socket.sendto")
        raise
    _end_data(lg, pos, alen, res, res, _names(self), None, dlen, "socket.sendto")
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
        core.end(lg, pos, alen, _POST, exc=exc, what="socket.sendmsg")
        raise
    _end_data(lg, pos, alen, res, res, _names(self) if address is not None else {}, None, dlen, "socket.sendmsg")
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
    pos = lg.begin(_ID[call], fd, fl, site, endpoint(fd), n, data, dlen, args=args, post_cap=_POST, room=room)
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
            lg.end_blob(pos, res, size, 0, blob, alen, _POST, None, dlen)
        else:
            lg.end_blob(pos, res, size, 0, blob, alen, _POST, data, min(size, dlen))
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
            core.end(lg, pos, alen, _POST, exc=exc, what=name)
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
                post.update(_names(self))
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
    pos, alen = core.begin(lg, _ID["bind"], _fd(self), {"args": {"addr": core.addr(address)}}, _POST)
    try:
        ORIGINALS["bind"](self, address)
    except BaseException as exc:
        core.end(lg, pos, alen, _POST, exc=exc, what="socket.bind")
        raise
    core.end(lg, pos, alen, _POST, post=_names(self), what="socket.bind")


def listen(self, *backlog):
    lg = core.log()
    blob = {"args": {"backlog": backlog[0]}} if backlog and isinstance(backlog[0], int) else None
    pos, alen = core.begin(lg, _ID["listen"], _fd(self), blob, _POST)
    try:
        ORIGINALS["listen"](self, *backlog)
    except BaseException as exc:
        core.end(lg, pos, alen, _POST, exc=exc, what="socket.listen")
        raise
    core.end(lg, pos, alen, _POST, post=_names(self), what="socket.listen")


def accept(self):
    lg = core.log()
    pos, alen = core.begin(lg, _ID["accept"], _fd(self), None, 2 * _POST, L.F_RES)
    try:
        conn, address = ORIGINALS["accept"](self)
    except BaseException as exc:
        core.end(lg, pos, alen, 2 * _POST, exc=exc, what="socket.accept")
        raise
    fd = conn.fileno()
    forget(fd)
    ep = learn(fd, socket_kind(conn.family, conn.type))
    post = {"ep2": as_json(ep), **_names(conn, local=True, peer=True)}
    core.end(lg, pos, alen, 2 * _POST, res=fd, post=post, what="socket.accept")
    return conn, address


def _connector(name: str) -> Callable[..., Any]:
    orig = ORIGINALS[name]
    call = name

    def connect(self, address, /):
        lg = core.log()
        flags = L.F_RES if call == "connect_ex" else 0
        pos, alen = core.begin(lg, _ID[call], _fd(self), {"args": {"addr": core.addr(address)}}, 2 * _POST, flags)
        try:
            result = orig(self, address)
        except BaseException as exc:
            post = None
            if isinstance(exc, BlockingIOError):  # a non-blocking connect under way: this is its peer
                post = {**_names(self), "peer": core.addr(address)}
            core.end(lg, pos, alen, 2 * _POST, post=post, exc=exc, what="socket." + name)
            raise
        post = _names(self, local=True, peer=not result)
        if result in _UNDER_WAY:
            post["peer"] = core.addr(address)
        if result:
            post["err"] = _errno.errorcode.get(result, str(result))
        core.end(lg, pos, alen, 2 * _POST, res=result or 0, post=post, what="socket." + name)
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


hot.FLAGGED.update(
    send=lambda sock, data, flags: _flagged_send("send", _send, False, sock, data, flags),
    sendall=lambda sock, data, flags: _flagged_send("sendall", _sendall, True, sock, data, flags),
    recv=_flagged_recv,
    recv_into=_flagged_recv_into,
)


def method_wrappers() -> dict[str, Callable[..., Any]]:
    made: dict[str, Callable[..., Any]] = dict(
        __init__=__init__,
        bind=bind,
        listen=listen,
        accept=accept,
        connect=_connector("connect"),
        connect_ex=_connector("connect_ex"),
        send=hot.socket_send,
        sendall=hot.socket_sendall,
        sendto=sendto,
        sendmsg=sendmsg,
        recv=hot.socket_recv,
        recv_into=hot.socket_recv_into,
        shutdown=shutdown,
        close=close,
        setsockopt=setsockopt,
    )
    for call in ("recvfrom", "recvfrom_into", "recvmsg", "recvmsg_into"):
        if call in ORIGINALS:
            made[call] = _receiver(call)
    return {name: fn for name, fn in made.items() if name in ORIGINALS}


def module_wrappers() -> dict[str, Callable[..., Any]]:
    return {"socketpair": socketpair, "fromfd": fromfd}
