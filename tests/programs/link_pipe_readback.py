"""pipe2's race made deterministic: the child reads back its own message before the parent reads."""

import os

r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.write(w, b"Who are you?\0")
    assert os.read(r, 30) == b"Who are you?\0"  # nobody else reads yet: the child gets its own bytes
    os.write(w, b"Thank you for your message\0")
    os._exit(0)
os.waitpid(pid, 0)
assert os.read(r, 30) == b"Thank you for your message\0"
