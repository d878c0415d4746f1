"""Non-blocking sockets: BlockingIOError must reach the program exactly as untraced."""

import errno
import socket

a, b = socket.socketpair()
b.setblocking(False)
try:
    b.recv(10)
except BlockingIOError as exc:
    print("recv would block:", exc.errno == errno.EAGAIN, type(exc).__name__)
a.send(b"now")
print("recv:", b.recv(10))
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen()
srv.setblocking(False)
try:
    srv.accept()
except BlockingIOError as exc:
    print("accept would block:", type(exc).__name__)
c = socket.socket()
c.setblocking(False)
print("connect_ex:", errno.errorcode.get(c.connect_ex(srv.getsockname()), "0"))
c.close()
srv.close()
