"""dup2 a pipe onto fd 1 in a forked child, then exec a Python program that prints."""

import os
import sys

r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(r)
    os.dup2(w, 1)
    os.close(w)
    os.execv(sys.executable, [sys.executable, "-c", "print('hello from exec')"])
os.close(w)
got = b""
while chunk := os.read(r, 100):
    got += chunk
os.waitpid(pid, 0)
print(got)
