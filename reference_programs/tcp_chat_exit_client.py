"""TCP chat client with `exit`: an application-level end of conversation on top of TCP.

Port of seed 004, "과제 1: TCP 소켓을 이용한 간단한 채팅 프로그램 확장 —
클라이언트 코드". As `tcp_chat_client`, plus: a line typed that starts with
`exit` is sent and then ends the loop; a received message that starts with
`exit` ends the loop (it is not printed); then the socket is closed.

Calls, in the C order: socket; inet_pton("127.0.0.1"); connect(127.0.0.1:8080);
prints `Connected to server.`; loop: prompts `Client: `; reads a line;
send(line) (strlen); if it starts with `exit`, ends; read(1024) — 0, an error
or a message starting with `exit` ends it; prints `Server: <msg>`. Finally
close.

Quirk kept: `strncmp(buffer, "exit", 4) == 0` also ends on `exit2` or `exiting`.

Deviations: as `tcp_chat_client` — end of input ends the loop cleanly (the C
would re-send a stale buffer), `--host`/`--port`, lines read whole.
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
        data = line.encode()
        sock.send(data)
        if data.startswith(b"exit"):  # strncmp(buffer, "exit", 4) == 0
            break

        try:
            buffer = os.read(sock.fileno(), BUFFER_SIZE)
        except OSError:  # read() < 0
            break
        if len(buffer) <= 0 or buffer.startswith(b"exit"):
            break
        print(f"Server: {c_str(buffer)}", flush=True)

    sock.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
