"""UDP with sendmsg (destination address), recvmsg and recvmsg_into."""

import socket

rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
rx.bind(("127.0.0.1", 0))
tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
tx.sendmsg([b"first ", b"datagram"], [], 0, rx.getsockname())
tx.sendmsg([b"second datagram"], [], 0, rx.getsockname())
data, _anc, _flags, addr = rx.recvmsg(100)
print(data, addr == tx.getsockname())
buf = bytearray(100)
n, _anc, _flags, addr = rx.recvmsg_into([buf])
print(bytes(buf[:n]))
