"""Glue: run a scenario under the tracer and give its canonical form (what the CLI's diff and the pytest plugin use).

The comparison library (`ipctrace.compare`) runs nothing; this module joins it
to the session, and says in words why a run failed (its exit status and the
last lines of its output), since a golden is never recorded from such a run.
"""

from __future__ import annotations

from pathlib import Path

from ipctrace.compare.canonical import canonicalize
from ipctrace.compare.form import CanonicalTrace
from ipctrace.scenarios import Scenario, find_scenario
from ipctrace.session import RunOptions, RunResult, run_scenario

#: Lines of a failed program's output shown with the failure.
TAIL_LINES = 8


def run_canonical(
    scenario: str | Path | Scenario,
    outdir: Path,
    capture: str = "none",
    port: int = 0,
    *,
    read_boundaries: bool = False,
) -> tuple[RunResult, CanonicalTrace]:
    """Run a scenario (name, .toml path or Scenario) in `outdir` on a free port; its result and canonical form.

    Packets need capture privileges, so capture is off unless asked for.
    """
    if not isinstance(scenario, Scenario):
        scenario = find_scenario(str(scenario))
    result = run_scenario(scenario, RunOptions(outdir=outdir, capture=capture, port=port))
    return result, canonicalize(result.trace, read_boundaries=read_boundaries)


def failure(result: RunResult, lines: int = TAIL_LINES) -> str | None:
    """Why a run did not end as its scenario expects: each failed role's exit status, its output's tail; None if ok."""
    if result.ok:
        return None
    parts = [result.message or f"the run ended: {result.ending}"]
    for proc in result.trace.processes:
        if proc.exit is not None and proc.exit.code != 0 and result.trace.process(proc.ppid) is None:
            parts.append(f"{proc.role} {proc.exit.ended()}")
    for label, path in result.files.items():
        tail = _tail(path, lines) if label.startswith("output of ") else ""
        if tail:
            parts.append(f"the last lines of the {label} (stdout and stderr):\n{tail}")
    return "\n".join(parts)


def _tail(path: Path, lines: int) -> str:
    try:
        text = path.read_bytes().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(f"    {line}" for line in text.rstrip("\n").splitlines()[-lines:])
