"""Start-up: `ipctrace --help`, what the recorder adds to every traced process, what the plugin adds to pytest."""

from __future__ import annotations

import os
import re
import resource
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path

from benchmarks.common import PYTHON, REPO, Context, Section, Stat, Table, Target, num, ratios, wall

RUNS = 15
QUICK_RUNS = 2
PLUGIN_TARGET = 1.05  # pytest start-up of a project not using ipctrace, with the plugin / without: nothing measurable
CLI_TARGET = 2.0  # issue 20: the commands that run nothing start within 2x of a bare interpreter
_TINY_TESTS = "def test_one():\n    assert 1\n\n\ndef test_two():\n    assert 2\n"
_IMPORT_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def _timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall ms, CPU ms) of one run: the CPU time (user + system) is steadier than the wall on a shared machine."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    seconds = wall(cmd, env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds * 1000, cpu * 1000


def _importtime(env: dict[str, str], args: list[str], cwd: Path = REPO) -> list[tuple[int, str, float]]:
    """`python -X importtime ARGS`: (depth, module, cumulative ms) in the order Python prints them."""
    proc = subprocess.run(
        [PYTHON, "-X", "importtime", *args], env=env, cwd=cwd, capture_output=True, text=True, check=True
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


_COUNT_MODULES = (
    "import sys, pytest\n"
    "pytest.main(sys.argv[1:])\n"
    "print(sum(m == 'ipctrace' or m.startswith('ipctrace.') for m in sys.modules), file=sys.stderr)\n"
)


def _ipctrace_modules_loaded(env: dict[str, str], cwd: Path, pytest_args: list[str]) -> int:
    """How many ipctrace modules are in sys.modules once pytest has run with these arguments (in-process)."""
    proc = subprocess.run(
        [PYTHON, "-c", _COUNT_MODULES, *pytest_args], env=env, cwd=cwd, capture_output=True, text=True, check=True
    )
    return int(proc.stderr.split()[-1])


def _import_ms(env: dict[str, str], modules: tuple[str, ...]) -> float:
    """Cumulative import ms of ipctrace's modules when `modules` are imported after pytest (`-X importtime`).

    Not read from the pytest run itself: pytest loads plugins with `importlib.import_module`, which
    `-X importtime` does not report.
    """
    if not modules:
        return 0.0
    code = "import pytest\n" + "".join(f"import {m}\n" for m in modules)
    entries = _importtime(env, ["-c", code])
    return sum(ms for depth, name, ms in entries if depth == 0 and name.split(".")[0] == "ipctrace")


def pytest_startup(ctx: Context, runs: int) -> tuple[Table, Target]:
    """`pytest --co -q` of an unrelated tiny project without the plugin, with it, and with its fixture's imports.

    The plugin is loaded by its entry point in every project of the environment; `-p no:ipctrace` blocks it
    before its module is imported. The third row loads `ipctrace.compare.fixture` as well, which imports what
    the fixture needs: what every pytest run paid when the plugin imported it at start-up.
    """
    project = ctx.scratch("pytest-project")
    (project / "test_tiny.py").write_text(_TINY_TESTS)
    env = {k: v for k, v in ctx.child_env().items() if not k.startswith("PYTEST_")}
    base = ["--co", "-q", "-p", "no:cacheprovider"]
    plugin = "ipctrace.compare.pytest_plugin"
    cases = {  # name: (pytest's arguments, the ipctrace modules it imports at start-up)
        "without the plugin (`-p no:ipctrace`)": ([*base, "-p", "no:ipctrace"], ()),
        "with the plugin (as installed)": (base, (plugin,)),
        "with the plugin and its fixture's imports (`-p ipctrace.compare.fixture`)": (
            [*base, "-p", "ipctrace.compare.fixture"],
            (plugin, "ipctrace.compare.fixture"),
        ),
    }
    commands = {name: [PYTHON, "-m", "pytest", *args] for name, (args, _) in cases.items()}
    for cmd in commands.values():
        wall(cmd, env, cwd=project)
    times: dict[str, list[float]] = defaultdict(list)
    for _ in range(runs):
        for name, cmd in commands.items():
            times[name].append(wall(cmd, env, cwd=project) * 1000)
    without = times[next(iter(cases))]
    rows = [
        [
            name,
            Stat.of(times[name]).cell(1),
            ratios(times[name], without).cell(3),
            str(_ipctrace_modules_loaded(env, project, args)),
            num(_import_ms(env, modules), 1),
        ]
        for name, (args, modules) in cases.items()
    ]
    ratio = ratios(times["with the plugin (as installed)"], without)
    table = Table(
        [
            "`pytest --co -q` of a project not using ipctrace",
            "wall ms",
            "× without the plugin",
            "ipctrace modules loaded",
            "their import ms",
        ],
        rows,
        f"median (min–max) over {runs} runs, the three commands interleaved, the ratio taken run by run; the "
        "modules counted in `sys.modules` after the run, their import time from one `python -X importtime` run "
        "(steadier than the wall time on a shared machine)",
    )
    target = Target(
        "pytest start-up, unrelated project: with the plugin / without",
        f"≤ {PLUGIN_TARGET:.2f}x",
        f"{ratio.median:.3f}x",
        ratio.median <= PLUGIN_TARGET,
    )
    return table, target


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
        "`ipctrace --version`": ([PYTHON, "-m", "ipctrace", "--version"], warm),
        "`ipctrace list`": ([PYTHON, "-m", "ipctrace", "list"], warm),
    }
    times: dict[str, list[float]] = defaultdict(list)
    cpu: dict[str, list[float]] = defaultdict(list)
    for cmd, env in cases.values():  # warm the bytecode cache and the page cache
        wall(cmd, env)
    ctx.log(f"  start-up: {len(cases)} commands x {runs}")
    for _ in range(runs):
        for name, (cmd, env) in cases.items():
            ms, cpu_ms = _timed(cmd, env)
            times[name].append(ms)
            cpu[name].append(cpu_ms)
    base = times["`python -c pass`"]
    base_cpu = cpu["`python -c pass`"]
    rows = [
        [
            name,
            Stat.of(v).cell(1),
            ratios(v, base).cell(2),
            Stat.of(a - b for a, b in zip(v, base, strict=True)).cell(1),
            Stat.of(cpu[name]).cell(1),
            Stat.of(a - b for a, b in zip(cpu[name], base_cpu, strict=True)).cell(1),
        ]
        for name, v in times.items()
    ]
    commands = ("`ipctrace --help`", "`ipctrace --version`", "`ipctrace list`")
    cli = {name: ratios(times[name], base).median for name in commands}
    slowest = max(cli, key=lambda name: cli[name])
    section = Section(
        "startup",
        "Start-up",
        "Wall time of short commands, each a fresh process, against a bare `python -c pass` of the same "
        "interpreter. *traced* is `python -c pass` with ipctrace's environment: the `sitecustomize` on "
        "PYTHONPATH imports the recorder, installs its wrappers and writes the start and exit events, which "
        "every traced process (and every Python child it starts) pays once. This machine's shell sets "
        "PYTHONDONTWRITEBYTECODE, so the rows marked *no bytecode cache* show what it costs when ipctrace's own "
        "modules are compiled from source at every start; the other rows have the bytecode cached as after a "
        "normal install. The last table is pytest's start-up in a project that does not use ipctrace: pytest "
        "loads ipctrace's plugin there too, and it must cost nothing measurable "
        f"(target: at most {PLUGIN_TARGET:.2f}x without it).",
    )
    section.tables.append(
        Table(
            ["command", "wall ms", "× `python -c pass`", "added ms", "CPU ms", "added CPU ms"],
            rows,
            f"median (min–max) over {runs} runs, the commands interleaved; CPU is user + system time of the process",
        )
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
    section.targets.append(
        Target(
            "`ipctrace --help`, `--version`, `list` / `python -c pass`",
            f"≤ {CLI_TARGET:.1f}x",
            f"{cli[slowest]:.2f}x ({slowest.strip('`')}, the slowest)",
            cli[slowest] <= CLI_TARGET,
        )
    )
    table, target = pytest_startup(ctx, 3 * runs)  # a small difference in a noisy start-up: more runs
    section.tables.append(table)
    section.targets.append(target)
    shutil.rmtree(events, ignore_errors=True)
    return section
