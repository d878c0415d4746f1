"""The hot path: wrappers of the calls that move bytes (os.read/write, send/recv, file objects' raw I/O).

Each is one Python function with the log's reservation and stores written out inline: a Python
function call costs about 60-100 ns here, a recorded call budget is about 1 µs (benchmarks/
RESULTS.md), so the wrappers are generated from two templates (a send, a receive) instead of
calling helpers. What they store is FORMAT.md's record, exactly as `ThreadLog.hot`, `sent`,
`received` and `failed` store it; tests/test_record_format.py reads both back the same way.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

from ipctrace.record import core
from ipctrace.record import layout as L
from ipctrace.record.endpoints import TABLE, endpoint
from ipctrace.record.log import _NO_EP, TLS

_SEND = """
def {name}({signature}):
    {pre}
    try:
        lg = TLS.log
    except AttributeError:
        lg = _log()
    if lg is None:
        return {call}
    try:
        fd = {fd}
        ep = TABLE.get(fd) or endpoint(fd)
        view = {data} if type({data}) is bytes else _mv({data}).cast("B")
        n = len(view)
        flags = _FLAGS
        if n > lg.cap:
            view = view[: lg.cap]
            flags |= _CAPPED
        dlen = len(view)
        if lg.GATE is not None:
            lg.GATE({call_id}, fd)
        f = _getframe(1)
        got = lg.sites.get(f.f_lasti << 48 | id(f.f_code))
        site = got[0] if got is not None else lg.new_site(f)
        if site < 0:
            pos = -1
        else:
            length = (_HEAD + dlen + 7) & ~7
            pos = lg.pos
            nxt = pos + length
            if nxt <= lg.limit:
                lg.pos = nxt  # no bytecode between reading and advancing the cursor can run a signal handler
            else:
                pos = lg._grow_reserve(length)
            if pos >= 0:
                if ep is None:
                    ep = _NO_EP
                buf = lg.buf
                _hot_pack(buf, pos, {call_id}, 1, ep[2], length, _now(), fd, flags, site, ep[0], ep[1], n, dlen)
                buf[pos + _HEAD : pos + _HEAD + dlen] = view
    except Exception:
        pos = _FAILED
    try:
        res = {call}
    except BaseException as exc:
        if pos >= 0:
            _failed(lg, pos, exc)
        raise
    if pos >= 0:
        t1 = _now()
        try:
            if lg.alive:
                _sent_pack(buf, pos + 64, t1, {size}, {size})
                buf[pos + 2] = 2
        except Exception:
            _problem(lg, "could not record {what}")
    elif pos == _FAILED:
        _problem(lg, "could not record {what}")
    return res
"""

_RECEIVE = """
def {name}({signature}):
    {pre}
    try:
        lg = TLS.log
    except AttributeError:
        lg = _log()
    if lg is None:
        return {call}
    try:
        fd = {fd}
        ep = TABLE.get(fd) or endpoint(fd)
        {prepare}
        room = n if n <= lg.cap else lg.cap
        if room < 0:
            room = 0
        if lg.GATE is not None:
            lg.GATE({call_id}, fd)
        f = _getframe(1)
        got = lg.sites.get(f.f_lasti << 48 | id(f.f_code))
        site = got[0] if got is not None else lg.new_site(f)
        if site < 0:
            pos = -1
        else:
            length = (_HEAD + room + 7) & ~7
            pos = lg.pos
            nxt = pos + length
            if nxt <= lg.limit:
                lg.pos = nxt  # no bytecode between reading and advancing the cursor can run a signal handler
            else:
                pos = lg._grow_reserve(length)
            if pos >= 0:
                if ep is None:
                    ep = _NO_EP
                buf = lg.buf
                _hot_pack(buf, pos, {call_id}, 1, ep[2], length, _now(), fd, _FLAGS, site, ep[0], ep[1], n, 0)
    except Exception:
        pos = _FAILED
    try:
        result = {call}
    except BaseException as exc:
        if pos >= 0:
            _failed(lg, pos, exc)
        raise
    if pos >= 0:
        t1 = _now()
        try:
            if lg.alive:
                {got}
                if size is None:  # a non-blocking file object with nothing to read
                    _t1_pack(buf, pos + 64, t1)
                    _err_pack(buf, pos + 88, 11)
                else:
                    kept = size if size <= room else room
                    if kept:
                        buf[pos + _HEAD : pos + _HEAD + kept] = {data}[:kept]
                    _received_pack(buf, pos + 56, kept, t1, size, size)
                buf[pos + 2] = 2
        except Exception:
            _problem(lg, "could not record {what}")
    elif pos == _FAILED:
        _problem(lg, "could not record {what}")
    return result
"""


def _log() -> Any:
    rec = core.REC
    return None if rec is None else rec.log()


def _failed(lg: Any, pos: int, exc: BaseException) -> None:
    try:
        lg.failed(pos, L.exception_code(exc))
    except Exception:
        core.problem(lg, "could not record a failed call")


_NAMESPACE: dict[str, Any] = dict(
    TLS=TLS,
    TABLE=TABLE,
    endpoint=endpoint,
    _log=_log,
    _failed=_failed,
    _problem=core.problem,
    _mv=memoryview,
    _getframe=sys._getframe,
    _now=time.time_ns,
    _NO_EP=_NO_EP,
    _HEAD=L.HEAD,
    _FLAGS=L.F_FD | L.F_ASKED | L.F_RES | L.F_SIZE,
    _CAPPED=L.F_CAPPED,
    _FAILED=core.FAILED,
    _hot_pack=L.HOT.pack_into,
    _sent_pack=L.SENT.pack_into,
    _received_pack=L.RECEIVED.pack_into,
    _t1_pack=L.T1.pack_into,
    _err_pack=L.ERR.pack_into,
)


FILENAME_PREFIX = "<ipctrace hot path: "


def _make(
    template: str, name: str, orig: Callable[..., Any], extra: dict[str, Any] | None = None, **parts: Any
) -> Callable[..., Any]:
    namespace = dict(_NAMESPACE, _orig=orig, **(extra or {}))
    parts.setdefault("pre", "pass")
    parts.setdefault("prepare", "pass")
    exec(compile(template.format(name=name, **parts), f"{FILENAME_PREFIX}{name}>", "exec"), namespace)
    return namespace[name]  # type: ignore[no-any-return]


def sender(name: str, call_id: int, orig: Callable[..., Any], what: str, **parts: Any) -> Callable[..., Any]:
    """A wrapper of a call that sends `data` through descriptor `fd`; `size` is the bytes it took.

    parts: signature, pre (a statement run first), fd, data, call (the original call), size; `extra` names more
    globals the parts use.
    """
    return _make(_SEND, name, orig, call_id=call_id, what=what, **parts)


def receiver(name: str, call_id: int, orig: Callable[..., Any], what: str, **parts: Any) -> Callable[..., Any]:
    """A wrapper of a call that receives into the process: `prepare` sets `n` (bytes asked), `got` sets `size`."""
    return _make(_RECEIVE, name, orig, call_id=call_id, what=what, **parts)
