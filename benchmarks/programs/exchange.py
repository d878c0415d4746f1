"""Workload for the rendering benchmark: N request/reply exchanges between a parent and its child.

    python exchange.py pipe N     # two pipes, one per direction (like pipe3)
    python exchange.py udp N      # a UDP "server" child and the parent as client on 127.0.0.1

Each exchange is four recorded calls (write/read, read/write, or
sendto/recvfrom both ways), so a trace of about 4·N events plus a few for
set-up. The messages repeat, as in a chat loop, so a diagram can fold them.
"""

import os
import socket
import sys


def pipes(n: int) -> None:
    to_child, from_child = os.pipe(), os.pipe()
    pid = os.fork()
    if pid == 0:
        for _ in range(n):
            os.read(to_child[0], 64)
            os.write(from_child[1], b"pong\n")
        os._exit(0)
    for _ in range(n):
        os.write(to_child[1], b"ping\n")
        os.read(from_child[0], 64)
    os.waitpid(pid, 0)


def udp(n: int) -> None:
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 0))
    address = server.getsockname()
    pid = os.fork()
    if pid == 0:
        for _ in range(n):
            _data, peer = server.recvfrom(64)
            server.sendto(b"pong\n", peer)
        os._exit(0)
    server.close()
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for _ in range(n):
        client.sendto(b"ping\n", address)
        client.recvfrom(64)
    os.waitpid(pid, 0)


if __name__ == "__main__":
    {"pipe": pipes, "udp": udp}[sys.argv[1]](int(sys.argv[2]))
