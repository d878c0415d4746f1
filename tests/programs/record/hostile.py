"""Calls whose recorded strings are hostile: quotes, backslashes, NUL, newlines, undecodable bytes."""

import os
import socket
import sys

folder = sys.argv[1]
name = 'q"uo\\te\nnl\x01\udcff'  # \udcff: the byte 0xff, as Python's surrogateescape decodes it
path = os.path.join(folder, name)
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(1)
cli = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
cli.connect(path)
try:
    socket.socket().connect(('a"b\\c\n', 80))
except OSError:
    pass
abstract = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
abstract.bind('\0abs"tr\\act\n')
os.mkfifo(os.path.join(folder, 'fi"fo\n'))
print("done")
