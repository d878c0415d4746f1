"""A selectors-based echo over a socketpair, with a forked peer."""

import os
import selectors
import socket

a, b = socket.socketpair()
pid = os.fork()
if pid == 0:
    a.close()
    for _ in range(3):
        b.send(b.recv(100)[::-1])
    os._exit(0)
b.close()
sel = selectors.DefaultSelector()
sel.register(a, selectors.EVENT_READ)
for word in (b"abc", b"hello", b"xyz"):
    a.send(word)
    sel.select(timeout=5)
    print(a.recv(100))
os.waitpid(pid, 0)
