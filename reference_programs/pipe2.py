"""pipe2.c: one pipe used in both directions — the wrong way, saved only by a sleep.

Port of the book example pipe2.c in seed 001 (chapter 11-1, "프로세스간 양방향
통신: 잘못된 방식"), also in seed 003. Data put into a pipe belongs to whichever
process reads it first — even the process that wrote it. This run works only
because the child sleeps 2 s before reading; see `pipe2_nosleep` for the race.

Calls, in the C order: pipe(fds); fork().
- child: write(fds[1], "Who are you?") — 13 bytes with the NUL; sleep(2);
  read(fds[0], 30); prints `Child proc output: Thank you for your message `.
- parent: read(fds[0], 30); prints `Parent proc output: Who are you? `;
  write(fds[1], "Thank you for your message") — 27 bytes with the NUL; sleep(3).

Printed lines keep the C format's space before the newline ("%s \\n").

Deviations: none. (Seed 003 prints "Child proc output %s" without the colon;
the port follows the book, 001.)
"""

from __future__ import annotations

import argparse
import os
import time

from _common import c_str

BUF_SIZE = 30
STR1 = b"Who are you?\0"
STR2 = b"Thank you for your message\0"


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(description=__doc__.split("\n", 1)[0]).parse_args(argv)

    fds = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.write(fds[1], STR1)
        time.sleep(2)
        buf = os.read(fds[0], BUF_SIZE)
        print(f"Child proc output: {c_str(buf)} ", flush=True)
    else:
        buf = os.read(fds[0], BUF_SIZE)
        print(f"Parent proc output: {c_str(buf)} ", flush=True)
        os.write(fds[1], STR2)
        time.sleep(3)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
