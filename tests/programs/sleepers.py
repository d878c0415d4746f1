"""Parent and child both sleep for an hour: a run that only a signal to ipctrace (or its timeout) ends."""

import os
import time

pid = os.fork()
who = "child" if pid == 0 else "parent"
print(f"{who} sleeping", flush=True)
time.sleep(3600)
