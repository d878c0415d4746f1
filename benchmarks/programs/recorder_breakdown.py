"""Where the recorder's time goes for one recorded call, piece by piece (in-process micro-timings).

    python recorder_breakdown.py LOG_FOLDER NUMBER

Times each piece of what a hot-path wrapper does for a 1-byte `os.write`/`os.read` or
`send`/`recv` (record/hotpath.py), with the same primitives, best of 5 runs of NUMBER calls each,
then the whole wrappers with the recorder installed in this process (before any audit hook is
added: one makes every `sys._getframe` dearer): the ones this process uses, the compiled ones
(record/hotc.c, when built) or, with IPCTRACE_PURE_PYTHON=1, the generated Python ones. Each kind
is measured in a process of its own, as it runs for a user: a log's type goes with the wrappers
(log.py: C fields for the compiled ones, slots for the Python ones). Prints one JSON line: a list
of [group, piece, ns per call, what it is], group "piece" for primitives, "before" for what the hot
path no longer does, and "function" for the recorder's own wrappers.
"""

import json
import os
import socket
import sys
import time
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

import ipctrace.record.hot as chosen  # noqa: E402 - after the path is set
import ipctrace.record.hot_generated as hot  # noqa: E402
from ipctrace.record import heads, layout, log, start_recording, stop_recording  # noqa: E402


