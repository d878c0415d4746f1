"""Descriptor numbers printed by a parent and its child: the explorer must not shift them."""

import os

print("before")
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    a, b = os.pipe()
    print("child", a, b)
    os._exit(0)
os.waitpid(pid, 0)
print("parent", r, w)
