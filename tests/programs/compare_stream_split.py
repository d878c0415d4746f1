"""A parent writes two messages into a pipe; the child reads 64 bytes at a time until end of file.

How the kernel splits the stream between the child's reads is its business:
the child gets `hellobye` in one read when both writes came before it read,
`hello` and `bye` in two when it was already waiting. COMPARE_PAUSE=1 in the
environment makes the parent wait (with `select`, which is not traced) between
its writes, so the child gets them apart. `--second TEXT` changes the second
message: a real change of the program's IPC.
"""

from __future__ import annotations

import argparse
import os
import select


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--second", default="bye")
    args = parser.parse_args()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(w)
        got = b""
        while chunk := os.read(r, 64):
            got += chunk
        print(f"child got {got.decode()!r}", flush=True)
        os._exit(0)
    os.close(r)
    os.write(w, b"hello")
    if os.environ.get("COMPARE_PAUSE") == "1":
        select.select([], [], [], 0.05)
    os.write(w, args.second.encode())
    os.close(w)
    os.waitpid(pid, 0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
