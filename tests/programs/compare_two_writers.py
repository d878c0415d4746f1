"""Two children write to two pipes; COMPARE_FIRST=2 in the environment makes child 2 write first.

Only the interleaving of the two children differs between a run with
COMPARE_FIRST=1 and one with COMPARE_FIRST=2: every process makes the same
calls in the same order, with the same command line, and the same bytes go
the same way. The child that goes second waits on a lock with a timeout
(which the recorder does not trace), so the wait leaves no call in the trace.
"""

from __future__ import annotations

import os
import threading

DELAY = 0.3  # seconds the second writer waits: far longer than a fork and a write


def main() -> int:
    first = int(os.environ.get("COMPARE_FIRST", "1"))

    pipes = [os.pipe(), os.pipe()]
    pids = []
    for number, (_r, w) in enumerate(pipes, 1):
        pid = os.fork()
        if pid == 0:
            if number != first:
                threading.Event().wait(DELAY)
            os.write(w, f"from child {number}\n".encode())
            os._exit(0)
        pids.append(pid)
    for r, _w in pipes:
        print(os.read(r, 100).decode().strip(), flush=True)
    for pid in pids:
        os.waitpid(pid, 0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
