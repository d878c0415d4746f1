"""Unix stream socket server: IPC between unrelated processes that meet at a file name.

Seed 002 ("stream socket을 사용한 IPC") lists the calls, not a program; this is
the smallest program that shows them. Run it, then `unix_stream_client` in a
second terminal. A stream socket is reliable and ordered; unrelated processes
find each other through a name in the file system (`--path`).

Calls: socket(AF_UNIX, SOCK_STREAM); bind(path); listen(5); accept;
read(1024) → prints `Message from client: Hello from client`;
write("Hello from server") — 17 bytes, no NUL; prints `Hello message sent`;
close(connection); close(listener); remove the path.

Choices the seed leaves open: the messages and output follow `tcp_hello`, so
the two can be compared side by side; read()/write() as the seed says ("socket
이 파일 디스크립터로 접근이 가능하기 때문"). A socket file left behind by a
crashed run is removed before bind (otherwise bind fails with "Address already
in use"); the path is removed at the end because closing a socket does not
remove its name.
"""

from __future__ import annotations

import argparse
import os
import socket

from _common import c_str, error, remove_stale

BUFFER_SIZE = 1024
DEFAULT_PATH = "/tmp/ipctrace_unix_stream.sock"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--path", default=DEFAULT_PATH, help="the socket's name in the file system")
    args = parser.parse_args(argv)
    hello = b"Hello from server"

    server_fd = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    remove_stale(args.path)

    try:
        server_fd.bind(args.path)
    except OSError as exc:
        error("bind failed", exc)

    try:
        server_fd.listen(5)
    except OSError as exc:
        error("listen failed", exc)

    try:
        new_socket, _address = server_fd.accept()
    except OSError as exc:
        error("accept failed", exc)

    buffer = os.read(new_socket.fileno(), BUFFER_SIZE)
    print(f"Message from client: {c_str(buffer)}", flush=True)

    os.write(new_socket.fileno(), hello)  # strlen(hello): 17 bytes
    print("Hello message sent", flush=True)

    new_socket.close()
    server_fd.close()
    os.unlink(args.path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
