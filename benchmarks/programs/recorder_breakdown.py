"""Where the recorder's time goes for one recorded call, piece by piece (in-process micro-timings).

    python recorder_breakdown.py EVENTS_PATH NUMBER

Times each piece of what a wrapper does for a 1-byte `os.write`/`os.read` or
`send`/`recv`, with the same primitives the recorder uses, best of 5 runs of
NUMBER calls each, and the recorder's own methods where they exist (the
recorder is being optimised; rows for methods it no longer has are left
out). Prints one JSON line: a list of [group, piece, ns per call, what it is], group
"piece" for primitives and "function" for the recorder's own functions.
"""

import binascii
import json
import os
import socket
import sys
import threading
import time
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

from ipctrace.record import hooks, writer  # noqa: E402 - after the path is set


def main() -> None:
    path, number = sys.argv[1], int(sys.argv[2])
    w = writer.Writer(path)
    r, wfd = os.pipe()
    a, b = socket.socketpair()
    st = os.fstat(wfd)
    line = (
        '{"pid":21202,"ppid":21201,"tid":21202,"t0":1795451545350737789,"t1":1795451545350741504,'
        '"call":"write","fd":4,"ep":[15,35377,"pipe"],"args":{"n":1},"res":1,"size":1,"data":"eA=="}\n'
    )
    env = dict(
        os=os,
        wfd=wfd,
        r=r,
        a=a,
        b=b,
        st=st,
        w=w,
        hooks=hooks,
        writer=writer,
        line=line,
        lineb=line.encode(),
        b64=binascii.b2a_base64,
        tn=time.time_ns,
        gf=sys._getframe,
        nid=threading.get_native_id,
        fstat=os.fstat,
        oswrite=os.write,
    )
    rows = []
    group = "piece"

    def t(label: str, stmt: str, what: str) -> None:
        best = min(timeit.repeat(stmt, globals=env, number=number, repeat=5)) / number * 1e9
        rows.append([group, label, best, what])

    t("untraced os.write + os.read (1 byte, pipe)", "oswrite(wfd, b'x'); os.read(r, 1)", "the work being traced")
    t("untraced send + recv (1 byte, socketpair)", "a.send(b'x'); b.recv(1)", "the work being traced")
    t("time.time_ns() x2", "tn(); tn()", "t0 and t1 of the event")
    t(
        "sys._getframe(1) plumbing check",
        "gf(0).f_code.co_filename in hooks._PLUMBING_FILES",
        "skip subprocess's own pipes (os wrappers only)",
    )
    t("os.fstat(fd)", "fstat(wfd)", "endpoint identity (st_dev, st_ino): one syscall per event")
    t(
        "format the endpoint field",
        "',\"ep\":[%d,%d,\"%s\"]' % (st.st_dev, st.st_ino, 'pipe')",
        "three big ints into text",
    )
    t("threading.get_native_id()", "nid()", "the OS thread id (a gettid syscall)")
    if hasattr(w, "tid"):
        t("Writer.tid() (cached)", "w.tid()", "the recorder's cached thread id")
    t(
        "base64 of the 1-byte payload",
        "b64(memoryview(b'x')[:1], newline=False).decode('ascii')",
        "payload kept as base64",
    )
    t(
        "format the JSON line",
        '\'%s%d,"t0":%d,"t1":%d,"call":"%s","fd":%d%s,"args":{"n":%d},'
        '"res":%d,"size":%d,"data":"%s"}\\n\' % (\'{"pid":21202,"ppid":21201,"tid":\', 21202, '
        "1795451545350737789, 1795451545350741504, 'write', 4, ',\"ep\":[15,35377,\"pipe\"]', 1, 1, 1, 'eA==')",
        "one %-format of the whole event",
    )
    t("str.encode of the line", "line.encode()", "")
    t(
        "os.write of the line to the O_APPEND trace file",
        "oswrite(w.fd, lineb)",
        "the crash-safe part: one write syscall per event",
    )
    t("sock.family + sock.type", "a.family; a.type", "enum conversions done by socket.socket's properties")
    t("socket_kind(sock.family, sock.type)", "writer.socket_kind(a.family, a.type)", "socket events only")
    group = "function"
    if hasattr(w, "data_event"):
        t(
            "Writer.data_event() (os.read/os.write path)",
            "w.data_event('write', wfd, 1, 2, 1, 1, b'x')",
            "everything after the call returns, for os.read/os.write",
        )
    t("Writer.endpoint(fd)", "w.endpoint(wfd)", "fstat + cache + format")
    t("Writer.payload(b'x', 1)", "w.payload(b'x', 1)", "")
    t(
        "Writer.emit(...)",
        "w.emit('send', 1795451545350737789, 1795451545350741504, "
        '\',"fd":4,"ep":[15,35377,"pipe"],"args":{"n":1},"res":1,"size":1,"data":"eA=="\')',
        "thread id + format + encode + write",
    )
    if hasattr(hooks, "_sock_ep"):
        hooks._writer = w
        t("hooks._sock_ep(sock)", "hooks._sock_ep(a)", "fd + socket kind + endpoint (socket events)")
        hooks._writer = writer.NULL_WRITER
    os.close(w.fd)
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
