"""pipe1.c: a child writes into a pipe, its parent reads — fork copies descriptors, not the pipe.

Port of the book example pipe1.c in seed 001 (윤성우, 열혈 TCP/IP 소켓
프로그래밍, chapter 11-1), also copied in seed 003. The pipe belongs to the
operating system; after fork both processes hold descriptors of the same pipe.

Calls, in the C order: pipe(fds); fork().
- child: write(fds[1], "Who are you?") — sizeof: 13 bytes with the NUL.
- parent: read(fds[0], BUF_SIZE=30); puts(buf) → prints `Who are you?`.

Quirks kept: neither process closes the end it does not use, and the parent
does not wait for the child.

Deviations: seed 003's copy sends "Who are you" (no `?`, 12 bytes); the port
follows the book (001).
"""

from __future__ import annotations

import argparse
import os

from _common import c_str

BUF_SIZE = 30


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(description=__doc__.split("\n", 1)[0]).parse_args(argv)
    string = b"Who are you?\0"  # char str[]="Who are you?"; written with sizeof

    fds = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.write(fds[1], string)
    else:
        buf = os.read(fds[0], BUF_SIZE)
        print(c_str(buf), flush=True)  # puts(buf)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
