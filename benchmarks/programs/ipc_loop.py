"""Workload: N one-byte round trips through a pipe or a socketpair, timed inside the process.

    python ipc_loop.py pipe 100000        # os.write(w, b"x"); os.read(r, 1)
    python ipc_loop.py socketpair 100000  # a.send(b"x"); b.recv(1)

Prints one JSON line: nanoseconds per iteration of the timed loop (start-up
and a short warm-up excluded), wall-clock and this thread's CPU time (what
other processes on a shared machine took is not in it), so the same program
measures untraced, traced and strace'd calls. Written the way a course example calls them
(`os.write`, `sock.send`), so a tracer's wrappers are on the path.
"""

import json
import os
import socket
import sys
import time


def main() -> None:
    kind, n = sys.argv[1], int(sys.argv[2])
    warm = max(100, n // 100)
    if kind == "pipe":
        r, w = os.pipe()
        for _ in range(warm):
            os.write(w, b"x")
            os.read(r, 1)
        c0, t0 = time.thread_time_ns(), time.perf_counter_ns()
        for _ in range(n):
            os.write(w, b"x")
            os.read(r, 1)
        t1, c1 = time.perf_counter_ns(), time.thread_time_ns()
    elif kind == "socketpair":
        a, b = socket.socketpair()
        for _ in range(warm):
            a.send(b"x")
            b.recv(1)
        c0, t0 = time.thread_time_ns(), time.perf_counter_ns()
        for _ in range(n):
            a.send(b"x")
            b.recv(1)
        t1, c1 = time.perf_counter_ns(), time.thread_time_ns()
    else:
        raise SystemExit(f"unknown workload {kind!r}: pipe or socketpair")
    cpu = (c1 - c0) / n
    print(json.dumps({"kind": kind, "n": n, "warmup": warm, "ns_per_iter": (t1 - t0) / n, "cpu_ns_per_iter": cpu}))


if __name__ == "__main__":
    main()
