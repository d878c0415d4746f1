"""The hot path: wrappers of the calls that move bytes (os.read/write, send/recv, file objects' raw I/O).

Each is one Python function with the log's reservation and stores written out inline: a Python
function call costs about 60-100 ns here against a budget of well under 1 µs per recorded call
(benchmarks/RESULTS.md, section 1), so the wrappers are generated from two templates (a send, a
receive) into hot_generated.py instead of calling helpers. Per call they do what cannot be known
before: the caller's frame (its code object and instruction are the call site's key), the fd table
(`endpoints.TABLE`), two clock reads and three stores into the log. Everything else in a record's
head (call, kind, length, fd, flags, site, endpoint, size) is the same each time a call site runs on
one descriptor with one size, so it is packed once (heads.py), kept
per site and checked against the descriptor, its endpoint (by identity: the table makes a new tuple
when what a number names changes) and the size. What they store is FORMAT.md's record.

    python -m ipctrace.record.hotpath > tracer/record/hot_generated.py
    python -m ipctrace.record.hotpath --header > tracer/record/hotc_layout.h

The same wrappers compiled (hotc.c, the extension `_hotc`) are used when built; hot.py chooses.
"""

from __future__ import annotations

import sys

import ipctrace.record.layout as L

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
        {fd_line}
        gate = _ThreadLog.GATE
        if gate is not None:
            gate({call_id}, fd)
        if type({data}) is bytes:
            n = len({data})
            payload = {data}
        else:
            view = _mv({data}).cast("B")
            n = len(view)
            payload = view[: lg.cap].tobytes()
        ep = _table_get(fd) or endpoint(fd)
        try:
            f = _getframe(1)
        except ValueError:  # called from C with no Python frame (a flush at interpreter exit)
            f = None
            k = 0
        else:
            k = id(f.f_code) + f.f_lasti
        cache = lg.caches[{slot}]
        c = cache.get(k)
        if c is None or c[0] is not ep or c[1] != fd or c[2] != n:
            c = _send_entry(lg, cache, k, f, {call_id}, fd, ep, n)
        pack = c[3]
        if pack is None:
            pos = -1
        else:
            length = c[6]
            pos = lg.pos
            nxt = pos + length
            if nxt <= lg.limit:
                lg.pos = nxt  # no bytecode between reading and advancing the cursor can run a signal handler
            else:
                pos = lg._grow_reserve(length)
            if pos >= 0:
                buf = lg.buf
                pack(buf, pos, c[4], _now(), c[5], payload)
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
                if {size} == n:  # res and size were stored with the head: what a complete send returns
                    lg.q[(pos >> 3) + 8] = t1
                else:
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
        {fd_line}
        gate = _ThreadLog.GATE
        if gate is not None:
            gate({call_id}, fd)
        {prepare}
        ep = _table_get(fd) or endpoint(fd)
        try:
            f = _getframe(1)
        except ValueError:  # called from C with no Python frame (a flush at interpreter exit)
            f = None
            k = 0
        else:
            k = id(f.f_code) + f.f_lasti
        cache = lg.caches[{slot}]
        c = cache.get(k)
        if c is None or c[0] is not ep or c[1] != fd or c[2] != n:
            c = _receive_entry(lg, cache, k, f, {call_id}, fd, ep, n)
        if c[3] is None:
            pos = -1
        else:
            length = c[6]
            pos = lg.pos
            nxt = pos + length
            if nxt <= lg.limit:
                lg.pos = nxt  # no bytecode between reading and advancing the cursor can run a signal handler
            else:
                pos = lg._grow_reserve(length)
            if pos >= 0:
                buf = lg.buf
                _head_pack(buf, pos, c[4], _now(), c[5])
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
                {nothing}room = c[7]
                {indent}if size < room:
                {indent}    _received(size)(buf, pos + 56, size, t1, size, size, {data})
                {indent}else:
                {indent}    c[3](buf, pos + 56, room, t1, size, size, {data})
                buf[pos + 2] = 2
        except Exception:
            _problem(lg, "could not record {what}")
    elif pos == _FAILED:
        _problem(lg, "could not record {what}")
    return result
