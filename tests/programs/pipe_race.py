"""Writers and readers on one pipe: a race with a known number of outcomes (tests, benchmark).

`pipe_race.py W N R M`: W writers each write N messages (writer 1 b"a1", b"a2", ..., writer 2
b"b1", ...), R readers each read 2 bytes M times and print what they got (default 2 2 2 2).
Every read takes one whole message (writes and reads are 2 bytes), so an
outcome is which reader got which messages, in which order. The parent closes its ends and leaves.
"""

from __future__ import annotations

import os
import sys


def main() -> int:
    w_count, n, r_count, reads = (int(x) for x in (sys.argv[1:] or ["2", "2", "2", "2"]))
    writers = [[f"{chr(97 + i)}{k + 1}".encode() for k in range(n)] for i in range(w_count)]
    readers = [f"r{i + 1}" for i in range(r_count)]
    r, w = os.pipe()
    for messages in writers:
        if os.fork() == 0:
            os.close(r)
            for m in messages:
                os.write(w, m)
            os._exit(0)
    for name in readers:
        if os.fork() == 0:
            os.close(w)
            got = [os.read(r, 2) for _ in range(reads)]
            os.write(1, f"{name}: {b' '.join(got).decode()}\n".encode())
            os._exit(0)
    os.close(r)
    os.close(w)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
