"""Unix stream socket client: connect to a server by its file name, write, read, close.

Seed 002 ("stream socket을 사용한 IPC"), the client side; the seed lists the
calls and says bind is optional for the client — this port omits it. Start
`unix_stream_server` first.

Calls: socket(AF_UNIX, SOCK_STREAM); connect(path); write("Hello from
client") — 17 bytes, no NUL; prints `Hello message sent`; read(1024) → prints
`Message from server: Hello from server`; close.

Choices the seed leaves open: messages and output follow `tcp_hello_client`;
`--path` names the server's socket.
"""

from __future__ import annotations

import argparse
import os
import socket

from _common import c_str, error

BUFFER_SIZE = 1024
DEFAULT_PATH = "/tmp/ipctrace_unix_stream.sock"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--path", default=DEFAULT_PATH, help="the server's socket name")
    args = parser.parse_args(argv)
    hello = b"Hello from client"

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)

    try:
        sock.connect(args.path)
    except OSError as exc:
        error("Connection failed", exc)

    os.write(sock.fileno(), hello)  # strlen(hello): 17 bytes
    print("Hello message sent", flush=True)

    buffer = os.read(sock.fileno(), BUFFER_SIZE)
    print(f"Message from server: {c_str(buffer)}", flush=True)

    sock.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
