"""Shared fixtures: run real programs under the tracer, in a temporary output folder; traces made longer."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import NoReturn

import pytest

from ipctrace.model import Event, Trace
from ipctrace.scenarios import adhoc_scenario, find_scenario
from ipctrace.session import RunOptions, RunResult, run_scenario

PROGRAMS = Path(__file__).parent / "programs"
IN_CI = bool(os.environ.get("CI"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI every tool a test needs is installed: a test that skips there is a failure of the set-up."""
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, where nothing may skip: {reason}"


def can_capture() -> str | None:
    """None when packet capture works here, else what is missing."""
    from ipctrace.capture import capture_unavailable_reason

    return capture_unavailable_reason("scapy")


def missing(what: str) -> NoReturn:
    """A test cannot run without `what` (named with how to install it): skip, or fail in CI, where all is installed."""
    if IN_CI:
        pytest.fail(f"CI must have {what}")
    pytest.skip(f"needs {what}")


def need_tool(tool: str, why: str = "") -> str:
    """The path of `tool` on PATH, or `missing` it (scripts/install.sh installs what the suite needs)."""
    path = shutil.which(tool)
    if path is None:
        missing(f"{tool} ({why + '; ' if why else ''}scripts/install.sh installs it)")
    return path


def require_capture() -> None:
    reason = can_capture()
    if reason is not None:
        missing(f"packet capture, which does not work here: {reason}")


@pytest.fixture
def trace_program(tmp_path):
    """Run tests/programs/NAME under the tracer; returns the RunResult."""

    def run(
        name: str, *args: str, stdin: list[str] | None = None, capture: str = "none", timeout: float = 30.0
    ) -> RunResult:
        scenario = adhoc_scenario([sys.executable, str(PROGRAMS / name), *args], timeout=timeout)
        if stdin is not None:
            from dataclasses import replace

            scenario = replace(scenario, roles=(replace(scenario.roles[0], stdin=tuple(stdin), interactive=False),))
        return run_scenario(scenario, RunOptions(outdir=tmp_path / "run", capture=capture, port=0))

    return run


@pytest.fixture
def trace_scenario(tmp_path):
    """Run a named scenario on a free port in a temporary folder; returns the RunResult."""

    def run(name: str, capture: str = "none", **changes) -> RunResult:
        scenario = find_scenario(name)
        if changes:
            from dataclasses import replace

            scenario = replace(scenario, **changes)
        return run_scenario(scenario, RunOptions(outdir=tmp_path / name, capture=capture, port=0))

    return run


def ipctrace(
    *args: str, cwd: Path | None = None, stdout: int | object = subprocess.PIPE, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """The `ipctrace` command as a user types it, in a subprocess of its own (no terminal on stdin)."""
    return subprocess.run(
        [sys.executable, "-m", "ipctrace", *args],
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        timeout=timeout,  # a guard against a hang, not a speed target
        stdin=subprocess.DEVNULL,
    )


def refused(result: subprocess.CompletedProcess, *fragments: str) -> str:
    """The one sentence of a refusal (exit status 2, no traceback), checked to hold each fragment."""
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    sentence = result.stderr.strip()
    assert sentence.startswith("ipctrace: ") and "\n" not in sentence, sentence
    for fragment in fragments:
        assert fragment in sentence, (fragment, sentence)
    return sentence


def written_again(trace: Trace, times: int) -> Trace:
    """`trace` with its events `times` over, each round with the next seqs and a second later: the same
    line shapes again and again, as a long run of one program writes them."""
    seqs: dict[int, int] = {}
    events = []
    for k in range(times):
        for e in trace.events:
            seq = seqs[e.pid] = seqs.get(e.pid, -1) + 1
            t1 = None if e.t1 is None else e.t1 + k * 10**9
            events.append(Event(e.pid, seq, e.ppid, e.tid, e.t0 + k * 10**9, t1, e.call, e.fd, e.endpoint,
                                e.args, e.result, e.error, e.data, e.size, e.local, e.peer, e.peer_endpoint,
                                e.blocked, e.address, e.fds, e.reaped, e.site))  # fmt: skip
    return Trace(trace.header, trace.processes, tuple(events), trace.packets)
