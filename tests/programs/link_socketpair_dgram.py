"""A datagram socketpair across fork: a read with a short buffer truncates, boundaries are kept."""

import os
import socket

a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
pid = os.fork()
if pid == 0:
    b.send(b"first datagram")
    b.send(b"second")
    assert b.recv(100) == b"reply"
    os._exit(0)
assert a.recv(5) == b"first"  # the rest of the datagram is discarded
assert a.recv(100) == b"second"
a.send(b"reply")
os.waitpid(pid, 0)
