"""A Python program that runs `sort` through two pipes (what a shell's `producer | sort` is, from Python)."""

import subprocess

sort = subprocess.Popen(["sort"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
out, _ = sort.communicate(b"pear\napple\nfig\n")
print(out.decode(), end="")
