"""A program that does not repeat itself: its first run forks two writers, every later run one (explorer tests).

`changes_each_run.py MARKER`: the file MARKER says whether it ran before. The explorer replays a
schedule's prefix and finds other processes to choose from: it must say so, not fail.
"""

from __future__ import annotations

import os
import sys


def main() -> int:
    marker = sys.argv[1]
    writers = 1 if os.path.exists(marker) else 2
    with open(marker, "a"):
        pass
    r, w = os.pipe()
    for n in range(writers):
        if os.fork() == 0:
            os.write(w, b"%d" % n)
            os._exit(0)
    os.close(w)
    got = b""
    while chunk := os.read(r, 1):
        got += chunk
    print(got.decode(), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
