"""TCP echo over loopback: a forked client sends three messages, the server reads two bytes first."""

import os
import socket

server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.bind(("127.0.0.1", 0))
server.listen(1)
port = server.getsockname()[1]
pid = os.fork()
if pid == 0:
    server.close()
    client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    client.connect(("127.0.0.1", port))
    for message in (b"one;", b"two;", b"three;"):
        client.sendall(message)
    client.shutdown(socket.SHUT_WR)
    echoed = b""
    while chunk := client.recv(100):
        echoed += chunk
    assert echoed == b"one;two;three;", echoed
    client.close()
    os._exit(0)
conn, _ = server.accept()
first = conn.recv(2)  # a partial read: at most two bytes of the first message
conn.sendall(first)
while chunk := conn.recv(100):
    conn.sendall(chunk)
conn.close()
server.close()
os.waitpid(pid, 0)
