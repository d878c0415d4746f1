"""What /proc says about a process: alive while it runs, not once it is a zombie or gone."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import ipctrace.session.procfs as procfs


def test_a_process_is_alive_while_it_runs_and_not_as_a_zombie_or_once_reaped():
    proc = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        assert procfs.alive(proc.pid)
    finally:
        assert proc.stdin is not None
        proc.stdin.close()  # it ends, and stays a zombie until waited for
    deadline = time.monotonic() + 10
    while os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT | os.WNOHANG) is None:
        assert time.monotonic() < deadline, "the child did not end"
        time.sleep(0.01)  # polling a condition, with a deadline
    assert not procfs.alive(proc.pid), "a zombie is not alive"
    proc.wait()
    assert not procfs.alive(proc.pid), "a reaped process is gone"
