"""UDP file client: sends a file as 1024-byte datagrams — and nothing marks the end.

Port of seed 004, "실습 2: UDP 소켓을 이용한 파일 전송 프로그램 — 클라이언트
코드". Start `udp_file_server` first.

Calls, in the C order: socket(AF_INET, SOCK_DGRAM); opens send_file.txt; loop:
fread(1024) → sendto(INADDR_ANY:8080, chunk); closes the file and the socket;
prints `File sent successfully.`.

Quirk kept: the destination is INADDR_ANY (0.0.0.0), which Linux delivers to
the local host; `--host 127.0.0.1` names loopback explicitly. Nothing waits for
the server: with a fast sender and a slow reader datagrams can be lost.

Deviations: `--dir` (default `.`) for send_file.txt, `--host`/`--port`.
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
    parser.add_argument("--host", default="0.0.0.0", help="destination (default INADDR_ANY, as the C)")
    parser.add_argument("--port", type=int, default=PORT)
    parser.add_argument("--dir", default=".", help="folder of send_file.txt")
    args = parser.parse_args(argv)

    sockfd = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    servaddr = (args.host, args.port)

    try:
        file = open(os.path.join(args.dir, "send_file.txt"), "rb")
    except OSError as exc:
        error("file open failed", exc)

    while True:
        buffer = file.read(BUFFER_SIZE)  # fread(buffer, 1, BUFFER_SIZE, file)
        if len(buffer) <= 0:
            break
        sockfd.sendto(buffer, servaddr)

    file.close()
    sockfd.close()
    print("File sent successfully.", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
