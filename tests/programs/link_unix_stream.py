"""A Unix stream server and a forked client on a path: connect, accept, one message each way."""

import os
import socket
import sys

path = sys.argv[1]
server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind(path)
server.listen(1)
pid = os.fork()
if pid == 0:
    server.close()
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.connect(path)
    client.sendall(b"hi server")
    assert client.recv(100) == b"hi client"
    client.close()
    os._exit(0)
conn, _ = server.accept()
assert conn.recv(100) == b"hi server"
conn.sendall(b"hi client")
conn.close()
server.close()
os.waitpid(pid, 0)
