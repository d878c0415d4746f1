"""recv with MSG_PEEK looks at bytes without consuming them; the next recv gets them again."""

import socket

a, b = socket.socketpair()
a.sendall(b"peek-a-boo")
print(b.recv(4, socket.MSG_PEEK))
print(b.recv(100))
