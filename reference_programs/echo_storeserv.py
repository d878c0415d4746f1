"""Echo server that stores messages: client handlers feed one storing process through a pipe.

Port of the book's echo_storeserv.c (윤성우, 열혈 TCP/IP 소켓 프로그래밍,
chapter 11-2 "메시지를 저장하는 형태의 에코 서버"; seed 001 has only its
description). Run it, then one or more `echo_mpclient` in other terminals.

Calls, in the C order:
- sigaction(SIGCHLD, read_childproc): the handler reaps ended children with
  waitpid(-1, WNOHANG) and prints `removed proc id: <pid> `.
- socket(AF_INET, SOCK_STREAM); bind(INADDR_ANY:port); listen(5); pipe(fds);
  fork() a storing child: opens echomsg.txt, then exactly 10 times
  read(fds[0], 100) and writes what it read to the file; closes it and exits.
- main loop: accept; prints `new client connected...`; fork() a client
  handler: close(listener); loop read(clnt, 100) → write(clnt, same bytes)
  (the echo) and write(fds[1], same bytes) (to the storing child) until read
  returns 0; close(clnt); prints `client disconnected...`; exits. The parent
  closes its copy of the client socket and accepts again.

The storing child counts reads, not messages: when several messages wait in the
pipe one read takes them together, so "10 reads" can cover more than 10 lines.

Deviations:
- SIGTERM ends the server cleanly: its handler closes the listening socket and
  exits 0 (the C accepts forever; ipctrace sends SIGTERM once the clients are
  done). Only the accepting process has that handler: the client handlers reset
  SIGTERM to the default, as in the C, and children already running continue
  to their end (the storing child after its 10 reads).
- The SIGCHLD handler calls waitpid in a loop until no ended child is left
  (the book calls it once, so two children ending together leave a zombie);
  Python reports "no child at all" as ChildProcessError, which ends the loop.
- accept interrupted by SIGCHLD is retried by Python itself (PEP 475); the C's
  `if (clnt_sock == -1) continue;` is kept for other errors.
- A handler whose read fails (connection reset) ends as on end of file; the C
  would keep looping on -1.
- SO_REUSEADDR before bind so the server can be restarted at once; `--port`
  (default 8080; the book takes the port as its argument) and `--dir`
  (default `.`) for echomsg.txt.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
from types import FrameType

from _common import error

PORT = 8080
BUF_SIZE = 100
STORED_READS = 10


def say(line: str) -> None:
    """One line in one write, as C's `printf` of a whole line: `print` hands the text and its newline to the
    stream apart (two writes when stdout is unbuffered), and ipctrace, reading the role's output between the
    two, once showed the text alone, as a prompt."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def read_childproc(signum: int, frame: FrameType | None) -> None:
    """SIGCHLD: reap every child that has ended, so none stays a zombie."""
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:  # no children left at all
            return
        if pid == 0:  # children left, none ended
            return
        say(f"removed proc id: {pid} ")


def store_messages(read_fd: int, path: str) -> None:
    """The storing child: exactly 10 reads from the pipe, each appended to echomsg.txt."""
    fp = open(path, "wb")  # fopen("echomsg.txt", "wt")
    for _ in range(STORED_READS):
        msgbuf = os.read(read_fd, BUF_SIZE)
        fp.write(msgbuf)  # fwrite(msgbuf, 1, len, fp)
    fp.close()


def handle_client(clnt_sock: socket.socket, pipe_w: int) -> None:
    """A client handler: echo every read back and hand a copy to the storing child."""
    while True:
        try:
            buf = os.read(clnt_sock.fileno(), BUF_SIZE)
        except OSError:  # read() < 0, see docstring
            break
        if len(buf) == 0:
            break
        os.write(clnt_sock.fileno(), buf)
        os.write(pipe_w, buf)
    clnt_sock.close()
    say("client disconnected...")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--port", type=int, default=PORT)
    parser.add_argument("--dir", default=".", help="folder of echomsg.txt")
    args = parser.parse_args(argv)

    signal.signal(signal.SIGCHLD, read_childproc)

    serv_sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    serv_sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # deviation, see docstring
    try:
        serv_sock.bind(("", args.port))  # INADDR_ANY
    except OSError as exc:
        error("bind() error", exc)
    try:
        serv_sock.listen(5)
    except OSError as exc:
        error("listen() error", exc)

    fds = os.pipe()
    pid = os.fork()
    if pid == 0:
        store_messages(fds[0], os.path.join(args.dir, "echomsg.txt"))
        return 0

    def stop(signum: int, frame: FrameType | None) -> None:
        """SIGTERM: stop accepting and end cleanly (the C has no way to stop but killing it)."""
        serv_sock.close()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)

    while True:
        try:
            clnt_sock, _clnt_adr = serv_sock.accept()
        except OSError:  # if (clnt_sock == -1) continue;
            continue
        say("new client connected...")

        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the stop handler is the acceptor's only
            serv_sock.close()
            handle_client(clnt_sock, fds[1])
            return 0
        clnt_sock.close()


if __name__ == "__main__":
    raise SystemExit(main())
