"""pipe3.c: two pipes, one per direction — the right way to talk both ways.

Port of the book example pipe3.c in seed 001 (chapter 11-1, "프로세스간 양방향
통신: 적절한 방식"), also in seed 003. With one pipe per direction the timing of
reads and writes no longer decides where the data goes.

Calls, in the C order: pipe(fds1); pipe(fds2); fork().
- child: write(fds1[1], "Who are you?") (13 bytes with the NUL);
  read(fds2[0], 30); prints `Child proc output: Thank you for your message `.
- parent: read(fds1[0], 30); prints `Parent proc output: Who are you? `;
  write(fds2[1], "Thank you for your message") (27 bytes with the NUL); sleep(3)
  — only to stay alive until the child has printed.

Deviations: none. Seed 003's copy keeps a sleep(2) in the child; the port
follows the book (001), which has none.
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

    fds1 = os.pipe()
    fds2 = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.write(fds1[1], STR1)
        buf = os.read(fds2[0], BUF_SIZE)
        print(f"Child proc output: {c_str(buf)} ", flush=True)
    else:
        buf = os.read(fds1[0], BUF_SIZE)
        print(f"Parent proc output: {c_str(buf)} ", flush=True)
        os.write(fds2[1], STR2)
        time.sleep(3)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
