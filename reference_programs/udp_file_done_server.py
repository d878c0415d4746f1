"""UDP file server with DONE: an application-level completion handshake on top of UDP.

Port of seed 004, "과제 2: UDP 소켓을 이용한 파일 전송 프로그램 확장 — 서버
코드". Run it, then `udp_file_done_client`. A datagram starting with `DONE`
ends the transfer; the server answers `DONE` to its sender.

Calls, in the C order: socket(AF_INET, SOCK_DGRAM); bind(INADDR_ANY:8080);
opens received_file.txt; loop: recvfrom(1024) while > 0 — a datagram starting
with `DONE` ends it, any other is written to the file; closes the file;
sendto(client, "DONE") — 4 bytes; close; prints `File received successfully.`.

Quirk kept: `strncmp(buffer, "DONE", 4) == 0` — a file chunk that happens to
begin with `DONE` ends the transfer early.

Deviations: `--dir` (default `.`) for received_file.txt, `--port` (default
8080); no SO_REUSEADDR (UDP has no TIME_WAIT, see `udp_hello_server`).
"""

from __future__ import annotations

import argparse
import os
import socket

from _common import error

PORT = 8080
BUFFER_SIZE = 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--port", type=int, default=PORT)
    parser.add_argument("--dir", default=".", help="folder of received_file.txt")
    args = parser.parse_args(argv)

    sockfd = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    try:
        sockfd.bind(("", args.port))  # INADDR_ANY
    except OSError as exc:
        error("bind failed", exc)

    try:
        file = open(os.path.join(args.dir, "received_file.txt"), "wb")
    except OSError as exc:
        error("file open failed", exc)

    while True:
        buffer, cliaddr = sockfd.recvfrom(BUFFER_SIZE)
        if len(buffer) <= 0:
            break
        if buffer.startswith(b"DONE"):  # strncmp(buffer, "DONE", 4) == 0
            break
        file.write(buffer)

    file.close()
    sockfd.sendto(b"DONE", cliaddr)  # 4 bytes
    sockfd.close()
    print("File received successfully.", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
