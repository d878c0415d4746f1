"""TCP hello client: the client-side TCP call sequence, one message each way.

Port of seed 004, "TCP 소켓 프로그래밍 — 클라이언트 코드". Start
`tcp_hello_server` first.

Calls, in the C order: socket(AF_INET, SOCK_STREAM); inet_pton("127.0.0.1");
connect(127.0.0.1:8080); send("Hello from client") — strlen: 17 bytes; prints
`Hello message sent`; read(1024) → prints `Message from server: Hello from
server`; close.

Deviations: `--host` (default 127.0.0.1, as the C) and `--port` (default 8080)
so ipctrace or a test can pick the port. Failures print perror-style and exit 1,
as the C does.
"""

from __future__ import annotations

import argparse
import os
import socket

from _common import c_str, error

PORT = 8080
BUFFER_SIZE = 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=PORT)
    args = parser.parse_args(argv)
    hello = b"Hello from client"

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)

    try:
        socket.inet_pton(socket.AF_INET, args.host)
    except OSError as exc:
        sock.close()
        error("Invalid address or Address not supported", exc)

    try:
        sock.connect((args.host, args.port))
    except OSError as exc:
        sock.close()
        error("Connection failed", exc)

    sock.send(hello)  # strlen(hello): 17 bytes
    print("Hello message sent", flush=True)

    buffer = os.read(sock.fileno(), BUFFER_SIZE)
    print(f"Message from server: {c_str(buffer)}", flush=True)

    sock.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
