"""A socketpair used both ways across fork, ending with an EOF the parent sees."""

import os
import socket

a, b = socket.socketpair()
pid = os.fork()
if pid == 0:
    a.close()
    b.sendall(b"ping")
    assert b.recv(100) == b"pong"
    b.close()
    os._exit(0)
b.close()
assert a.recv(100) == b"ping"
a.send(b"pong")
assert a.recv(100) == b""
a.close()
os.waitpid(pid, 0)
