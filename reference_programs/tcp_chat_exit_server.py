"""TCP chat server with `exit`: an application-level end of conversation on top of TCP.

Port of seed 004, "과제 1: TCP 소켓을 이용한 간단한 채팅 프로그램 확장 — 서버
코드". As `tcp_chat_server`, plus: a received message that starts with `exit`
ends the loop (it is not printed), and a line the server types that starts with
`exit` is sent and then ends the loop; both sides then close.

Calls, in the C order: socket; bind(INADDR_ANY:8080); listen(3); prints
`Waiting for a connection...`; accept; prints `Connection established with
client.`; loop: read(1024) — 0, an error or a message starting with `exit`
ends it; prints `Client: <msg>`; prompts `Server: `; reads a line; send(line)
(strlen); if the line starts with `exit`, ends. Finally close(connection),
close(listener).

Quirk kept: the test is `strncmp(buffer, "exit", 4) == 0`, so `exit2` or
`exiting` also end the chat.

Deviations: as `tcp_chat_server` — end of input ends the loop cleanly (the C
would re-send a stale buffer), SO_REUSEADDR before bind, `--port`, lines read
whole.
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
        if len(buffer) <= 0 or buffer.startswith(b"exit"):  # strncmp(buffer, "exit", 4) == 0
            break
        print(f"Client: {c_str(buffer)}", flush=True)

        print("Server: ", end="", flush=True)
        line = sys.stdin.readline()
        if not line:  # end of input: fixed C defect, see docstring
            break
        data = line.encode()
        new_socket.send(data)
        if data.startswith(b"exit"):
            break

    new_socket.close()
    server_fd.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
