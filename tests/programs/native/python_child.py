"""The Python child forks_python.c execs: one write on fd 1 (a pipe to its C parent), one print."""

import os

os.write(1, b"from python: os.write\n")
print("from python: print", flush=True)
