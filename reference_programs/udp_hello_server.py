"""UDP hello server: no listen/accept — one datagram in, one datagram back to its sender.

Port of seed 004, "UDP 소켓 프로그래밍 — 서버 코드". Run it, then
`udp_hello_client` in a second terminal.

Calls, in the C order: socket(AF_INET, SOCK_DGRAM); bind(INADDR_ANY:8080);
recvfrom(1024) → prints `Message from client: Hello from client`;
sendto(client's address, "Hello from server") — strlen: 17 bytes; prints
`Hello message sent`; close.

Deviations:
- `--port` (default 8080, the C PORT) so ipctrace or a test can pick the port.
- No SO_REUSEADDR, unlike the TCP servers: UDP has no TIME_WAIT, so running it
  twice in a row already works, and on Linux SO_REUSEADDR would let a second,
  forgotten server bind the same port and silently take the datagrams.
- The C tests `socket(...) == 0` instead of `< 0`; Python's socket() raises on
  failure, so there is no such test. A failing bind prints perror-style and
  exits 1, as the C does.
"""

from __future__ import annotations

import argparse
import socket

from _common import c_str, error

PORT = 8080
BUFFER_SIZE = 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--port", type=int, default=PORT)
    args = parser.parse_args(argv)
    hello = b"Hello from server"

    server_fd = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    try:
        server_fd.bind(("", args.port))  # INADDR_ANY
    except OSError as exc:
        server_fd.close()
        error("bind failed", exc)

    buffer, client_addr = server_fd.recvfrom(BUFFER_SIZE)
    print(f"Message from client: {c_str(buffer)}", flush=True)

    server_fd.sendto(hello, client_addr)  # strlen(hello): 17 bytes
    print("Hello message sent", flush=True)

    server_fd.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
