"""Parent and child both read a pipe nobody writes to: a deadlock ipctrace must stop and explain."""

import os

r, w = os.pipe()
pid = os.fork()
if pid == 0:
    print("child waiting", flush=True)
    os.read(r, 10)
    os._exit(0)
print("parent waiting", flush=True)
os.read(r, 10)
