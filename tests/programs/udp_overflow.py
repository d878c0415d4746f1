"""A UDP receiver with a tiny receive queue and a sender that does not wait: the kernel drops datagrams.

The receiver reads what was queued once the sender is done, says how many it got, then waits for more
forever (its scenario expects it to end blocked there, its socket still open).
"""

import os
import socket
import sys

SENT = int(sys.argv[1]) if len(sys.argv) > 1 else 200

receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
receiver.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
receiver.bind(("127.0.0.1", 0))
port = receiver.getsockname()[1]
pid = os.fork()
if pid == 0:
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for _ in range(SENT):
        sender.sendto(b"x" * 1000, ("127.0.0.1", port))
    os._exit(0)
os.waitpid(pid, 0)
receiver.setblocking(False)
got = 0
try:
    while True:
        receiver.recvfrom(2048)
        got += 1
except BlockingIOError:
    pass
print(f"received {got} of {SENT}", flush=True)
receiver.setblocking(True)
receiver.recvfrom(2048)
