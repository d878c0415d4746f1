"""UDP datagrams over loopback: three read, one answered, one never read."""

import socket

server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
server.bind(("127.0.0.1", 0))
port = server.getsockname()[1]
client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for message in (b"first", b"second", b"third"):
    client.sendto(message, ("127.0.0.1", port))
got = [server.recvfrom(100) for _ in range(3)]
assert [data for data, _ in got] == [b"first", b"second", b"third"]
server.sendto(b"ack", got[0][1])
assert client.recvfrom(100)[0] == b"ack"
client.sendto(b"never read", ("127.0.0.1", port))
client.close()
server.close()
