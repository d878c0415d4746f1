"""A child that writes a message, then blocks in read until its parent kills it with SIGKILL."""

import os
import signal
import time

r, w = os.pipe()
never_r, never_w = os.pipe()
pid = os.fork()
if pid == 0:
    os.write(w, b"before the kill")
    os.read(never_r, 1)  # nobody ever writes here
    os._exit(0)
print(os.read(r, 100))
deadline = time.monotonic() + 10
while time.monotonic() < deadline:  # wait until the child sits in its read (state S), then kill it
    with open(f"/proc/{pid}/stat") as stat:
        if stat.read().rsplit(")", 1)[1].split()[0] == "S":
            break
    time.sleep(0.001)
os.kill(pid, signal.SIGKILL)
print(os.waitpid(pid, 0)[1] & 0x7F)
