"""Writes to its stdout with os.write: the bytes reach fd 1 (the session's pipe) without print()."""

import os

os.write(1, b"first line\n")
r, w = os.pipe()
os.write(w, b"through a pipe")
print("read back:", os.read(r, 100).decode())
