"""A socket timeout must raise TimeoutError in the traced program too."""

import socket

a, b = socket.socketpair()
b.settimeout(0.05)
try:
    b.recv(10)
except TimeoutError as exc:
    print("timed out:", type(exc).__name__, exc)
a.close()
print("after peer close:", b.recv(10))