"""


_NOTHING = """if size is None:
                    _t1_pack(buf, pos + 64, t1)
                    _err_pack(buf, pos + 88, 11)  # EAGAIN
                else:
                    """

#: Every hot-path wrapper: (generated name, template, the original it wraps, call name, what, parts).
SPECS: tuple[tuple[str, str, str, str, str, dict[str, str]], ...] = (
    (
        "os_write",
        "send",
        "os.write",
        "write",
        "os.write",
        dict(signature="fd, data, /", fd="fd", data="data", call="_orig(fd, data)", size="res"),
    ),
    (
        "os_read",
        "receive",
        "os.read",
        "read",
        "os.read",
        dict(
            signature="fd, n, /",
            fd="fd",
            prepare="if fd == 0:\n            core.stdin_wait()  # a scripted program's next line is given now",
            call="_orig(fd, n)",
            got="size = len(result)",
            data="result",
        ),
    ),
    (
        "socket_send",
        "send",
        "socket.socket.send",
        "send",
        "socket.send",
        dict(
            signature="self, data, flags=0, /",
            pre='if flags:\n        return FLAGGED["send"](self, data, flags)',
            fd="self.fileno()",
            data="data",
            call="_orig(self, data)",
            size="res",
        ),
    ),
    (
        "socket_sendall",
        "send",
        "socket.socket.sendall",
        "sendall",
        "socket.sendall",
        dict(
            signature="self, data, flags=0, /",
            pre='if flags:\n        return FLAGGED["sendall"](self, data, flags)',
            fd="self.fileno()",
            data="data",
            call="_orig(self, data)",
            size="n",
        ),
    ),
    (
        "socket_recv",
        "receive",
        "socket.socket.recv",
        "recv",
        "socket.recv",
        dict(
            signature="self, n, flags=0, /",
            pre='if flags:\n        return FLAGGED["recv"](self, n, flags)',
            fd="self.fileno()",
            call="_orig(self, n)",
            got="size = len(result)",
            data="result",
        ),
    ),
    (
        "socket_recv_into",
        "receive",
        "socket.socket.recv_into",
        "recv_into",
        "socket.recv_into",
        dict(
            signature="self, buffer, nbytes=0, flags=0, /",
            pre='if flags:\n        return FLAGGED["recv_into"](self, buffer, nbytes, flags)',
            fd="self.fileno()",
            prepare='view = _mv(buffer).cast("B")\n        n = nbytes or len(view)',
            call="_orig(self, buffer, nbytes)",
            got="size = result",
            data="view[:room].tobytes()",
        ),
    ),
    (
        "file_write",
        "send",
        "io.FileIO.write",
        "write",
        "a file object's write",
        dict(signature="self, b, /", fd="self.fileno()", data="b", call="_orig(self, b)", size="(res or 0)"),
    ),
    (
        "file_readinto",
        "receive",
        "io.FileIO.readinto",
        "read",
        "a file object's read",
        dict(
            signature="self, b, /",
            fd="self.fileno()",
            prepare='view = _mv(b).cast("B")\n        n = len(view)',
            call="_orig(self, b)",
            got="size = result",
            data="view[:room].tobytes()",
            may_be_none="yes",
        ),
    ),
    (
        "file_read",
        "receive",
        "io.FileIO.read",
        "read",
        "a file object's read",
        dict(
            signature="self, asked=-1, /",
            pre="if asked is None or (type(asked) is int and asked < 0):\n        return self.readall()",
            fd="self.fileno()",
            prepare="n = asked",
            call="_orig(self, asked)",
            got="size = None if result is None else len(result)",
            data="result",
            may_be_none="yes",
        ),
    ),
)

_HEADER = '''"""The recorder's hot-path wrappers, generated by `python -m ipctrace.record.hotpath`: do not edit.

