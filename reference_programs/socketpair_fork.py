"""socketpair across fork: a parent and its child talk over one connected pair.

Port of seed 000, "socketpair 함수를 이용한 소켓 프로그램의 구현 - 두 프로세스 간에".
Each process closes the end it does not use; the pair is bidirectional.

Calls, in the C order: socketpair(PF_LOCAL, SOCK_STREAM); fork().
- child: close(sd[0]); write(sd[1], "From Child") — sizeof: 11 bytes with the
  NUL; read(sd[1], BUFSIZ); prints `[child:<pid>] From Parent`; close(sd[1]).
- parent: close(sd[1]); read(sd[0], BUFSIZ); prints `[parent:<pid>] From Child`;
  write(sd[0], "From Parent") — sizeof: 12 bytes; close(sd[0]).

Quirks kept: the seed's prose says the parent sends first, its code has the
child send first — the port follows the code. The parent never waits for the
child, so the child may print after the parent has exited.

Deviations: none.
"""

from __future__ import annotations

import argparse
import os
import socket

from _common import BUFSIZ, c_str

DATA1 = b"From Parent\0"  # char data1[] = "From Parent"; sent with sizeof
DATA2 = b"From Child\0"  # char data2[] = "From Child"; sent with sizeof


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(description=__doc__.split("\n", 1)[0]).parse_args(argv)

    sd = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)

    pid = os.fork()
    if pid > 0:
        sd[1].close()

        buf = os.read(sd[0].fileno(), BUFSIZ)
        print(f"[parent:{os.getpid()}] {c_str(buf)}", flush=True)

        os.write(sd[0].fileno(), DATA1)

        sd[0].close()
    else:
        sd[0].close()
        os.write(sd[1].fileno(), DATA2)

        buf = os.read(sd[1].fileno(), BUFSIZ)
        print(f"[child:{os.getpid()}] {c_str(buf)}", flush=True)

        sd[1].close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
