"""Start-up: `ipctrace --help`, and what the recorder adds to the start of every traced process."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections import defaultdict

from benchmarks.common import PYTHON, REPO, Context, Section, Stat, Table, num, ratios, wall

RUNS = 15
QUICK_RUNS = 2
_IMPORT_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def _importtime(env: dict[str, str], args: list[str]) -> list[tuple[int, str, float]]:
    """`python -X importtime ARGS`: (depth, module, cumulative ms) in the order Python prints them."""
    proc = subprocess.run(
        [PYTHON, "-X", "importtime", *args], env=env, cwd=REPO, capture_output=True, text=True, check=True
    )
    entries = []
    for line in proc.stderr.splitlines():
        m = _IMPORT_LINE.match(line)
        if m:
            entries.append((len(m.group(3)) // 2, m.group(4), int(m.group(2)) / 1000))
    return entries


def _children(entries: list[tuple[int, str, float]], i: int) -> list[tuple[str, float]]:
    """Direct sub-imports of entry `i` (printed before it, one level deeper), largest first."""
    depth = entries[i][0]
    found = []
    for d, name, ms in reversed(entries[:i]):
        if d <= depth:
            break
        if d == depth + 1:
            found.append((name, ms))
    return sorted(found, key=lambda x: -x[1])


def import_times(env: dict[str, str], module: str) -> tuple[float, list[tuple[str, float]]]:
    """(cumulative ms of importing `module`, its direct sub-imports with their cumulative ms)."""
    entries = _importtime(env, ["-c", f"import {module}"])
    for i, (_depth, name, ms) in enumerate(entries):
        if name == module:
            return ms, _children(entries, i)
    return 0.0, []  # already imported by site: nothing to measure


def cli_imports(env: dict[str, str]) -> list[tuple[str, float]]:
    """What `ipctrace --help` imports of ipctrace's own: top-level tracer modules and their large sub-imports."""
    entries = _importtime(env, ["-m", "ipctrace", "--help"])
    out = []
    for i, (depth, name, ms) in enumerate(entries):
        if depth == 0 and name.startswith("ipctrace") and ms >= 1:
            out.append((f"`{name}`", ms))
            out += [(f"… of which `{n}`", m) for n, m in _children(entries, i) if m >= 10]
    return out


def run(ctx: Context) -> Section:
    from ipctrace.record import tracing_environment

    runs = QUICK_RUNS if ctx.quick else RUNS
    warm = ctx.child_env()
    cold = dict(os.environ)  # as this machine runs Python: PYTHONDONTWRITEBYTECODE set, ipctrace compiled each time
    cold.pop("PYTHONPYCACHEPREFIX", None)
    cold["PYTHONDONTWRITEBYTECODE"] = "1"
    events = ctx.scratch("startup") / "recording"
    cases = {
        "`python -c pass`": ([PYTHON, "-c", "pass"], warm),
        "`python -c pass`, traced": ([PYTHON, "-c", "pass"], tracing_environment(str(events), base=warm)),
        "`python -c pass`, traced, no bytecode cache": (
            [PYTHON, "-c", "pass"],
            tracing_environment(str(events), base=cold),
        ),
        "`ipctrace --help`": ([PYTHON, "-m", "ipctrace", "--help"], warm),
        "`ipctrace --help`, no bytecode cache": ([PYTHON, "-m", "ipctrace", "--help"], cold),
    }
    times: dict[str, list[float]] = defaultdict(list)
    for cmd, env in cases.values():  # warm the bytecode cache and the page cache
        wall(cmd, env)
    ctx.log(f"  start-up: {len(cases)} commands x {runs}")
    for _ in range(runs):
        for name, (cmd, env) in cases.items():
            times[name].append(wall(cmd, env) * 1000)
    base = times["`python -c pass`"]
    rows = [
        [
            name,
            Stat.of(v).cell(1),
            ratios(v, base).cell(2),
            Stat.of(a - b for a, b in zip(v, base, strict=True)).cell(1),
        ]
        for name, v in times.items()
    ]
    section = Section(
        "startup",
        "Start-up",
        "Wall time of short commands, each a fresh process, against a bare `python -c pass` of the same "
        "interpreter. *traced* is `python -c pass` with ipctrace's environment: the `sitecustomize` on "
        "PYTHONPATH imports the recorder, installs its wrappers and writes the start and exit events, which "
        "every traced process (and every Python child it starts) pays once. This machine's shell sets "
        "PYTHONDONTWRITEBYTECODE, so the rows marked *no bytecode cache* show what it costs when ipctrace's own "
        "modules are compiled from source at every start; the other rows have the bytecode cached as after a "
        "normal install. There is no target for this section.",
    )
    section.tables.append(
        Table(["command", "wall ms", "× `python -c pass`", "added ms"], rows, f"median (min–max) over {runs} runs")
    )
    imp_rows = []
    detail = []
    for label, env in (("bytecode cached", warm), ("no bytecode cache", cold)):
        samples = [import_times(env, "ipctrace.record.patches") for _ in range(max(1, runs // 3))]
        imp_rows.append([f"`import ipctrace.record.patches` ({label})", Stat.of(s[0] for s in samples).cell(1)])
        if label == "bytecode cached":
            detail = samples[len(samples) // 2][1]
    section.tables.append(
        Table(
            ["import (`python -X importtime`)", "cumulative ms"],
            imp_rows + [[f"… of which `{name}`", num(ms, 1)] for name, ms in detail if ms >= 0.3],
            "the traced-process side; sub-imports from one run with the bytecode cached, largest first "
            "(a module another import already loaded counts where it was first imported)",
        )
    )
    help_imports = cli_imports(warm)
    if help_imports:
        section.tables.append(
            Table(
                ["what `ipctrace --help` imports (`python -X importtime`)", "cumulative ms"],
                [[name, num(ms, 1)] for name, ms in help_imports],
                "one run, bytecode cached: ipctrace's own top-level imports and their sub-imports of 10 ms or more",
            )
        )
    shutil.rmtree(events, ignore_errors=True)
    return section
