"""Comparing traces: the canonical form of a run, the differences between two, golden files.

    from ipctrace.compare import canonicalize, diff_traces, load
    result = diff_traces(trace_a, trace_b, ignore={"sleeps"})
    if not result.equivalent:
        print(result.explain())

`load` reads a trace file, an output folder or a golden (canonical) file, so
`ipctrace diff` accepts any of them. This library runs nothing: running a
scenario to compare it is `ipctrace.compare.runner` (glue over the session),
used by the pytest plugin (`pytest_plugin.py`, `fixture.py`) and the CLI.

The modules, each with one job:

- `form`: the canonical form as frozen records and its JSON; `identity`: roles and call references
- `canonical`: a trace → its form, with `naming` (symbols), `rules` (one rule per call kind of the table
  of calls), `handlers` (signal handlers), `equivalence` (what the kernel decides), `text` and `constants`
- `choices`: what a comparison may leave out; `diff` and `align`: the differences in words, in linear time,
  with `sequences` (two runs' calls or packets in program order) and `flows` (messages); `describe`: the
  parts of a form in words
- `golden`: golden files (read, write, compare by `==`); `book`: which goldens a test session used and wrote
- `listing`: a form as text to read (`ipctrace show golden.json`)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ipctrace.compare.canonical import canonicalize
    from ipctrace.compare.choices import CHOICES, IGNORABLE, READ_BOUNDARIES, check_ignore, parse_choices, without
    from ipctrace.compare.diff import Difference, DiffResult, diff_canonical, diff_traces
    from ipctrace.compare.form import (
        FORMAT,
        CanonicalCall,
        CanonicalFlow,
        CanonicalPacket,
        CanonicalProcess,
        CanonicalTrace,
    )
    from ipctrace.compare.golden import CanonicalError, Golden, dumps, load, loads, save
    from ipctrace.compare.identity import CallRef, Role

# Imported when first used (PEP 562): pytest loads the plugin module ipctrace.compare.pytest_plugin, and so this
# package, in every project of an environment where ipctrace is installed.
_LAZY = {
    **dict.fromkeys(("canonicalize",), "canonical"),
    **dict.fromkeys(("CHOICES", "IGNORABLE", "READ_BOUNDARIES", "check_ignore", "parse_choices", "without"), "choices"),
    **dict.fromkeys(("Difference", "DiffResult", "diff_canonical", "diff_traces"), "diff"),
    **dict.fromkeys(
        ("FORMAT", "CanonicalCall", "CanonicalFlow", "CanonicalPacket", "CanonicalProcess", "CanonicalTrace"), "form"
    ),
    **dict.fromkeys(("CanonicalError", "Golden", "dumps", "load", "loads", "save"), "golden"),
    **dict.fromkeys(("CallRef", "Role"), "identity"),
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "CHOICES",
    "FORMAT",
    "IGNORABLE",
    "READ_BOUNDARIES",
    "CallRef",
    "CanonicalCall",
    "CanonicalError",
    "CanonicalFlow",
    "CanonicalPacket",
    "CanonicalProcess",
    "CanonicalTrace",
    "DiffResult",
    "Difference",
    "Golden",
    "Role",
    "canonicalize",
    "check_ignore",
    "diff_canonical",
    "diff_traces",
    "dumps",
    "load",
    "loads",
    "parse_choices",
    "save",
    "without",
]
