"""The child of link_spawn.py: writes to the pipe fd it was given, then exits (closing it)."""

import os
import sys

os.write(int(sys.argv[1]), b"from the child")
