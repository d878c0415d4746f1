"""1,000 identical exchanges over a socketpair: the parent sends 'ping', the child answers 'pong'.

For the rendering tests (tests/render_support.py): the diagram must fold them into one loop with the right count. A
handshake before and a goodbye after, of other sizes, keep the loop exactly COUNT exchanges.
"""

from __future__ import annotations

import os
import socket
import sys

COUNT = int(sys.argv[1]) if len(sys.argv) > 1 else 1000

parent_end, child_end = socket.socketpair()
pid = os.fork()
if pid == 0:
    parent_end.close()
    child_end.recv(12)
    child_end.send(b"ok")
    for _ in range(COUNT):
        child_end.recv(4)
        child_end.send(b"pong")
    child_end.recv(3)
    child_end.close()
    os._exit(0)
child_end.close()
parent_end.send(b"hello, child")
parent_end.recv(2)
for _ in range(COUNT):
    parent_end.send(b"ping")
    parent_end.recv(4)
parent_end.send(b"bye")
parent_end.close()
os.waitpid(pid, 0)
