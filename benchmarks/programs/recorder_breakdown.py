"""Where the recorder's time goes for one recorded call, piece by piece (in-process micro-timings).

    python recorder_breakdown.py LOG_FOLDER NUMBER

Times each piece of what a hot-path wrapper does for a 1-byte `os.write`/`os.read` or
`send`/`recv` (record/hotpath.py), with the same primitives, best of 5 runs of NUMBER calls each,
then the whole wrappers with the recorder installed in this process. Prints one JSON line: a list
of [group, piece, ns per call, what it is], group "piece" for primitives and "function" for the
recorder's own functions.
"""

import json
import os
import socket
import sys
import time
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

from ipctrace.record import layout, start_recording, stop_recording  # noqa: E402 - after the path is set
from ipctrace.record.log import ThreadLog  # noqa: E402


def main() -> None:
    folder, number = sys.argv[1], int(sys.argv[2])
    r, wfd = os.pipe()
    a, b = socket.socketpair()
    log = ThreadLog(folder, os.getpid(), os.getppid(), 1, 4096)
    buf = log.buf
    env = dict(
        os=os,
        wfd=wfd,
        r=r,
        a=a,
        b=b,
        oswrite=os.write,
        osread=os.read,
        tn=time.time_ns,
        gf=sys._getframe,
        fstat=os.fstat,
        table={wfd: (15, 123456, 1)},
        sites={},
        buf=buf,
        hot=layout.HOT.pack_into,
        sent=layout.SENT.pack_into,
        log=log,
    )
    rows = []
    group = "piece"

    def t(label: str, stmt: str, what: str) -> None:
        best = min(timeit.repeat(stmt, globals=env, number=number, repeat=5)) / number * 1e9
        rows.append([group, label, best, what])

    t("untraced os.write + os.read (1 byte, pipe)", "oswrite(wfd, b'x'); osread(r, 1)", "the work being traced")
    t("untraced send + recv (1 byte, socketpair)", "a.send(b'x'); b.recv(1)", "the work being traced")
    t("time.time_ns() x2", "tn(); tn()", "t0 and t1 of the event")
    t("os.fstat(fd)", "fstat(wfd)", "what one endpoint lookup cost per event before the fd table")
    t("fd table lookup", "table.get(wfd)", "endpoint identity from the recorder's own table (no syscall)")
    t(
        "call site: sys._getframe(1) + key + dict",
        "f = gf(0); sites.get(f.f_lasti << 48 | id(f.f_code))",
        "file, line, function of the caller, numbered per log",
    )
    t(
        "head of the record (struct.pack_into, 13 fields)",
        "hot(buf, 4096, 17, 1, 1, 104, 1795451545350737789, 4, 15, 1, 15, 123456, 1, 1)",
        "written before the call, into the MAP_SHARED log",
    )
    t("payload copy (slice assignment)", "buf[4192:4193] = b'x'", "the bytes of a send, before the call")
    t(
        "end of the record (t1, res, size + state byte)",
        "sent(buf, 4160, 1795451545350741504, 1, 1); buf[4098] = 2",
        "written after the call returns",
    )
    import _thread

    tls = _thread._local()
    tls.log = log
    env["tls"] = tls
    t("this thread's log (thread-local)", "tls.log", "per-thread log files: no lock, no shared cursor")
    sys.addaudithook(lambda event, args: None)
    t(
        "call site with any audit hook installed",
        "f = gf(0); sites.get(f.f_lasti << 48 | id(f.f_code))",
        "why the recorder has no audit hook: sys._getframe raises an audit event into every hook",
    )
    group = "function"
    start_recording(folder)
    t("traced os.write + os.read (whole wrappers)", "os.write(wfd, b'x'); os.read(r, 1)", "two events")
    t("traced send + recv (whole wrappers)", "a.send(b'x'); b.recv(1)", "two events")
    stop_recording()
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
