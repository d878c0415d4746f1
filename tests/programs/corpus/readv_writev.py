"""os.writev and os.readv on a pipe."""

import os

r, w = os.pipe()
print(os.writev(w, [b"scatter ", b"and ", b"gather\n"]))
a, b = bytearray(8), bytearray(32)
print(os.readv(r, [a, b]), bytes(a), bytes(b).rstrip(b"\0"))
