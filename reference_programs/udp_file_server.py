"""UDP file server: datagrams carry no end of stream, so this server never finishes.

Port of seed 004, "실습 2: UDP 소켓을 이용한 파일 전송 프로그램 — 서버 코드".
Run it, then `udp_file_client` in a second terminal. It stores every datagram
in `received_file.txt` and waits for more — forever: the client never sends
an empty datagram, so `recvfrom` never returns 0 and `File received
successfully.` is never printed. That is the motivation of 과제 2
(`udp_file_done_server`). Stop it with Ctrl-C.

Calls, in the C order: socket(AF_INET, SOCK_DGRAM); bind(INADDR_ANY:8080);
opens received_file.txt; loop: recvfrom(1024) while the result is > 0, writing
each chunk to the file; then (never reached) closes the file and the socket and
prints `File received successfully.`.

Deviations:
- The file is written unbuffered (C's fwrite buffers in stdio), so what has
  been received is on disk even though the server never reaches fclose — it is
  stopped while blocked in recvfrom, and the received file is still compared
  with the sent one.
- `--dir` (default `.`) for received_file.txt, `--port` (default 8080).
- No SO_REUSEADDR: UDP has no TIME_WAIT (see `udp_hello_server`).
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
        file = open(os.path.join(args.dir, "received_file.txt"), "wb", buffering=0)
    except OSError as exc:
        error("file open failed", exc)

    while True:
        buffer, _cliaddr = sockfd.recvfrom(BUFFER_SIZE)
        if len(buffer) <= 0:  # never happens: the client sends no empty datagram
            break
        file.write(buffer)

    file.close()
    sockfd.close()
    print("File received successfully.", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
