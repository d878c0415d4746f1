"""File objects on a pipe: os.fdopen for writing and reading, across a fork."""

import os

r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(r)
    with os.fdopen(w, "w") as out:
        out.write("line one\n")
        out.write("line two\n")
    os._exit(0)
os.close(w)
with os.fdopen(r) as src:
    print(src.read(), end="")
os.waitpid(pid, 0)
