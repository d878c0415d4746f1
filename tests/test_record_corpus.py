"""The whole truth, checked against strace: a corpus of small real programs (tests/programs/corpus/).

Each program runs untraced, then traced *under* `strace -f -yy` (one run, so pids, threads and
descriptor numbers are the same on both sides). For every traced thread and descriptor strace
saw moving bytes through a pipe, FIFO or socket, the trace holds the same byte count in each
direction; no received byte is unexplained; output and exit code are the untraced ones.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from ipctrace.assemble import build_trace
from ipctrace.calls import RECEIVES, SENDS
from ipctrace.link import link
from ipctrace.model import Header, Inode, Stream
from ipctrace.record import tracing_environment
from ipctrace.record.reader import read_logs
from tests.conftest import PROGRAMS

CORPUS = sorted(p.name for p in (PROGRAMS / "corpus").glob("*.py"))
DATA_SYSCALLS = "read,write,readv,writev,recvfrom,sendto,recvmsg,sendmsg,sendfile,splice"
_LINE = re.compile(r"^(?P<call>\w+)\((?P<fd>\d+)<(?P<what>[^>]*)>(?P<rest>.*)\)\s+=\s+(?P<res>\d+)")
_SPLICE_DST = re.compile(r",\s*NULL,\s*(?P<fd>\d+)<(?P<what>[^>]*)>|,\s*\[\d+\],\s*(?P<fd2>\d+)<(?P<what2>[^>]*)>")
_SENT = {"write", "writev", "sendto", "sendmsg", "sendfile", "splice"}
_IPC = ("pipe:", "socket:", "UNIX", "TCP", "UDP")

Key = tuple[int, int, str]  # (thread id, fd, "in" or "out")


def test_the_corpus_is_big_enough():
    assert len(CORPUS) >= 20


def _strace_bytes(prefix: Path, fifo_paths: set[str]) -> dict[Key, int]:
    """Bytes strace saw per (thread, fd, direction) on pipes, FIFOs and sockets."""
    out: dict[Key, int] = defaultdict(int)
    for path in prefix.parent.glob(prefix.name + ".*"):
        tid = int(path.suffix[1:])
        for line in path.read_text(errors="replace").splitlines():
            m = _LINE.match(line)
            if not m or int(m["res"]) == 0:
                continue
            call, fd, what = m["call"], int(m["fd"]), m["what"]
            if call == "splice":  # recorded on its destination (the bytes move inside the kernel)
                d = _SPLICE_DST.search(m["rest"])
                if d is None:
                    continue
                fd, what = int(d["fd"] or d["fd2"]), d["what"] or d["what2"]
            if not what.startswith(_IPC) and what not in fifo_paths:
                continue
            out[(tid, fd, "out" if call in _SENT else "in")] += int(m["res"])
    return dict(out)


def _trace_bytes(records: list[dict]) -> dict[Key, int]:
    out: dict[Key, int] = defaultdict(int)
    for r in records:
        if r.get("state") != "done" or r.get("err") or r.get("fd") is None:
            continue
        if (r.get("ep") or [0, 0, ""])[2] in ("", "file", "dir", "tty", "char", "other"):
            continue  # not IPC (tempfile writes a probe file, for one)
        if r["call"] in SENDS:
            out[(r["tid"], r["fd"], "out")] += r.get("size") or 0
        elif r["call"] in RECEIVES:
            out[(r["tid"], r["fd"], "in")] += r.get("size") or 0
    return dict(out)


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed (scripts/install.sh installs it)")
@pytest.mark.parametrize("program", CORPUS)
def test_every_byte_strace_saw_is_in_the_trace(program, tmp_path):
    path = PROGRAMS / "corpus" / program
    plain = subprocess.run([sys.executable, str(path)], capture_output=True, stdin=subprocess.DEVNULL, timeout=60)
    logs, prefix = tmp_path / "logs", tmp_path / "strace" / "st"
    prefix.parent.mkdir()
    cmd = ["strace", "-f", "-ff", "-yy", "-qq", "-s", "0", "-e", f"trace={DATA_SYSCALLS}", "-o", str(prefix)]
    proc = subprocess.Popen(
        [*cmd, sys.executable, str(path)],
        env=tracing_environment(str(logs)),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    streams = {}
    for pipe, stream in ((proc.stdout, Stream.STDOUT), (proc.stderr, Stream.STDERR)):
        st = os.fstat(pipe.fileno())  # type: ignore[union-attr]
        streams[Inode(st.st_dev, st.st_ino)] = stream
    out, err = proc.communicate(timeout=120)
    assert (out, err, proc.returncode) == (plain.stdout, plain.stderr, plain.returncode), "traced ≠ untraced"

    records, problems = read_logs(logs)
    assert not problems.sentences() and not problems.messages
    fifos = {r["args"]["path"] for r in records if r["call"] == "open" and r.get("ep", [0, 0, ""])[2] == "pipe"}
    traced_tids = {r["tid"] for r in records}
    seen = {k: v for k, v in _strace_bytes(prefix, fifos).items() if k[0] in traced_tids}
    recorded = _trace_bytes(records)
    missing = {k: (v, recorded.get(k, 0)) for k, v in seen.items() if recorded.get(k, 0) != v}
    assert not missing, f"(thread, fd, direction): (bytes strace saw, bytes in the trace) = {missing}"
    assert seen, "the program moved bytes through IPC"

    header = Header(version=1, command=(program,), host="", clock="", started=0, streams=streams)
    trace = build_trace(header, records)
    linked = link(trace)
    assert linked.unexplained_bytes == 0, [str(f) for f in linked.unexplained][:5]
