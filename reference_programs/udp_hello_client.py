"""UDP hello client: no connect — the server's address travels with every sendto.

Port of seed 004, "UDP 소켓 프로그래밍 — 클라이언트 코드". Start
`udp_hello_server` first.

Calls, in the C order: socket(AF_INET, SOCK_DGRAM); sendto(INADDR_ANY:8080,
"Hello from client") — strlen: 17 bytes; prints `Hello message sent`;
recvfrom(1024) → prints `Message from server: Hello from server`; close.

Quirk kept: the C sends to INADDR_ANY (0.0.0.0), which Linux delivers to the
local host (the packet on `lo` reads 127.0.0.1 → 127.0.0.1). The port keeps
0.0.0.0 as the default destination; `--host 127.0.0.1` sends to loopback
explicitly.

Deviations: `--host`/`--port` options (defaults as the C) so ipctrace or a test
can pick the port.
"""

from __future__ import annotations

import argparse
import socket

from _common import c_str

PORT = 8080
BUFFER_SIZE = 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--host", default="0.0.0.0", help="destination (default INADDR_ANY, as the C)")
    parser.add_argument("--port", type=int, default=PORT)
    args = parser.parse_args(argv)
    hello = b"Hello from client"

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    sock.sendto(hello, (args.host, args.port))  # strlen(hello): 17 bytes
    print("Hello message sent", flush=True)

    buffer, _serv_addr = sock.recvfrom(BUFFER_SIZE)
    print(f"Message from server: {c_str(buffer)}", flush=True)

    sock.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
