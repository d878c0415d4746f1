"""A reader that waits for its child's message with select, with or without a timeout (explorer tests).

`select_timeout.py SECONDS`: the child writes b"hi" into a pipe and exits; the parent waits in
`select([r], [], [], SECONDS)` (`none`: no timeout) and prints `got hi` or `timed out`, then waits
for its child. With a timeout the two outcomes race; without one there is only `got hi`.
"""

from __future__ import annotations

import os
import select
import sys


def main() -> int:
    timeout = None if sys.argv[1:] == ["none"] else float(sys.argv[1] if sys.argv[1:] else "30")
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        os.write(w, b"hi")
        os._exit(0)
    os.close(w)
    ready, _, _ = select.select([r], [], [], timeout)
    if ready:
        print(f"got {os.read(r, 2).decode()}", flush=True)
    else:
        print("timed out", flush=True)
    os.waitpid(pid, 0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
