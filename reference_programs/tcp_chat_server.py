"""TCP chat server: a strictly alternating conversation over one TCP connection.

Port of seed 004, "실습 1: TCP 소켓을 이용한 간단한 채팅 프로그램 — 서버 코드".
Run it, then `tcp_chat_client` in a second terminal; the client speaks first,
then each side answers in turn.

Calls, in the C order: socket(AF_INET, SOCK_STREAM); bind(INADDR_ANY:8080);
listen(3); prints `Waiting for a connection...`; accept; prints
`Connection established with client.`; then in a loop: read(1024) — 0 or an
error ends the loop; prints `Client: <msg>` (the message keeps its newline, so
an empty line follows, as in the C); prompts `Server: `; reads a line from the
terminal (fgets); send(line) — strlen, newline included. Finally
close(connection), close(listener).

Deviations:
- End of input (Ctrl-D, or the end of a scripted input) ends the loop and
  closes the connection. The C does not check fgets and would re-send its stale
  buffer forever.
- SO_REUSEADDR is set before bind, so the example can be run twice in a row
  (otherwise bind fails with "Address already in use" during TIME_WAIT).
- `--port` (default 8080) so ipctrace or a test can pick the port.
- A line is read whole; fgets would cut a line longer than 1023 bytes into
  several sends.
- The C's `socket(...) == 0` test is gone: Python's socket() raises on failure.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys

from _common import c_str, error

PORT = 8080
BUFFER_SIZE = 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--port", type=int, default=PORT)
    args = parser.parse_args(argv)

    server_fd = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server_fd.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # deviation, see docstring

    try:
        server_fd.bind(("", args.port))  # INADDR_ANY
    except OSError as exc:
        error("bind failed", exc)

    try:
        server_fd.listen(3)
    except OSError as exc:
        error("listen failed", exc)

    print("Waiting for a connection...", flush=True)

    try:
        new_socket, _address = server_fd.accept()
    except OSError as exc:
        error("accept failed", exc)

    print("Connection established with client.", flush=True)

    while True:
        try:
            buffer = os.read(new_socket.fileno(), BUFFER_SIZE)
        except OSError:  # read() < 0
            break
        if len(buffer) <= 0:
            break
        print(f"Client: {c_str(buffer)}", flush=True)

        print("Server: ", end="", flush=True)
        line = sys.stdin.readline()
        if not line:  # end of input: fixed C defect, see docstring
            break
        new_socket.send(line.encode())

    new_socket.close()
    server_fd.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
