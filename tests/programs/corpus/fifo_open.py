"""A FIFO opened with open() on both sides (the writer a forked child)."""

import os
import tempfile

folder = tempfile.mkdtemp()
path = os.path.join(folder, "fifo")
os.mkfifo(path)
pid = os.fork()
if pid == 0:
    with open(path, "w") as f:
        f.write("through the fifo\n" * 3)
    os._exit(0)
with open(path) as f:
    print(f.read(), end="")
os.waitpid(pid, 0)
os.unlink(path)
os.rmdir(folder)
