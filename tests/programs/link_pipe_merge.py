"""Two writes from a child, read by the parent in one read, then EOF once every write end is closed."""

import os

r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(r)
    os.write(w, b"hello ")
    os.write(w, b"world")
    os._exit(0)
os.waitpid(pid, 0)  # both writes are in the pipe before the parent reads
os.close(w)
assert os.read(r, 100) == b"hello world"
assert os.read(r, 100) == b""
os.close(r)
