"""socketpair in one process: the simplest way to get two connected sockets.

Port of seed 000, "socketpair 함수를 이용한 소켓 프로그램의 구현 - 프로세스 하나".
`socketpair()` creates both ends and connects them; what one process writes on
sd[0] it reads back on sd[1].

Calls, in the C order: socketpair(AF_UNIX, SOCK_STREAM); write(sd[0]) of
"This is from sd[0]" (strlen: 18 bytes, no NUL); read(sd[1], BUFSIZ);
close(sd[0]); close(sd[1]).

Deviations: none. (C's PF_LOCAL is AF_UNIX; the C ignores every result, the
port lets a failing call raise.)
"""

from __future__ import annotations

import argparse
import os
import socket

from _common import BUFSIZ, c_str


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(description=__doc__.split("\n", 1)[0]).parse_args(argv)
    data = b"This is from sd[0]"

    sd = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)

    os.write(sd[0].fileno(), data)  # strlen(data): 18 bytes
    print(f"[send] {c_str(data)}", flush=True)

    buf = os.read(sd[1].fileno(), BUFSIZ)
    print(f"[received] {c_str(buf)}", flush=True)

    sd[0].close()
    sd[1].close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
