"""os.sendfile from a regular file into a pipe, read back by the same process."""

import os
import tempfile

with tempfile.TemporaryFile() as f:
    f.write(b"0123456789" * 100)
    f.flush()
    r, w = os.pipe()
    sent = os.sendfile(w, f.fileno(), 0, 1000)
    os.close(w)
    got = b""
    while chunk := os.read(r, 4096):
        got += chunk
    print(sent, len(got), got[:10])
