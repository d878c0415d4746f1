"""A traced parent reads a pipe whose only writer is /bin/sh (not Python, so not traced): a known gap."""

import os
import subprocess

r, w = os.pipe()
subprocess.run(["/bin/sh", "-c", f"printf 'from the shell' >&{w}"], pass_fds=(w,), check=True)
os.close(w)
got = b""
while chunk := os.read(r, 100):
    got += chunk
assert got == b"from the shell", got
