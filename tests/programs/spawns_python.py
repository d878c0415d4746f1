"""Starts a Python grandchild with subprocess; the grandchild writes to a pipe it inherited."""

import os
import subprocess
import sys

r, w = os.pipe()
child = subprocess.run(
    [sys.executable, "-c", f"import os; os.write({w}, b'from grandchild')"], pass_fds=(w,), check=True
)
os.close(w)
print(os.read(r, 100))
