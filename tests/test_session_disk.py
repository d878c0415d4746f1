"""A full disk is one sentence: the run stops, says what it kept, and no file under a real name is cut short.

The disk is real: a small tmpfs mounted by the test (root only; CI runs as root).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from ipctrace.link import link
from ipctrace.order import order
from ipctrace.render import RenderOptions, render
from ipctrace.render.text import timeline
from ipctrace.tracefile import read_trace
from tests.conftest import PROGRAMS
from tests.test_session_signals import running_with

TEXT_FORMATS = {"sequence.mmd": "mermaid", "sequence.puml": "plantuml", "sequence.txt": "text"}


@pytest.fixture
def small_disk(tmp_path):
    """A 4 MiB tmpfs: a real file system that fills up."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("needs root and mount(8) to mount a small tmpfs")
    disk = tmp_path / "small"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(disk)], check=True)
    yield disk
    subprocess.run(["umount", "-l", str(disk)], check=False)


def whole(path: Path) -> bool:
    """Whether a diagram file is complete: it parses (SVG), or ends the way its format ends (PDF, PNG)."""
    data = path.read_bytes()
    if path.suffix == ".svg":
        ET.fromstring(data)
        return True
    if path.suffix == ".pdf":
        return data.rstrip().endswith(b"%%EOF")
    if path.suffix == ".png":
        return data.endswith(b"IEND\xaeB`\x82")
    return True


def test_a_full_disk_stops_the_run_keeps_its_trace_and_says_so(tmp_path, small_disk):
    shutil.copy(PROGRAMS / "fills_stdout.py", tmp_path / "fills_stdout.py")
    result = subprocess.run(
        [sys.executable, "-m", "ipctrace", "run", "--output", str(small_disk), "--no-capture", "--quiet"]
        + ["--", sys.executable, str(tmp_path / "fills_stdout.py"), "16"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "Traceback" not in result.stderr
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    folder = small_disk / "fills_stdout"
    trace = read_trace(folder / "trace.jsonl")  # whole: it parses to its last line
    calls = sum(1 for e in trace.events if not e.blocked)
    kept = (folder / "main.out.partial").stat().st_size
    assert result.stderr == (f"ipctrace: {trace.header.ending_note}.\n"), (
        "the sentence is the one in the trace's header"
    )
    assert result.stderr.startswith("ipctrace: the disk filled up (No space left on device), so the run stopped after")
    assert f"trace.jsonl holds the {calls} calls recorded until then" in result.stderr
    assert f"main's output is cut short at {kept:,} bytes (in main.out.partial)" in result.stderr
    assert trace.header.ending == "disk-full" and 0 < kept < 4 * 1024 * 1024
    assert not (folder / "main.out").exists(), "cut output never looks whole"

    names = {p.name for p in folder.iterdir()}
    assert not {n for n in names if n.endswith((".tmp", ".partial")) and n != "main.out.partial"}
    assert not {n for n in names if n.startswith((".drawing", ".ipctrace-reserve", ".previous"))}
    ordered = order(link(trace))
    if (folder / "summary.json").exists():
        assert json.loads((folder / "summary.json").read_text())["ending"] == "disk-full"
    if (folder / "timeline.txt").exists():
        assert (folder / "timeline.txt").read_text() == timeline(trace)
    for name, fmt in TEXT_FORMATS.items():
        if (folder / name).exists():
            assert (folder / name).read_text() == render(ordered, fmt, RenderOptions())
    for diagram in folder.glob("sequence*"):
        assert whole(diagram), diagram
    assert running_with(str(tmp_path / "fills_stdout.py")) == []
