"""A run whose UDP receiver could not keep up says so in its summary: the kernel's drop count per socket."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

from tests.conftest import PROGRAMS

SCENARIO = """
name = "udp_overflow"
timeout = 30
protocols = ["udp"]
[ending]
idle = 0.5
blocked = ["main:recvfrom"]
explanation = "The receiver waits for more datagrams after the sender is done."
[[roles]]
name = "main"
command = ["{python}", "udp_overflow.py", "200"]
"""


def test_datagrams_dropped_by_a_full_receive_queue_are_in_the_summary(tmp_path):
    shutil.copy(PROGRAMS / "udp_overflow.py", tmp_path / "udp_overflow.py")
    toml = tmp_path / "udp_overflow.toml"
    toml.write_text(SCENARIO)
    result = subprocess.run(
        [sys.executable, "-m", "ipctrace", "run", str(toml), "--output", str(tmp_path / "out"), "--no-capture"]
        + ["--no-render"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    received = int(re.search(r"received (\d+) of 200", result.stdout).group(1))
    assert received < 200, "the queue of 4 KiB holds a few datagrams of 1000 bytes, not 200"
    notes = [line for line in result.stdout.splitlines() if line.startswith("note ")]
    pid = re.search(r"main \[(\d+)\]", result.stdout).group(1)
    assert notes == [
        f"note        a UDP socket of main [{pid}] dropped {200 - received} datagrams: its receive queue overflowed "
        "because the program read more slowly than they arrived (tracing slows a program down; an untraced run "
        "may lose fewer)"
    ]
