"""A one-shot TCP echo server for the user-scenario test: echoes one message, then exits."""

import socket
import sys

srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", int(sys.argv[1])))
srv.listen(1)
conn, _ = srv.accept()
conn.send(conn.recv(100).upper())
conn.close()
srv.close()
