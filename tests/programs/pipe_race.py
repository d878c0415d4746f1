"""Two writers and two readers on one pipe: a race with a known number of outcomes (tests, benchmark).

Writer 1 writes b"a1" then b"a2", writer 2 writes b"b1" then b"b2"; each reader reads 2 bytes twice
and prints what it got. Every read takes one whole message (writes and reads are 2 bytes), so an
outcome is which reader got which messages, in which order. The parent closes its ends and leaves.
"""

from __future__ import annotations

import os

WRITERS = ((b"a1", b"a2"), (b"b1", b"b2"))
READERS = ("r1", "r2")
READS = 2


def main() -> int:
    r, w = os.pipe()
    for messages in WRITERS:
        if os.fork() == 0:
            os.close(r)
            for m in messages:
                os.write(w, m)
            os._exit(0)
    for name in READERS:
        if os.fork() == 0:
            os.close(w)
            got = [os.read(r, 2) for _ in range(READS)]
            os.write(1, f"{name}: {b' '.join(got).decode()}\n".encode())
            os._exit(0)
    os.close(r)
    os.close(w)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
