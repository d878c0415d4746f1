"""A non-blocking write to a nearly full pipe returns a partial count, then EAGAIN."""

import fcntl
import os

r, w = os.pipe()
fcntl.fcntl(w, fcntl.F_SETFL, os.O_NONBLOCK)
capacity = fcntl.fcntl(w, 1032)  # F_GETPIPE_SZ
os.write(w, b"x" * (capacity - 10))
print("partial:", os.write(w, b"y" * 100))
try:
    os.write(w, b"z")
except BlockingIOError as exc:
    print("full:", type(exc).__name__)
total = 0
while total < capacity:
    total += len(os.read(r, 65536))
print("drained:", total)
