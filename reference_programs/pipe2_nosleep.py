"""pipe2.c without the child's sleep(2): the child can read back its own message.

The variant the book suggests in seed 001 ("왼쪽의 예제에서 sleep 함수의 호출문을
주석처리 해 버리면 문제가 있음을 쉽게 확인할 수 있다") and seed 003 ("위의 sleep
을 제거한다면?"). With one pipe for both directions, whoever reads first gets
the data: if the child reads before the parent, it takes its own
"Who are you?", prints `Child proc output: Who are you? ` and exits, and the
parent blocks in read() forever — it holds the write end itself, so it never
sees end of file.

Calls, in the C order: pipe(fds); fork().
- child: write(fds[1], "Who are you?") (13 bytes); read(fds[0], 30); prints.
- parent: read(fds[0], 30); prints; write(fds[1], "Thank you for your message")
  (27 bytes); sleep(3).

Deviations from pipe2.c: only the removed sleep(2). Run on its own the outcome
depends on the scheduler (often the parent wins and the output looks like
pipe2's); the ipctrace scenario forces the child to run first
(`schedule = "child-first"`), so the race is shown every time.
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
        # sleep(2) removed: nothing now keeps the child from reading its own message.
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
