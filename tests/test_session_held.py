"""The next role started early and held before its program until its turn: the program cannot tell."""

from __future__ import annotations

import os
import time
from pathlib import Path

import ipctrace.session.procfs as procfs
from ipctrace.scenarios import load_scenario
from ipctrace.session import Ending, RunOptions, run_scenario
from ipctrace.session.output import OutputPrinter
from ipctrace.session.recording import Recording
from ipctrace.session.runner import substitutions
from ipctrace.session.stopping import StopSignals
from ipctrace.session.supervisor import Supervisor

SERVER = """
import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen()
c, _ = s.accept()
c.recv(10)
"""

#: What a program can see of how it was started: its descriptors, environment, the start time of its process.
PROBE = """
import os, socket, sys, time
ticks = int(open("/proc/self/stat").read().rsplit(")", 1)[1].split()[19])
boot = time.time() - float(open("/proc/uptime").read().split()[0])
print("fds", sorted(os.listdir("/proc/self/fd")))
print("hold", [k for k in os.environ if "HOLD" in k])
print("started", boot + ticks / os.sysconf("SC_CLK_TCK"))
if len(sys.argv) > 1:
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    print("socket", s.fileno())
    s.sendall(b"x")
"""


def _scenario(tmp_path: Path, server: str, roles: str = "both"):
    (tmp_path / "server.py").write_text(server)
    (tmp_path / "probe.py").write_text(PROBE)
    first = '[[roles]]\nname = "server"\ncommand = ["{python}", "server.py", "{port}"]\nready = ["listen"]\n'
    probe = '[[roles]]\nname = "probe"\ncommand = ["{python}", "probe.py", "{port}"]\n'
    alone = '[[roles]]\nname = "probe"\ncommand = ["{python}", "probe.py"]\n'
    body = first + probe if roles == "both" else alone
    path = tmp_path / f"held_{roles}.toml"
    path.write_text(f'name = "held_{roles}"\ntimeout = 20.0\n' + body)
    return load_scenario(path)


def _said(out: Path) -> dict[str, str]:
    return dict(line.split(" ", 1) for line in out.read_text().splitlines())


def test_a_held_role_starts_as_if_started_at_its_turn(tmp_path: Path) -> None:
    result = run_scenario(_scenario(tmp_path, SERVER), RunOptions(outdir=tmp_path / "out", capture="none", port=0))
    assert result.ok, result.message
    said = _said(tmp_path / "out" / "probe.out")
    alone = run_scenario(_scenario(tmp_path, SERVER, "alone"), RunOptions(outdir=tmp_path / "alone", capture="none"))
    assert alone.ok, alone.message
    first = _said(tmp_path / "alone" / "probe.out")  # the first role: held only until the run begins
    assert said["fds"] == first["fds"] == "['0', '1', '2', '3']"  # 3: the listing's own
    assert said["hold"] == first["hold"] == "[]"
    assert said["socket"] == "3"
    events = result.trace.events
    listen = next(e for e in events if e.call == "listen")
    probe = next(p for p in result.trace.processes if p.role == "probe")
    start = next(e for e in events if e.call == "start" and e.pid == probe.pid)
    assert listen.t1 is not None and start.t0 > listen.t1, (
        "its recording starts at its turn, once the server's listen is recorded"
    )
    # ... while its process was started before the server listened (clock ticks of 10 ms: a margin of 2)
    assert float(said["started"]) < listen.t0 / 1e9 - 0.02, "the probe was started early and held"


def test_a_held_role_whose_turn_never_comes_leaves_nothing(tmp_path: Path) -> None:
    scenario = _scenario(tmp_path, "import sys\nsys.exit(3)\n")  # ends before it is ready
    result = run_scenario(scenario, RunOptions(outdir=tmp_path / "out", capture="none", port=0))
    assert result.ending is Ending.FAILED and "before it was ready" in result.message
    assert [p.role for p in result.trace.processes] == ["server"]
    assert not (tmp_path / "out" / "probe.out").exists()
    assert not _probes(tmp_path), "the held interpreter ended with the run (killed and reaped)"


def test_the_first_role_waits_held_until_the_run_begins(tmp_path: Path) -> None:
    """Started before the capture opens (`hold_first`): nothing runs or is recorded until `run()`."""
    scenario = _scenario(tmp_path, SERVER, "alone")
    outdir = tmp_path / "out"
    outdir.mkdir()
    recording = Recording(outdir)
    printer = OutputPrinter(outdir, None)
    with StopSignals() as stop:
        supervisor = Supervisor(
            scenario,
            recording.environment(4096),
            recording,
            substitutions(scenario, outdir, None, ""),
            printer,
            20.0,
            stop,
        )
        supervisor.hold_first()
        held = supervisor.held
        assert held is not None, "a Python first role is held"
        pid = held.run.proc.pid
        deadline = time.monotonic() + 10
        while (procfs.blocked_call(pid) or ("", None))[0] != "read" and time.monotonic() < deadline:
            time.sleep(0.01)  # polling a condition, with a deadline
        assert procfs.blocked_call(pid) is not None and procfs.alive(pid), "its interpreter waits for its turn"
        assert recording.poll()[0] == [] and not (outdir / "probe.out").exists(), "nothing ran or was recorded"
        ending, message = supervisor.run()
        supervisor.stop()
        raw = supervisor.finish()
    printer.close()
    assert ending is Ending.COMPLETE, message
    assert [r["call"] for r in raw if r["pid"] == pid][:1] == ["start"], "the held process is the one that ran"
    said = _said(outdir / "probe.out")
    assert said["fds"] == "['0', '1', '2', '3']" and said["hold"] == "[]"


def _probes(folder: Path) -> list[str]:
    """The live processes running probe.py in `folder`."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            here = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            continue
        if b"probe.py" in cmdline and here == str(folder):
            found.append(pid)
    return found
