"""Bytes to a temporary file and to the program's own stdout are not IPC; 5 bytes through a pipe are."""

import os
import tempfile

with tempfile.TemporaryFile() as f:
    os.write(f.fileno(), b"temp")
os.write(1, b"a line of output\n")
print("printed")
r, w = os.pipe()
os.write(w, b"piped")
assert os.read(r, 100) == b"piped"
