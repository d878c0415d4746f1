"""Sends each line typed on stdin to the echo server and prints the answer."""

import socket
import sys

sock = socket.socket()
sock.connect(("127.0.0.1", int(sys.argv[1])))
line = input("say: ")
sock.send(line.encode())
print("echo:", sock.recv(100).decode())
sock.close()
