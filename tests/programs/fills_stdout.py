"""Prints 4 KiB lines until it has printed the number of MiB it is given: more than a small disk holds."""

import os
import sys

line = b"x" * 4095 + b"\n"
for _ in range(int(sys.argv[1]) * 256):
    os.write(1, line)
