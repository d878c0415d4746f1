"""Sends N datagrams from a forked sender to a receiver over loopback, paced to at most RATE per second.

The receiver counts what it gets until it sees the final b"END" (sent 20 times; UDP may drop some).
Usage: udp_flood.py N RATE
"""

import os
import socket
import sys
import time

count, rate = int(sys.argv[1]), float(sys.argv[2])
receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
receiver.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
receiver.bind(("127.0.0.1", 0))
address = receiver.getsockname()
pid = os.fork()
if pid == 0:
    receiver.close()
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    start = time.perf_counter()
    for i in range(count):
        sender.sendto(b"%08d" % i, address)
        if (i + 1) % 100 == 0:  # pace in batches: sleeping per datagram would cap the rate far below RATE
            ahead = start + (i + 1) / rate - time.perf_counter()
            if ahead > 0:
                time.sleep(ahead)
    elapsed = time.perf_counter() - start
    for _ in range(20):
        sender.sendto(b"END", address)
    print(f"sent {count} in {elapsed:.3f} s: {count / elapsed:.0f}/s", flush=True)
    os._exit(0)
received = 0
while receiver.recv(64) != b"END":
    received += 1
os.waitpid(pid, 0)
print(f"received {received}", flush=True)
