"""Run a command and report its wall time, peak memory and CPU time, descendants included.

    python measure.py CMD ARGS...

This process becomes a child subreaper, so processes orphaned by the command
(a forked child whose parent did not wait) are reaped here and their
resource usage counted. Prints one JSON line: rc, wall seconds, the largest
single process's peak RSS (`ru_maxrss` of RUSAGE_CHILDREN, KiB) and user+sys
CPU seconds of everything that ran.
"""

import ctypes
import json
import os
import resource
import subprocess
import sys
import time


def main() -> None:
    try:
        ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass
    t0 = time.perf_counter()
    proc = subprocess.run(sys.argv[1:], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - t0
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # orphans re-parented to us
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            time.sleep(0.01)
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(
        json.dumps(
            {
                "rc": proc.returncode,
                "wall": elapsed,
                "maxrss_kib": ru.ru_maxrss,
                "cpu": ru.ru_utime + ru.ru_stime,
                "stderr": proc.stderr.decode("utf-8", "replace")[-1500:],
            }
        )
    )


if __name__ == "__main__":
    main()
