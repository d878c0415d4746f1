"""TCP hello server: the server-side TCP call sequence, one message each way.

Port of seed 004, "TCP 소켓 프로그래밍 — 서버 코드". Run it, then
`tcp_hello_client` in a second terminal.

Calls, in the C order: socket(AF_INET, SOCK_STREAM); bind(INADDR_ANY:8080);
listen(3); accept; read(1024) → prints `Message from client: Hello from client`;
send("Hello from server") — strlen: 17 bytes; prints `Hello message sent`;
close(connection); close(listener).

Deviations:
- SO_REUSEADDR is set before bind, so a lecturer can run the example twice in
  a row (without it the second bind fails with "Address already in use" while
  the last connection is in TIME_WAIT).
- `--port` (default 8080, the C PORT) so ipctrace or a test can pick the port.
- The C tests `socket(...) == 0` instead of `< 0`; Python's socket() raises on
  failure, so the port has no such test. bind/listen/accept failures print
  perror-style and exit 1, as the C does.
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
    parser.add_argument("--port", type=int, default=PORT)
    args = parser.parse_args(argv)
    hello = b"Hello from server"

    server_fd = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server_fd.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # deviation, see docstring

    try:
        server_fd.bind(("", args.port))  # INADDR_ANY
    except OSError as exc:
        server_fd.close()
        error("bind failed", exc)

    try:
        server_fd.listen(3)
    except OSError as exc:
        server_fd.close()
        error("listen failed", exc)

    try:
        new_socket, _address = server_fd.accept()
    except OSError as exc:
        server_fd.close()
        error("accept failed", exc)

    buffer = os.read(new_socket.fileno(), BUFFER_SIZE)
    print(f"Message from client: {c_str(buffer)}", flush=True)

    new_socket.send(hello)  # strlen(hello): 17 bytes
    print("Hello message sent", flush=True)

    new_socket.close()
    server_fd.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
