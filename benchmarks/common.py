"""What every benchmark group shares: the run context, statistics, child processes, Markdown tables."""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
PROGRAMS = Path(__file__).resolve().parent / "programs"
PYTHON = sys.executable


# -- the run -----------------------------------------------------------------------------------------


@dataclass
class Context:
    """One benchmark run: sizes, repeats, a scratch folder, and where progress goes."""

    quick: bool
    repeats: int
    workdir: Path
    log: Callable[[str], None] = lambda msg: print(msg, file=sys.stderr, flush=True)
    _serial: int = 0

    def scratch(self, name: str) -> Path:
        """A fresh folder under the run's scratch folder."""
        self._serial += 1
        path = self.workdir / f"{self._serial:03d}-{name}"
        path.mkdir(parents=True)
        return path

    def child_env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """The environment of every measured Python child: bytecode cached (as in a normal install).

        This machine's shell sets PYTHONDONTWRITEBYTECODE, which would make every
        child compile ipctrace's modules from source; the cache goes to the
        scratch folder so the repository is left untouched.
        """
        env = dict(os.environ if base is None else base)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(self.workdir / "pycache")
        for name in [k for k in env if k.startswith("IPCTRACE_")]:
            del env[name]
        return env


@dataclass
class Target:
    """A speed target from issue 7 and whether this run met it."""

    what: str
    target: str
    measured: str
    met: bool | None  # None: not measured here (tool missing, no privilege, API not written yet)


@dataclass
class Table:
    headers: Sequence[str]
    rows: list[Sequence[str]]
    caption: str = ""


@dataclass
class Section:
    key: str
    title: str
    intro: str
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    closing: list[str] = field(default_factory=list)  # why a target was missed, for the closing note
    seconds: float = 0.0


# -- statistics --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stat:
    values: tuple[float, ...]

    @classmethod
    def of(cls, values: Iterable[float]) -> Stat:
        return cls(tuple(values))

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def min(self) -> float:
        return min(self.values)

    @property
    def max(self) -> float:
        return max(self.values)

    def cell(self, digits: int | None = None, scale: float = 1.0) -> str:
        """`median (min–max)`, or the one value when there is one."""
        med = num(self.median * scale, digits)
        if len(self.values) < 2:
            return med
        return f"{med} ({num(self.min * scale, digits)}–{num(self.max * scale, digits)})"


def num(x: float, digits: int | None = None) -> str:
    """A number with as many decimals as it deserves (or `digits`)."""
    if digits is None:
        ax = abs(x)
        digits = 0 if ax >= 100 else 1 if ax >= 10 else 2 if ax >= 1 else 3
    return f"{x:,.{digits}f}"


def ratios(top: Sequence[float], bottom: Sequence[float]) -> Stat:
    """Per-repeat ratios of two series measured side by side (repeat i with repeat i)."""
    return Stat.of(a / b for a, b in zip(top, bottom, strict=True) if b)


def yes_no(met: bool | None) -> str:
    return {True: "met", False: "**missed**", None: "not measured"}[met]


# -- child processes ---------------------------------------------------------------------------------


class ChildFailed(RuntimeError):
    pass


def run_json(
    cmd: Sequence[str],
    env: dict[str, str] | None = None,
    timeout: float = 300,
    cwd: Path = REPO,
    stdin: Any = subprocess.DEVNULL,
) -> dict[str, Any]:
    """Run a benchmark program that prints one JSON object (or list) as its last line of output."""
    proc = subprocess.run(list(cmd), env=env, cwd=cwd, stdin=stdin, capture_output=True, text=True, timeout=timeout)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(("{", "["))]
    if proc.returncode != 0 or not lines:
        raise ChildFailed(f"{' '.join(map(str, cmd))} exited {proc.returncode}: {proc.stderr.strip()[-800:]}")
    return json.loads(lines[-1])


def wall(cmd: Sequence[str], env: dict[str, str] | None = None, cwd: Path = REPO) -> float:
    """Wall time of one run of `cmd` in seconds (output discarded); raises if it fails."""
    t0 = time.perf_counter()
    proc = subprocess.run(
        list(cmd), env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise ChildFailed(f"{' '.join(map(str, cmd))} exited {proc.returncode}: {proc.stderr.decode()[-800:]}")
    return elapsed


# -- the machine -------------------------------------------------------------------------------------


def _first_line(cmd: Sequence[str]) -> str | None:
    if shutil.which(cmd[0]) is None:
        return None
    try:
        proc = subprocess.run(list(cmd), capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (proc.stdout or proc.stderr).strip()
    return text.splitlines()[0] if text else None


def _cpuinfo() -> tuple[str, bool]:
    model, virtual = platform.processor() or platform.machine(), False
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                model = value.strip()
            elif key.strip() == "flags" and " hypervisor" in value:
                virtual = True
    except OSError:
        pass
    return model, virtual


def _memory() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return "unknown"


def _os_name() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return platform.system()


def git_commit() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return f"{head}{' with uncommitted changes' if dirty else ''}" if head else "unknown"


def machine() -> list[tuple[str, str]]:
    model, virtual = _cpuinfo()
    cores = os.cpu_count() or 0
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    tools = []
    for name, cmd in (("strace", ["strace", "-V"]), ("tcpdump", ["tcpdump", "--version"]), ("graphviz", ["dot", "-V"])):
        tools.append(f"{name}: {_first_line(cmd) or 'not installed'}")
    return [
        ("CPU", f"{model}{' (virtual machine)' if virtual else ''}"),
        ("cores", f"{cores} ({usable} usable by this process)"),
        ("memory", _memory()),
        ("kernel", f"{platform.system()} {platform.release()} ({platform.machine()})"),
        ("OS", _os_name()),
        ("Python", f"{platform.python_implementation()} {platform.python_version()} ({PYTHON})"),
        ("tools", "; ".join(tools)),
        ("ipctrace", f"commit {git_commit()}"),
        ("privilege", "root (packet capture possible)" if os.geteuid() == 0 else "not root"),
    ]


# -- Markdown ----------------------------------------------------------------------------------------


def md_table(table: Table) -> str:
    def clean(cell: object) -> str:
        return str(cell).replace("|", "\\|").replace("\n", " ")

    out = []
    if table.caption:
        out.append(f"*{table.caption}*\n")
    out.append("| " + " | ".join(map(clean, table.headers)) + " |")
    out.append("|" + "|".join("---" for _ in table.headers) + "|")
    out.extend("| " + " | ".join(map(clean, row)) + " |" for row in table.rows)
    return "\n".join(out)


def md_section(number: int, section: Section) -> str:
    parts = [f"## {number}. {section.title}", section.intro.strip()]
    parts.extend(md_table(t) for t in section.tables)
    if section.notes:
        parts.append("\n".join(f"- {n}" for n in section.notes))
    parts.append(f"<sub>section took {section.seconds:.0f} s</sub>")
    return "\n\n".join(parts)
