"""TCP chat client: a strictly alternating conversation over one TCP connection.

Port of seed 004, "실습 1: TCP 소켓을 이용한 간단한 채팅 프로그램 — 클라이언트
코드". Start `tcp_chat_server` first; the client speaks first.

Calls, in the C order: socket(AF_INET, SOCK_STREAM); inet_pton("127.0.0.1");
connect(127.0.0.1:8080); prints `Connected to server.`; then in a loop: prompts
`Client: `; reads a line from the terminal (fgets); send(line) — strlen,
newline included; read(1024) — 0 or an error ends the loop; prints
`Server: <msg>` (with the message's own newline, so an empty line follows).
Finally close.

Deviations:
- End of input (Ctrl-D, or the end of a scripted input) ends the loop and
  closes the socket, so the server's read returns 0. The C does not check
  fgets and would re-send its stale buffer forever.
- `--host` (default 127.0.0.1, as the C) and `--port` (default 8080).
- A line is read whole; fgets would cut a line longer than 1023 bytes.
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
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=PORT)
    args = parser.parse_args(argv)

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)

    try:
        socket.inet_pton(socket.AF_INET, args.host)
    except OSError as exc:
        error("Invalid address or Address not supported", exc)

    try:
        sock.connect((args.host, args.port))
    except OSError as exc:
        error("Connection failed", exc)

    print("Connected to server.", flush=True)

    while True:
        print("Client: ", end="", flush=True)
        line = sys.stdin.readline()
        if not line:  # end of input: fixed C defect, see docstring
            break
        sock.send(line.encode())

        try:
            buffer = os.read(sock.fileno(), BUFFER_SIZE)
        except OSError:  # read() < 0
            break
        if len(buffer) <= 0:
            break
        print(f"Server: {c_str(buffer)}", flush=True)

    sock.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
