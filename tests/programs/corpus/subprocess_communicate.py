"""subprocess.Popen with stdin and stdout pipes and communicate()."""

import subprocess
import sys

child = subprocess.Popen(
    [sys.executable, "-c", "import sys; sys.stdout.write(sys.stdin.read().upper())"],
    stdin=subprocess.PIPE,
    stdout=subprocess.PIPE,
)
out, _ = child.communicate(b"hello from the parent\n" * 50)
print(len(out), out[:22])
