"""The fork lesson: a line printed without a flush before fork is in both processes' buffers.

python fork_buffer.py exit|_exit
"""

import os
import sys

sys.stdout = open(1, "w", closefd=False)  # block-buffered whatever PYTHONUNBUFFERED says, as in the lesson
print("printed once, before fork")
pid = os.fork()
if pid == 0:
    if sys.argv[1] == "_exit":
        os._exit(0)  # the child's copy of the buffer is thrown away
    sys.exit(0)  # the child flushes its copy at exit
os.waitpid(pid, 0)
