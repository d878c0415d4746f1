"""A traced parent reads a pipe whose only writer is a shell no recorder enters: a known gap.

The native recorder would record /bin/sh; IPCTRACE_NATIVE_OFF keeps it out of that one process.
"""

import os
import subprocess

r, w = os.pipe()
untraced = {**os.environ, "IPCTRACE_NATIVE_OFF": "1"}
subprocess.run(["/bin/sh", "-c", f"printf 'from the shell' >&{w}"], pass_fds=(w,), env=untraced, check=True)
os.close(w)
got = b""
while chunk := os.read(r, 100):
    got += chunk
assert got == b"from the shell", got
