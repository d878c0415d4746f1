"""A child's print()s through stdout=PIPE, read line by line from Popen.stdout."""

import subprocess
import sys

child = subprocess.Popen([sys.executable, "-c", "for i in range(50): print('line', i)"], stdout=subprocess.PIPE)
count = sum(1 for _ in child.stdout)
child.wait()
print("read", count, "lines")
