"""socket.makefile on both ends of a socketpair, across a fork."""

import os
import socket

a, b = socket.socketpair()
pid = os.fork()
if pid == 0:
    a.close()
    f = b.makefile("rwb")
    for line in f:
        f.write(line.upper())
        f.flush()
    os._exit(0)
b.close()
f = a.makefile("rwb")
for word in (b"one\n", b"two\n", b"three\n"):
    f.write(word)
    f.flush()
    print(f.readline())
a.shutdown(socket.SHUT_WR)
os.waitpid(pid, 0)