Their templates and the table of what each wraps are in hotpath.py; tests/test_record_log.py
checks that this file is what they generate. A module of its own (not code compiled at start-up)
so that every traced process loads it from the bytecode cache.
"""

# ruff: noqa
# mypy: ignore-errors
import io
import os
import socket
import sys
import time

import ipctrace.record.core as core
import ipctrace.record.layout as L
from ipctrace.record.endpoints import TABLE, endpoint
from ipctrace.record.heads import HEAD_PACK, receive_entry, received_pack, send_entry
from ipctrace.record.log import TLS, ThreadLog

#: Wrappers for the flagged forms of socket calls (registered by wrap_socket_data: they carry an argument blob).
FLAGGED = {}


def _log():
    rec = core.REC
    return None if rec is None else rec.log()


_failed = core.failed


_problem = core.problem
_table_get = TABLE.get  # TABLE is never rebound
_mv = memoryview
_getframe = sys._getframe
_now = time.time_ns
_FAILED = core.FAILED
_ThreadLog = ThreadLog  # its GATE: the explorer's hook (gate.py), None when not exploring
_head_pack = HEAD_PACK
_send_entry = send_entry
_receive_entry = receive_entry
_received = received_pack
_sent_pack = L.SENT.pack_into
_t1_pack = L.T1.pack_into
_err_pack = L.ERR.pack_into
'''


def generate() -> str:
    """The source of hot_generated.py."""
    from ipctrace.record.heads import HOT_WRAPPERS

    assert len(SPECS) == HOT_WRAPPERS, "heads.HOT_WRAPPERS: one cache of heads per hot wrapper"
    out = [_HEADER]
    for slot, (name, kind, orig, call, what, parts) in enumerate(SPECS):
        template = _SEND if kind == "send" else _RECEIVE
        parts = {"pre": "pass", "prepare": "pass", **parts}
        fd = parts.pop("fd")
        parts["fd_line"] = "pass" if fd == "fd" else f"fd = {fd}"
        if parts.pop("may_be_none", ""):  # a file object's read: None when non-blocking with nothing to read
            parts["nothing"] = _NOTHING
            parts["indent"] = "    "
        else:
            parts["nothing"] = parts["indent"] = ""
        code = template.format(name=name, call_id=f"{_call_id(call)}", what=what, slot=slot, **parts)
        code = code.strip("\n").replace("_orig(", f"_orig_{name}(")
        out.append(f"\n\n_orig_{name} = {orig}\n\n\n{code}\n")
    return "".join(out)


def layout_header() -> str:
    """The source of hotc_layout.h: the offsets the compiled wrappers (hotc.c) store at, from layout.py."""
    import errno

    at = {name: L.offset_of(name) for name in ("t0", "fd", "data_len", "t1", "res", "size", "err")}
    lines = [
        "/* The record's offsets for hotc.c, generated by `python -m ipctrace.record.hotpath --header` from",
        " * layout.py (FORMAT.md): do not edit. tests/test_record_log.py checks it is what layout.py gives. */",
        "#pragma once",
        f"#define HOT_HEAD {L.HEAD}",
        f"#define HOT_STATE_AT {L.offset_of('state')}",
        f"#define HOT_DONE {L.DONE}",
        f"#define HOT_T0_AT {at['t0']}",
        f"#define HOT_REST_AT {at['fd']} /* the cached head's second part: fd ... data_len (and a send's end) */",
        f"#define HOT_DATA_LEN_AT {at['data_len']}",
        f"#define HOT_T1_AT {at['t1']}",
        f"#define HOT_RES_AT {at['res']}",
        f"#define HOT_SIZE_AT {at['size']}",
        f"#define HOT_ERR_AT {at['err']}",
        f"#define HOT_EAGAIN {errno.EAGAIN}",
    ]
    return "\n".join(lines) + "\n"


def _call_id(call: str) -> int:
    return L.CALL_IDS[call]


if __name__ == "__main__":
    sys.stdout.write(layout_header() if sys.argv[1:] == ["--header"] else generate())
