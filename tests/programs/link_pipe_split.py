"""One write read in two parts by a child: read(4), then the rest."""

import os

r, w = os.pipe()
os.write(w, b"0123456789")
pid = os.fork()
if pid == 0:
    assert os.read(r, 4) == b"0123"
    assert os.read(r, 100) == b"456789"
    os._exit(0)
os.waitpid(pid, 0)