def main() -> None:
    folder, number = sys.argv[1], int(sys.argv[2])
    r, wfd = os.pipe()
    a, b = socket.socketpair()
    lg = log.ThreadLog(folder, os.getpid(), os.getppid(), 1, 4096)
    cache: dict = {}
    frame = sys._getframe(0)
    key = id(frame.f_code) + frame.f_lasti
    send = heads.send_entry(lg, cache, key, frame, layout.CALL_IDS["write"], wfd, (15, 123456, 1), 1)
    receive = heads.receive_entry(lg, {}, key, frame, layout.CALL_IDS["read"], r, (15, 123456, 1), 1)
    orig_write, orig_read = hot._orig_os_write, hot._orig_os_read
    orig_send, orig_recv = hot._orig_socket_send, hot._orig_socket_recv

    def py_write(fd, data, /):
        return orig_write(fd, data)

    def py_read(fd, n, /):
        return orig_read(fd, n)

    def py_send(sock, data, /):
        return orig_send(sock, data)

    def py_recv(sock, n, /):
        return orig_recv(sock, n)

    env = dict(
        os=os,
        wfd=wfd,
        r=r,
        a=a,
        b=b,
        oswrite=os.write,
        osread=os.read,
        py_write=py_write,
        py_read=py_read,
        py_send=py_send,
        py_recv=py_recv,
        tn=hot._now,
        gf=sys._getframe,
        fstat=os.fstat,
        tget={wfd: (15, 123456, 1)}.get,
        cache=cache,
        key=key,
        ep=(15, 123456, 1),
        TL=log.ThreadLog,
        lg=lg,
        buf=lg.buf,
        q=lg.q,
        send=send,
        receive=receive,
        head=heads.HEAD_PACK,
        old_head=layout.HOT.pack_into,
        sent=layout.SENT.pack_into,
    )
    rows = []
    group = "piece"

    def t(label: str, stmt: str, what: str) -> None:
        best = min(timeit.repeat(stmt, globals=env, number=number, repeat=5)) / number * 1e9
        rows.append([group, label, best, what])

    t("untraced os.write + os.read (1 byte, pipe)", "oswrite(wfd, b'x'); osread(r, 1)", "the work being traced")
    t("untraced send + recv (1 byte, socketpair)", "a.send(b'x'); b.recv(1)", "the work being traced")
    t(
        "one Python function around each of os.write and os.read",
        "py_write(wfd, b'x'); py_read(r, 1)",
        "the floor of any recorder written in Python: a frame per call (two calls)",
    )
    t(
        "one Python function around each of send and recv",
        "py_send(a, b'x'); py_recv(b, 1)",
        "the same floor for the socket methods (two calls)",
    )
    import _thread

    tls = _thread._local()
    tls.log = lg
    env["tls"] = tls
    t("this thread's log (thread-local)", "tls.log", "per-thread log files: no lock, no shared cursor")
    t("the explorer's gate, not exploring", "TL.GATE is not None", "a class attribute read (gate.py sets it)")
    t("fd table lookup", "tget(wfd)", "endpoint identity from the recorder's own table (no syscall)")
    t("socket.fileno()", "a.fileno()", "a socket method's descriptor")
    t(
        "call site key: sys._getframe(1), code and offset",
        "f = gf(0); id(f.f_code) + f.f_lasti",
        "the caller's code object and instruction: unique while the code is kept alive",
    )
    t(
        "the site's record head: dict get + 3 checks",
        "c = cache.get(key); c is None or c[0] is not ep or c[1] != wfd or c[2] != 1",
        "made once per call site, descriptor, endpoint and size (heads.send_entry)",
    )
    t(
        "reserve the record (read and advance the cursor)",
        "pos = lg.pos; nxt = pos + 104\nif nxt <= lg.limit: lg.pos = 4096",
        "no bytecode between reading and advancing it",
    )
    t(
        "a send's head and payload (one struct call, t0)",
        "send[3](buf, 4096, send[4], tn(), send[5], b'x')",
        "the cached head's two parts around t0, the bytes sent after it",
    )
    t(
        "a send's end (t1, then the state byte)",
        "q[(4096 >> 3) + 8] = tn(); buf[4098] = 2",
        "res and size went with the head: a complete send stores t1 alone",
    )
    t(
        "a receive's head (one struct call, t0)",
        "head(buf, 8192, receive[4], tn(), receive[5])",
        "as a send's, without payload",
    )
    t(
        "a receive's end (end fields and payload, then the state byte)",
        "receive[3](buf, 8192 + 56, 1, tn(), 1, 1, b'x'); buf[8194] = 2",
        "data_len, t1, res, size and the bytes received in one struct call",
    )
    group = "before"
    t("os.fstat(fd)", "fstat(wfd)", "one endpoint lookup per event before the fd table")
    t(
        "the head packed field by field (13 fields) + payload slice",
        "old_head(buf, 4096, 17, 1, 1, 104, tn(), 4, 15, 1, 15, 123456, 1, 1); buf[4192:4193] = b'x'",
        "what each send's begin cost before the cached head",
    )
    t(
        "a send's end as t1, res, size + state byte",
        "sent(buf, 4160, tn(), 1, 1); buf[4098] = 2",
        "what each send's end cost before res and size went with the head",
    )
    t(
        "call site key as lasti << 48 | id(code)",
        "f = gf(0); f.f_lasti << 48 | id(f.f_code)",
        "the key before (a shift into a three-digit int)",
    )
    group = "function"
    start_recording(folder)  # whole wrappers: before the audit hook below
    impls = [("compiled", _installed()) if chosen.COMPILED else ("pure-Python", _python_wrappers())]
    for name, fns in impls:
        _put(fns)
        t(f"traced os.write + os.read, {name} wrappers", "os.write(wfd, b'x'); os.read(r, 1)", "two events")
    for name, fns in impls:
        _put(fns)
        t(f"traced send + recv, {name} wrappers", "a.send(b'x'); b.recv(1)", "two events")
    interleaved = _interleaved(wfd, r, a, b, max(1, number // 10), dict(impls))
    _put(impls[0][1])
    stop_recording()
    group = "before"
    sys.addaudithook(lambda event, args: None)
    t(
        "call site with any audit hook installed",
        "f = gf(0); id(f.f_code) + f.f_lasti",
        "why the recorder has no audit hook: sys._getframe raises an audit event into every hook",
    )
    print(json.dumps({"pieces": rows, "interleaved": interleaved}))


def _installed() -> tuple:
    return (os.write, os.read, socket.socket.send, socket.socket.recv)


def _python_wrappers() -> tuple:
    return (hot.os_write, hot.os_read, hot.socket_send, hot.socket_recv)


def _put(fns: tuple) -> None:
    os.write, os.read, socket.socket.send, socket.socket.recv = fns


def _interleaved(
    wfd: int, r: int, a: socket.socket, b: socket.socket, n: int, impls: dict[str, tuple], repeats: int = 21
) -> dict:
    """The loops of ipc_loop.py in this process, untraced and traced in turn, in CPU time (this thread's).

    The recorder stays installed; each turn puts the originals back in `os` and `socket.socket`, or one
    implementation's wrappers (`impls`: compiled, pure-Python). CPU time leaves out the moments another
    process had the CPU, so on a loaded machine this is the steadier figure; the lowest turn of each is the
    cost with the least interference.
    """
    plain = (hot._orig_os_write, hot._orig_os_read, hot._orig_socket_send, hot._orig_socket_recv)

    def pipe_loop() -> None:
        for _ in range(n):
            os.write(wfd, b"x")
            os.read(r, 1)

    def socket_loop() -> None:
        for _ in range(n):
            a.send(b"x")
            b.recv(1)

    clock = time.thread_time_ns
    got: dict = {"n": n, "repeats": repeats, "impls": list(impls)}
    modes = (("untraced", plain), *impls.items())
    for kind, loop in (("pipe", pipe_loop), ("socketpair", socket_loop)):
        runs: dict[str, list[float]] = {mode: [] for mode, _ in modes}
        for _ in range(repeats):
            for mode, fns in modes:
                _put(fns)
                t0 = clock()
                loop()
                runs[mode].append((clock() - t0) / n)
        got[kind] = runs
    return got


if __name__ == "__main__":
    main()
