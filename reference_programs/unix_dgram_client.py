"""Unix datagram socket client: bind a name of its own, sendto the server's name, recvfrom.

Seed 002 ("Datagram socket을 사용한 IPC"), the client side. Start
`unix_dgram_server` first.

Calls: socket(AF_UNIX, SOCK_DGRAM); bind(own path); sendto(server path,
"Hello from client") — 17 bytes; prints `Hello message sent`; recvfrom(1024) →
prints `Message from server: Hello from server`; close; remove its own path.

Deviation: the seed says the client's bind is optional. That is true for
sending, but an unbound Unix datagram socket has no name, so the server's
recvfrom gets no address and could not reply; the client binds (`--client-path`)
to receive the answer. A stale socket file from a crashed run is removed before
bind, and the client's name is removed after close.
"""

from __future__ import annotations

import argparse
import os
import socket

from _common import c_str, error, remove_stale

BUFFER_SIZE = 1024
DEFAULT_PATH = "/tmp/ipctrace_unix_dgram.sock"
DEFAULT_CLIENT_PATH = "/tmp/ipctrace_unix_dgram_client.sock"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--path", default=DEFAULT_PATH, help="the server's socket name")
    parser.add_argument("--client-path", default=DEFAULT_CLIENT_PATH, help="this client's own socket name")
    args = parser.parse_args(argv)
    hello = b"Hello from client"

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    remove_stale(args.client_path)

    try:
        sock.bind(args.client_path)  # needed to receive the reply, see docstring
    except OSError as exc:
        error("bind failed", exc)

    sock.sendto(hello, args.path)  # 17 bytes
    print("Hello message sent", flush=True)

    buffer, _server_addr = sock.recvfrom(BUFFER_SIZE)
    print(f"Message from server: {c_str(buffer)}", flush=True)

    sock.close()
    os.unlink(args.client_path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
