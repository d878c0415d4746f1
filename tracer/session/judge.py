"""Did a run end the way its scenario expects? The verdict and the sentence that explains it."""

from __future__ import annotations

import signal
from dataclasses import dataclass
from pathlib import Path

from ipctrace.calls import syscalls_for
from ipctrace.model import Event, ExitStatus, Trace
from ipctrace.scenarios import Impl, Scenario
from ipctrace.session.output import output_name
from ipctrace.session.results import Blocked, Ending
from ipctrace.session.roles import RoleRun

_STOPPED_BY_US = (ExitStatus(signal=signal.SIGTERM), ExitStatus(code=0))


@dataclass(frozen=True)
class Verdict:
    ending: Ending
    ok: bool
    message: str


def blocked_processes(trace: Trace) -> list[Blocked]:
    """The processes a trace shows still inside a call when the run was stopped."""
    roles = {p.pid: p.role for p in trace.processes}
    return [
        Blocked(
            e.pid,
            roles.get(e.pid, f"pid {e.pid}"),
            e.call,
            e.fd,
            _blocked_in(e),
        )
        for e in trace.events
        if e.blocked
    ]


def _blocked_in(event: Event) -> str:
    """`read(fd 3)`; a readiness wait says what it waits on: `select(fds 3, 5)`, `epoll_wait(epoll fd 7)`."""
    if event.fd is not None:
        return f"{event.call}(fd {event.fd})"
    args = event.args
    if isinstance(args.get("epfd"), int):
        return f"{event.call}(epoll fd {args['epfd']})"
    waited = sorted({fd for key in ("r", "w", "x", "fds") for fd in (args.get(key) or ()) if isinstance(fd, int)})
    if waited:
        return f"{event.call}(fd{'s' if len(waited) > 1 else ''} {', '.join(map(str, waited))})"
    return str(event.call)


def matches_expected(scenario: Scenario, blocked: list[Blocked]) -> bool:
    """Each (role, call) the scenario's ending names is blocked in that call (the role or one of its children)."""
    assert scenario.ending is not None
    for role, call in scenario.ending.blocked:
        names = syscalls_for([call])
        if not any((b.role == role or b.role.startswith(role + "/")) and b.call in names for b in blocked):
            return False
    return True


def _complete(scenario: Scenario, runs: list[RoleRun]) -> Verdict:
    """Every process ended: fine, unless the scenario expects a hang or a role failed."""
    verdict = Verdict(Ending.COMPLETE, True, "")
    if scenario.ending is not None:
        expected = ", ".join(f"{r} to stay blocked in {c}" for r, c in scenario.ending.blocked)
        verdict = Verdict(Ending.COMPLETE, False, "every process ended, but this scenario expects " + expected)
    for run in runs:
        if run.exit is None or run.exit == ExitStatus(code=0):
            continue
        if run.terminated and run.exit in _STOPPED_BY_US:
            continue
        printed = f"what it printed is in {output_name(run.role.name)}"
        verdict = Verdict(Ending.FAILED, False, f"{run.role.name} {run.exit.ended()}; {printed}")
    return verdict


def _ended(scenario: Scenario, ending: Ending, message: str, runs: list[RoleRun], blocked: list[Blocked]) -> Verdict:
    if ending is Ending.IDLE:
        if scenario.ending is not None and matches_expected(scenario, blocked):
            return Verdict(Ending.EXPECTED_BLOCKED, True, scenario.ending.explanation)
        unexpected = "the run stopped making progress, but not in the way this scenario expects"
        return Verdict(Ending.TIMEOUT, False, unexpected)
    if ending is Ending.COMPLETE:
        return _complete(scenario, runs)
    return Verdict(ending, False, message)


def nothing_recorded(scenario: Scenario, runs: list[RoleRun]) -> str:
    """Why a run recorded nothing, and what it kept."""
    files = [output_name(r.role.name) for r in runs] or ["ROLE.out"]
    outputs = " and ".join([", ".join(files[:-1]), files[-1]] if len(files) > 1 else files)
    they, their = ("they", "their") if len(files) > 1 else ("it", "its")
    kept = f"what {they} printed is in {outputs}, and {their} packets, if any, in capture.pcap"
    reasons = "; ".join(dict.fromkeys(r.untraced for r in runs if r.untraced))
    if scenario.impl == Impl.C:
        why = reasons or "the C originals ran, but the native recorder wrote no log"
        return f"nothing was recorded: {why}; {kept}; `ipctrace run {scenario.name}` traces the Python port"
    if reasons:
        return f"nothing was recorded: {reasons}; {kept}"
    return (
        "nothing was recorded: ipctrace traces Python programs started with a normal `python3` "
        "(not `python3 -I`, `-E` or `-S`, which skip the start-up hook) and other dynamically linked programs"
    )


def _differing_files(scenario: Scenario, outdir: Path) -> list[str]:
    """The `same_files` pairs whose second file is missing or differs from the first."""
    differ = []
    for a, b in scenario.same_files:
        fa, fb = outdir / a, outdir / b
        try:
            same = fb.is_file() and fa.is_file() and fa.read_bytes() == fb.read_bytes()
        except OSError:
            same = False
        if not same:
            differ.append(f"{b} is not identical to {a}")
    return differ


def judge(
    scenario: Scenario,
    ending: Ending,
    message: str,
    runs: list[RoleRun],
    blocked: list[Blocked],
    outdir: Path,
    recorded: bool,
) -> Verdict:
    """Did the run end the way the scenario expects? (ending, ok, what to tell the user)"""
    verdict = _ended(scenario, ending, message, runs, blocked)
    if not recorded:
        verdict = Verdict(Ending.FAILED, False, nothing_recorded(scenario, runs))
    differ = _differing_files(scenario, outdir)
    if differ:
        message = "; ".join([verdict.message, *differ] if verdict.message else differ)
        verdict = Verdict(verdict.ending, False, message)
    return verdict
