"""A child that writes a message and then blocks until its parent kills it with SIGKILL."""

import os
import signal

r, w = os.pipe()
ready_r, ready_w = os.pipe()
never_r, never_w = os.pipe()
pid = os.fork()
if pid == 0:
    os.write(w, b"before the kill")
    os.write(ready_w, b"!")
    os.read(never_r, 1)  # nobody ever writes here
    os._exit(0)
os.read(ready_r, 1)
print(os.read(r, 100))
os.kill(pid, signal.SIGKILL)
print(os.waitpid(pid, 0)[1] & 0x7F)
