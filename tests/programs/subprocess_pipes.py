"""Talks to a child through subprocess pipes; also checks wrapped functions keep their names and errors."""

import subprocess
import sys
import time

child = subprocess.Popen(
    [sys.executable, "-c", "import sys; print(sys.stdin.read().upper())"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
)
print(child.communicate(b"hello child")[0].strip())
print(time.sleep.__name__, time.sleep.__doc__ is not None)
try:
    time.sleep("x")
except Exception as exc:
    print(type(exc).__name__)
