"""Run a scenario's programs the plain way, untraced: the baseline for `ipctrace run`.

    python untraced_roles.py SCENARIO OUTDIR [--port N]

Starts each role's command in order with the placeholders filled in
(`{python}`, `{port}`, `{outdir}`), from the repository root. A role whose
scenario waits for its `listen` or `bind` is considered ready once the port
shows up in /proc/net (no tracer to tell us). Scripted stdin lines are written
up front and stdin closed; each role's output goes to OUTDIR/ROLE.out. Exits
with the first non-zero exit status of a role.
"""

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(REPO))

from ipctrace.scenarios import find_scenario  # noqa: E402 - after the path is set


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def port_open(port: int, listening: bool) -> bool:
    """Is `port` bound (any UDP/TCP socket), or listened on (TCP LISTEN), according to /proc/net?"""
    tables = ("tcp", "tcp6") if listening else ("tcp", "tcp6", "udp", "udp6")
    for name in tables:
        try:
            lines = Path(f"/proc/net/{name}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and (not listening or fields[3] == "0A"):
                return True
    return False


def generate(path: Path, size: int) -> None:
    line = b"benchmark data: the quick brown fox jumps over the lazy dog 0123456789\n"
    data = (line * (size // len(line) + 1))[:size]
    path.write_bytes(data)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario")
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    scenario = find_scenario(args.scenario)
    outdir = args.outdir.resolve()
    outdir.mkdir(parents=True, exist_ok=True)
    for name, size in scenario.generate.items():
        generate(outdir / name, size)
    port = args.port or free_port()
    programs = REPO / "reference_programs"
    subst = {
        "python": sys.executable,
        "port": str(port),
        "outdir": str(outdir),
        "cwd": str(REPO),
        "programs": str(programs),
    }
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    procs = []
    deadline = time.monotonic() + scenario.timeout
    for role in scenario.roles:
        out = open(outdir / f"{role.name}.out", "wb")
        proc = subprocess.Popen(
            [a.format(**subst) for a in role.command],
            cwd=REPO,
            env=env,
            stdin=subprocess.PIPE if role.stdin else subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        if role.stdin:
            proc.stdin.write("".join(role.stdin).encode())
            proc.stdin.close()
        procs.append((role, proc))
        if role.ready:
            listening = "listen" in role.ready
            while not port_open(port, listening):
                if proc.poll() is not None or time.monotonic() > deadline:
                    sys.stderr.write(f"{role.name} never became ready on port {port}\n")
                    return 1
                time.sleep(0.001)
    status = 0
    for role, proc in procs:
        if role.service:
            continue
        status = status or proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    for role, proc in procs:
        if role.service and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait()
    return status


if __name__ == "__main__":
    raise SystemExit(main())
