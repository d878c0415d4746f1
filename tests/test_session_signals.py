"""Every way `ipctrace run` is told to stop keeps the run: SIGTERM, SIGHUP, Ctrl-C and GNU `timeout`.

Each test runs real programs under the real command, sends a real signal once the traced processes
have said (on their output) that they are in place, and then checks what a user would: the exit
status, the partial trace with what each process was blocked in, and that nothing of the run is
left running.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ipctrace.tracefile import read_trace
from tests.conftest import PROGRAMS

SLEEPERS = """
name = "sleepers"
timeout = 120
[[roles]]
name = "main"
command = ["{python}", "sleepers.py"]
"""


def running_with(token: str) -> list[str]:
    """Live processes whose command line mentions `token` (the test's own folder): leftovers of a run."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if token.encode() in cmdline:
            found.append(pid + ": " + cmdline.replace(b"\0", b" ").decode(errors="replace"))
    return found


def sleepers_scenario(tmp_path: Path) -> Path:
    shutil.copy(PROGRAMS / "sleepers.py", tmp_path / "sleepers.py")
    toml = tmp_path / "sleepers.toml"
    toml.write_text(SLEEPERS)
    return toml


def start(args: list[str], prefix: tuple[str, ...] = ()) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*prefix, sys.executable, "-m", "ipctrace", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )


def wait_until_both_sleep(proc: subprocess.Popen[str]) -> None:
    """Read the run's output until parent and child have said they sleep (the event to wait for)."""
    assert proc.stdout is not None
    seen = 0
    while seen < 2:
        line = proc.stdout.readline()
        assert line, proc.stderr.read() if proc.stderr else ""
        seen += line.count(" sleeping")


def check_partial_trace(trace_path: Path, why: str) -> None:
    trace = read_trace(trace_path)
    assert trace.header.ending == "interrupted"
    assert why in trace.header.ending_note
    blocked = sorted((p.role, e.call) for e in trace.events if e.blocked for p in [trace.process(e.pid)] if p)
    assert blocked == [("main", "sleep"), ("main/child#1", "sleep")]  # the recorder shows the call in progress


@pytest.mark.parametrize(
    ("sig", "status", "why"),
    [
        (signal.SIGTERM, 143, "stopped by SIGTERM"),
        (signal.SIGHUP, 129, "stopped by SIGHUP"),
        (signal.SIGINT, 130, "stopped with Ctrl-C"),
    ],
)
def test_a_signal_to_ipctrace_stops_the_run_and_keeps_its_trace(tmp_path, sig, status, why):
    """The roles run in sessions of their own: only ipctrace can stop them, and it must."""
    toml = sleepers_scenario(tmp_path)
    out = tmp_path / "out"
    earlier = subprocess.run(
        [sys.executable, "-m", "ipctrace", "run", str(toml), "--output", str(out), "--no-capture", "--no-render"]
        + ["--quiet", "--timeout", "0.5"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert earlier.returncode == 1 and read_trace(out / "sleepers" / "trace.jsonl").header.ending == "timeout"

    proc = start(["run", str(toml), "--output", str(out), "--no-capture", "--no-render"])
    wait_until_both_sleep(proc)
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == status, stderr
    assert "Traceback" not in stderr
    assert f"ending      interrupted: {why}" in stdout
    check_partial_trace(out / "sleepers" / "trace.jsonl", why)  # this run's trace, not the earlier one's
    kept = out / "sleepers" / "previous-run"  # and the earlier one, which this partial trace replaced
    assert read_trace(kept / "trace.jsonl").header.ending == "timeout"
    assert f"the run this one replaced is kept in {kept}" in stdout
    assert running_with(str(tmp_path)) == []


def test_sigterm_to_an_ad_hoc_run_stops_its_program(tmp_path):
    """An ad-hoc program shares ipctrace's terminal and process group; SIGTERM to ipctrace alone still ends it."""
    shutil.copy(PROGRAMS / "sleepers.py", tmp_path / "sleepers.py")
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "ipctrace", "run", "--output", str(out), "--no-capture", "--no-render"]
        + ["--", sys.executable, "sleepers.py"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        cwd=tmp_path,
    )
    wait_until_both_sleep(proc)
    proc.send_signal(signal.SIGTERM)
    _stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 143, stderr
    check_partial_trace(out / "sleepers" / "trace.jsonl", "stopped by SIGTERM")
    assert running_with(str(tmp_path)) == []


def test_gnu_timeout_ends_a_run_with_its_trace_and_leaves_nothing_running(tmp_path):
    """`timeout 8 ipctrace run ...`: timeout's SIGTERM reaches ipctrace, which stops the run as for Ctrl-C."""
    gnu_timeout = shutil.which("timeout")
    if gnu_timeout is None:
        pytest.skip("GNU timeout (coreutils) is not installed")
    toml = sleepers_scenario(tmp_path)
    out = tmp_path / "out"
    proc = start(["run", str(toml), "--output", str(out), "--no-capture", "--no-render"], prefix=(gnu_timeout, "8"))
    wait_until_both_sleep(proc)  # the run is in place well before timeout's 8 s are up
    _stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 124, stderr  # timeout's own status when it had to stop the command
    assert "Traceback" not in stderr
    check_partial_trace(out / "sleepers" / "trace.jsonl", "stopped by SIGTERM")
    assert running_with(str(tmp_path)) == []


def test_a_daemon_grandchild_is_named_by_its_spawner_and_waited_for(tmp_path):
    """Its recorded parent is ipctrace (the subreaper): the trace names it after the process that started it."""
    program = tmp_path / "daemon_grandchild.py"
    shutil.copy(PROGRAMS / "daemon_grandchild.py", program)
    result = subprocess.run(
        [sys.executable, "-m", "ipctrace", "run", "--output", str(tmp_path / "out"), "--no-capture", "--no-render"]
        + ["--", sys.executable, str(program)],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[main] daemon here" in result.stdout, "the run waited for the daemon to end"
    trace = read_trace(tmp_path / "out" / "daemon_grandchild" / "trace.jsonl")
    roles = {p.role: p for p in trace.processes}
    assert sorted(roles) == ["main", "main/child#1", "main/child#1/child#1"]
    daemon = roles["main/child#1/child#1"]
    assert daemon.ppid == roles["main/child#1"].pid and daemon.exit is not None and daemon.exit.code == 0


def test_a_daemon_that_never_ends_is_stopped_with_the_run(tmp_path):
    program = tmp_path / "daemon_grandchild.py"
    shutil.copy(PROGRAMS / "daemon_grandchild.py", program)
    proc = start(
        ["run", "--output", str(tmp_path / "out"), "--no-capture", "--no-render", "--"]
        + [sys.executable, str(program), "stay"]
    )
    assert proc.stdout is not None
    while "daemon here" not in (line := proc.stdout.readline()):
        assert line, proc.stderr.read() if proc.stderr else ""
    proc.send_signal(signal.SIGTERM)
    _stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 143, stderr
    trace = read_trace(tmp_path / "out" / "daemon_grandchild" / "trace.jsonl")
    blocked = [(p.role, e.call) for e in trace.events if e.blocked for p in [trace.process(e.pid)] if p]
    assert blocked == [("main/child#1/child#1", "sleep")]
    assert running_with(str(program)) == []
