"""Multiprocess echo client: a writer child and a reader parent share one TCP socket.

Port of the book's echo_mpclient.c (윤성우, 열혈 TCP/IP 소켓 프로그래밍, 10-5
"입출력 루틴 분할"), the client of `echo_storeserv` (11-2). Splitting input and
output into two processes lets the client keep sending without waiting for each
echo; `shutdown(SHUT_WR)` half-closes the connection so the reader still
receives the last echoes before the server closes.

Calls, in the C order: socket(AF_INET, SOCK_STREAM); connect; fork().
- child, the writer: reads terminal lines (fgets); on `q` or `Q` it calls
  shutdown(sock, SHUT_WR) and returns; otherwise write(sock, line) (strlen).
- parent, the reader: read(sock, 100) until it returns 0, printing
  `Message from server: <line>` (the echo keeps its newline).
- both: close(sock) and exit; the parent does not wait for the child.

Deviations:
- End of input (Ctrl-D, or the end of a scripted input) is treated like `q`:
  shutdown(SHUT_WR) and return. The C does not check fgets and would re-send a
  stale buffer forever; merely closing would not do either, because the
  reader's copy of the socket keeps the connection open.
- BUF_SIZE is 100, as in the server (the book's client uses 30, which splits
  longer echoes across several reads and prints).
- `--host` (default 127.0.0.1) and `--port` (default 8080) instead of the
  book's `<IP> <port>` arguments.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys

from _common import c_str, error

PORT = 8080
BUF_SIZE = 100


def read_routine(sock: socket.socket) -> None:
    """The reader: print every echo until the server closes the connection."""
    while True:
        buf = os.read(sock.fileno(), BUF_SIZE)
        if len(buf) == 0:
            return
        print(f"Message from server: {c_str(buf)}", end="", flush=True)


def write_routine(sock: socket.socket) -> None:
    """The writer: send each terminal line; `q`/`Q` (or end of input) half-closes."""
    while True:
        line = sys.stdin.readline()
        if not line or line in ("q\n", "Q\n"):  # end of input: fixed C defect, see docstring
            sock.shutdown(socket.SHUT_WR)
            return
        os.write(sock.fileno(), line.encode())  # strlen(buf)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=PORT)
    args = parser.parse_args(argv)

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.connect((args.host, args.port))
    except OSError as exc:
        error("connect() error!", exc)

    pid = os.fork()
    if pid == 0:
        write_routine(sock)
    else:
        read_routine(sock)

    sock.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
