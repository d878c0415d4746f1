"""A parent and three forked children, each child on its own socketpair; delays force other interleavings.

COMPARE_DELAYS="a,b,c" (seconds, default none) makes child k wait its delay
before it says it is ready, and twice the reverse order's delay after the
parent answered it, before it exits. The waits use an Event with a timeout, which the recorder does
not trace, so every process makes the same calls in the same order whatever
the delays: only which child speaks first, and which ends first (so which
child each `os.wait()` returns), differ between runs.
"""

from __future__ import annotations

import os
import socket
import threading


def pause(seconds: float) -> None:
    if seconds:
        threading.Event().wait(seconds)


def main() -> int:
    text = os.environ.get("COMPARE_DELAYS", "")
    delays = [float(d) for d in text.split(",")] if text else [0.0, 0.0, 0.0]
    pairs = [socket.socketpair() for _ in delays]
    for k, (_parent_end, child_end) in enumerate(pairs):
        if os.fork() == 0:
            for n, (a, b) in enumerate(pairs):
                a.close()
                if n != k:
                    b.close()
            pause(delays[k])
            child_end.sendall(f"child {k + 1} ready".encode())
            reply = child_end.recv(100)
            pause(2 * delays[-1 - k])
            print(f"child {k + 1} got {reply.decode()!r}", flush=True)
            os._exit(0)
    for _parent_end, child_end in pairs:
        child_end.close()
    print("parent forked three children", flush=True)
    for parent_end, _ in pairs:
        hello = parent_end.recv(100)
        parent_end.sendall(b"go on, " + hello)
    for _ in pairs:
        os.wait()
    print("parent done", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
