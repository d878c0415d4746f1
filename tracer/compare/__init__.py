"""Comparing traces: the canonical form of a run, the differences between two, golden files.

    from ipctrace.compare import canonicalize, diff_traces, load
    result = diff_traces(trace_a, trace_b, ignore={"sleeps"})
    if not result.equivalent:
        print(result.explain())

`load` reads a trace file, an output folder or a golden (canonical) file, so
`ipctrace diff` accepts any of them; `run_canonical` runs a scenario under the
tracer and returns its canonical form (what the pytest plugin checks against
its goldens).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ipctrace.compare.canonical import (
        FORMAT,
        Call,
        CanonicalError,
        CanonicalPacket,
        CanonicalProcess,
        CanonicalTrace,
        Flow,
        canonicalize,
        load,
        save,
        without,
    )
    from ipctrace.compare.diff import IGNORABLE, Difference, DiffResult, check_ignore, diff_canonical, diff_traces
    from ipctrace.scenarios import Scenario
    from ipctrace.session import RunResult

# The names above are imported when first used (PEP 562): pytest imports the plugin module
# ipctrace.compare.pytest_plugin, and so this package, in every project of an environment with ipctrace.
_CANONICAL = ("FORMAT", "Call", "CanonicalError", "CanonicalPacket", "CanonicalProcess", "CanonicalTrace", "Flow")
_CANONICAL_FUNCTIONS = ("canonicalize", "load", "save", "without")
_DIFF = ("IGNORABLE", "Difference", "DiffResult", "check_ignore", "diff_canonical", "diff_traces")
_LAZY = {
    **dict.fromkeys(_CANONICAL + _CANONICAL_FUNCTIONS, "ipctrace.compare.canonical"),
    **dict.fromkeys(_DIFF, "ipctrace.compare.diff"),
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def run_canonical(
    scenario: str | Path | Scenario, outdir: Path, capture: str = "none", port: int = 0
) -> tuple[RunResult, CanonicalTrace]:
    """Run a scenario (name, .toml path or Scenario) in `outdir` on a free port; its result and canonical form.

    Packets need capture privileges, so capture is off unless asked for.
    """
    from ipctrace.compare.canonical import canonicalize
    from ipctrace.scenarios import Scenario, find_scenario
    from ipctrace.session import RunOptions, run_scenario

    if not isinstance(scenario, Scenario):
        scenario = find_scenario(str(scenario))
    result = run_scenario(scenario, RunOptions(outdir=outdir, capture=capture, port=port))
    return result, canonicalize(result.trace)


__all__ = [
    "FORMAT",
    "IGNORABLE",
    "Call",
    "CanonicalError",
    "CanonicalPacket",
    "CanonicalProcess",
    "CanonicalTrace",
    "DiffResult",
    "Difference",
    "Flow",
    "canonicalize",
    "check_ignore",
    "diff_canonical",
    "diff_traces",
    "load",
    "run_canonical",
    "save",
    "without",
]
