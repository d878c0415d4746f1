"""A daemon: the child starts a program in a new session and exits at once, so the program's parent is gone
(re-parented to ipctrace, the subreaper) before it records anything. With `stay`, the daemon never ends."""

import os
import subprocess
import sys
import time

if sys.argv[1:2] == ["daemon"]:
    print("daemon here", flush=True)
    if sys.argv[2:] == ["stay"]:
        time.sleep(3600)
    sys.exit(0)
pid = os.fork()
if pid == 0:
    subprocess.Popen([sys.executable, __file__, "daemon", *sys.argv[1:]], start_new_session=True)
    os._exit(0)
os.waitpid(pid, 0)
print("parent done", flush=True)
