"""Unix datagram socket server: no connection — every datagram names its destination.

Seed 002 ("Datagram socket을 사용한 IPC") lists the calls, not a program; this
is the smallest program that shows them. Run it, then `unix_dgram_client` in a
second terminal.

Calls: socket(AF_UNIX, SOCK_DGRAM); bind(path); recvfrom(1024) → prints
`Message from client: Hello from client`; sendto(the client's path,
"Hello from server") — 17 bytes; prints `Hello message sent`; close; remove
the path.

Choices the seed leaves open: messages and output follow `udp_hello`, so the
two can be compared. A socket file left behind by a crashed run is removed
before bind, and the path is removed after close (closing a socket does not
remove its name, and a leftover name makes the next bind fail).
"""

from __future__ import annotations

import argparse
import os
import socket

from _common import c_str, error, remove_stale

BUFFER_SIZE = 1024
DEFAULT_PATH = "/tmp/ipctrace_unix_dgram.sock"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--path", default=DEFAULT_PATH, help="the server's socket name")
    args = parser.parse_args(argv)
    hello = b"Hello from server"

    server_fd = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    remove_stale(args.path)

    try:
        server_fd.bind(args.path)
    except OSError as exc:
        error("bind failed", exc)

    buffer, client_addr = server_fd.recvfrom(BUFFER_SIZE)
    print(f"Message from client: {c_str(buffer)}", flush=True)

    server_fd.sendto(hello, client_addr)  # 17 bytes, to the client's bound path
    print("Hello message sent", flush=True)

    server_fd.close()
    os.unlink(args.path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
