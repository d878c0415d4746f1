"""Unix datagram sockets bound to paths: sendto and recvfrom both ways."""

import os
import socket
import tempfile

folder = tempfile.mkdtemp()
srv = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
srv.bind(os.path.join(folder, "srv"))
cli = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
cli.bind(os.path.join(folder, "cli"))
cli.sendto(b"ping", srv.getsockname())
data, addr = srv.recvfrom(100)
srv.sendto(data.replace(b"i", b"o"), addr)
print(cli.recvfrom(100)[0])
for name in ("srv", "cli"):
    os.unlink(os.path.join(folder, name))
os.rmdir(folder)
