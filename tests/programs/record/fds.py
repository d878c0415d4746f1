"""Descriptors the program sees must be the ones it would see untraced; prints what it saw.

python fds.py closerange|dup2|reuse
"""

import ctypes
import json
import os
import sys

case = sys.argv[1]
out = {}
if case == "closerange":
    os.closerange(3, 65536)
    r, w = os.pipe()
    os.write(w, b"after closerange")
    out = {"fds": [r, w], "read": os.read(r, 100).decode()}
elif case == "dup2":
    r, w = os.pipe()
    for target in range(3, 1024):  # whatever number a recorder might hold, the program may take it
        if target not in (r, w):
            os.dup2(w, target)
    os.write(w, b"hello")
    out = {"fds": [r, w], "read": os.read(r, 100).decode()}
elif case == "reuse":
    r, w = os.pipe()
    os.write(w, b"old")
    os.read(r, 3)
    libc = ctypes.CDLL(None)
    libc.close(r)  # behind the recorder's back
    libc.close(w)
    r2, w2 = os.pipe()  # the same numbers, another pipe
    os.write(w2, b"new")
    out = {"fds": [r, w, r2, w2], "read": os.read(r2, 3).decode(), "ino": os.fstat(r2).st_ino}
print(json.dumps(out))
