"""A parent starts a Python child (fork + exec by subprocess) that writes into a pipe it inherited."""

import os
import subprocess
import sys

r, w = os.pipe()
child = os.path.join(os.path.dirname(os.path.abspath(__file__)), "link_spawn_child.py")
subprocess.run([sys.executable, child, str(w)], pass_fds=(w,), check=True)
os.close(w)
assert os.read(r, 100) == b"from the child"
assert os.read(r, 100) == b""
