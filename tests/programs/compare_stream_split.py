"""A parent writes two messages into a pipe; the child reads 64 bytes at a time until end of file.

How the kernel splits the stream between the child's reads is its business:
the child gets `hellobye` in one read when both writes came before it read,
`hello` and `bye` in two when it was already waiting. COMPARE_SPLIT in the
environment forces one or the other, waiting on the pipe's fill level
(`ioctl(FIONREAD)`, which is not traced) rather than for a time:

    COMPARE_SPLIT=apart   the parent writes `bye` only once the child has taken `hello`
    COMPARE_SPLIT=whole   the child reads only once both messages are in the pipe

`--second TEXT` changes the second message: a real change of the program's IPC.
"""

from __future__ import annotations

import argparse
import array
import fcntl
import os
import termios
import time

TIMEOUT = 10.0  # seconds to wait for the other process before going on anyway


def queued(fd: int) -> int:
    """Bytes waiting in the pipe."""
    count = array.array("i", [0])
    fcntl.ioctl(fd, termios.FIONREAD, count)
    return count[0]


def wait_until(test) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not test() and time.monotonic() < deadline:
        os.sched_yield()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--second", default="bye")
    args = parser.parse_args()
    mode = os.environ.get("COMPARE_SPLIT", "")
    first, second = b"hello", args.second.encode()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(w)
        if mode == "whole":
            wait_until(lambda: queued(r) >= len(first) + len(second))
        got = b""
        while chunk := os.read(r, 64):
            got += chunk
        print(f"child got {got.decode()!r}", flush=True)
        os._exit(0)
    os.write(w, first)
    if mode == "apart":
        wait_until(lambda: queued(r) == 0)
    os.write(w, second)
    os.close(w)
    os.close(r)
    os.waitpid(pid, 0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
