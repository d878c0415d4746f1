"""Forks N children that write numbered messages into a pipe flat out; each is killed after a random moment.

    python kill_sender.py N SIGNAL SEED

The parent drains each child's pipe and prints one JSON line: for each child, its pid and the bytes
that came out of its pipe. The test compares them with the child's recorded writes.
"""

import json
import os
import random
import select
import sys
import time

n, signum, seed = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(seed)
received = []
for _ in range(n):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        i = 0
        while True:
            os.write(w, b"msg%08d;" % i)
            i += 1
    os.close(w)
    os.set_blocking(r, False)
    got = bytearray()
    started = time.monotonic() + 10  # the child's first bytes say it is sending; then a random moment more
    deadline = started
    while time.monotonic() < deadline:  # read while the child writes, so it is killed writing, not blocked
        select.select([r], [], [], max(0.0, deadline - time.monotonic()))
        try:
            got += os.read(r, 65536)
        except BlockingIOError:
            pass
        if got and deadline == started:
            deadline = time.monotonic() + rng.uniform(0, 0.003)
    os.kill(pid, signum)
    os.waitpid(pid, 0)
    while True:
        try:
            chunk = os.read(r, 65536)
        except BlockingIOError:
            break
        if not chunk:
            break
        got += chunk
    os.close(r)
    received.append([pid, got.decode()])
print(json.dumps(received))
