"""socketserver.ForkingTCPServer echo server; the client is a forked child."""

import os
import socket
import socketserver


class Echo(socketserver.StreamRequestHandler):
    def handle(self):
        self.wfile.write(self.rfile.readline().upper())


server = socketserver.ForkingTCPServer(("127.0.0.1", 0), Echo)
port = server.server_address[1]
pid = os.fork()
if pid == 0:
    server.socket.close()
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(b"echo me\n")
        print(s.makefile("rb").readline())
    os._exit(0)
server.handle_request()
os.waitpid(pid, 0)
server.server_close()
