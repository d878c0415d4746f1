"""A parent talks to two forked children, one socketpair each; one flag changes one thing.

The compare tests run it plain and with one flag, and check that the diff
names the change the way a user would:

    --message TEXT   the parent's message to child 1 (a changed message)
    --no-close       child 1 leaves its end open at exit (a missing close)
    --swap           the parent sends to child 2 before child 1 (two calls swapped)
    --wrong-peer     each message goes to the other child (a message sent to the wrong peer)
    --extra          the parent forks a third child that does nothing (an extra process)

The printed lines carry pids, as the course examples do (`[parent:4312]`):
the canonical form replaces them with roles.
"""

from __future__ import annotations

import argparse
import os
import socket


def child(number: int, mine: socket.socket, others: list[socket.socket], close_at_end: bool) -> None:
    for s in others:
        s.close()
    data = os.read(mine.fileno(), 100)
    print(f"[child {number}:{os.getpid()}] got {data.decode()!r}", flush=True)
    os.read(mine.fileno(), 100)  # end of file: the parent closed its end
    if close_at_end:
        mine.close()
    os._exit(0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--message", default="hello child 1")
    parser.add_argument("--no-close", action="store_true")
    parser.add_argument("--swap", action="store_true")
    parser.add_argument("--wrong-peer", action="store_true")
    parser.add_argument("--extra", action="store_true")
    args = parser.parse_args()

    a1, b1 = socket.socketpair()
    a2, b2 = socket.socketpair()
    pids = []
    for number, mine in ((1, b1), (2, b2)):
        pid = os.fork()
        if pid == 0:
            child(number, mine, [s for s in (a1, b1, a2, b2) if s is not mine], not (number == 1 and args.no_close))
        pids.append(pid)
    if args.extra:
        pid = os.fork()
        if pid == 0:
            for s in (a1, b1, a2, b2):
                s.close()
            print("[extra child] nothing to do", flush=True)
            os._exit(0)
        pids.append(pid)
    b1.close()
    b2.close()
    print(f"[parent:{os.getpid()}] forked {' and '.join(map(str, pids))}", flush=True)

    sends = [(a1, args.message.encode()), (a2, b"hello child 2")]
    if args.wrong_peer:
        sends = [(a2, sends[0][1]), (a1, sends[1][1])]
    if args.swap:
        sends.reverse()
    for sock, message in sends:
        os.write(sock.fileno(), message)
    a1.close()
    a2.close()
    for pid in pids:
        os.waitpid(pid, 0)
    print("[parent] done", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
