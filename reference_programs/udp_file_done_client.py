"""UDP file client with DONE: send the file, announce the end, wait for the server's DONE.

Port of seed 004, "과제 2: UDP 소켓을 이용한 파일 전송 프로그램 확장 —
클라이언트 코드". Start `udp_file_done_server` first.

Calls, in the C order: socket(AF_INET, SOCK_DGRAM); opens send_file.txt; loop:
fread(1024) → sendto(INADDR_ANY:8080, chunk); closes the file;
sendto("DONE") — 4 bytes; recvfrom(1024) → if it starts with `DONE`, prints
`File sent successfully.`; close.

Quirks kept: the destination is INADDR_ANY (0.0.0.0), which Linux delivers to
the local host (`--host 127.0.0.1` names loopback explicitly); if the DONE
datagram were lost, the client would wait in recvfrom forever.

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
    sockfd.sendto(b"DONE", servaddr)  # 4 bytes
    buffer, servaddr = sockfd.recvfrom(BUFFER_SIZE)
    if buffer.startswith(b"DONE"):  # strncmp(buffer, "DONE", 4) == 0
        print("File sent successfully.", flush=True)

    sockfd.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
