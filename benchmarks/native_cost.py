"""The native recorder's cost per call: 1-byte pipe and socketpair round trips in C, untraced vs traced vs strace."""

from __future__ import annotations

import shutil
import struct
import subprocess
from collections import defaultdict
from pathlib import Path

from benchmarks.common import (
    PROGRAMS,
    Context,
    Section,
    Stat,
    Table,
    Target,
    num,
    ratios,
    run_json,
    yes_no,
)

ITERATIONS = 200_000
QUICK_ITERATIONS = 5_000
STRACE_ITERATIONS = 20_000  # strace's cost per call is steady; more only makes the run longer
WORKLOADS = (("pipe", "C pipe: `write` + `read`"), ("socketpair", "C socketpair: `send` + `recv`"))
LIMITS = {"pipe": 1.5, "socketpair": 1.2}  # traced within this many times untraced (issue 20)
EVENTS_PER_ITERATION = 2
_FIRST = struct.Struct("<HBBI")  # a record's first 8 bytes (record/FORMAT.md): call, state, kind, length


def _count_data_events(folder: Path) -> int:
    """Records of read, write, send and recv in a folder of logs, walked head to head (no blob decoded)."""
    from ipctrace.record.layout import CALL_IDS, HEADER_SIZE

    wanted = {CALL_IDS[c] for c in ("read", "write", "send", "recv")}
    count = 0
    for path in folder.glob("*.ipclog"):
        with open(path, "rb") as f:
            data = f.read(64 << 20)
        pos = HEADER_SIZE
        while pos + 8 <= len(data):
            call, state, _kind, length = _FIRST.unpack_from(data, pos)
            if length == 0:
                break
            count += call in wanted and state == 2
            pos += length
    return count


def _build(ctx: Context) -> Path:
    gcc = shutil.which("gcc")
    if gcc is None:
        raise RuntimeError("gcc is not installed: the C loop cannot be built (scripts/install.sh installs it)")
    out = ctx.scratch("native-loop") / "native_loop"
    subprocess.run([gcc, "-O2", "-o", str(out), str(PROGRAMS / "native_loop.c")], check=True)
    return out


def run(ctx: Context) -> Section:
    from ipctrace.cprograms import native_library
    from ipctrace.record import tracing_environment

    lib = native_library()
    loop = _build(ctx)
    n = QUICK_ITERATIONS if ctx.quick else ITERATIONS
    strace = shutil.which("strace")
    modes = ["untraced", "native"] + (["strace"] if strace else [])
    ns: dict[tuple[str, str], list[float]] = defaultdict(list)
    recorded: dict[str, list[float]] = defaultdict(list)
    for rep in range(ctx.repeats):  # modes interleaved, so drift on a shared machine hits all alike
        for kind, _ in WORKLOADS:
            for mode in modes:
                ctx.log(f"  native {kind} {mode}, repeat {rep + 1}/{ctx.repeats}")
                iterations = min(n, STRACE_ITERATIONS) if mode == "strace" else n
                cmd = [str(loop), kind, str(iterations)]
                env = ctx.child_env()
                logs = None
                if mode == "native":
                    logs = ctx.scratch(f"native-{kind}") / "recording"
                    logs.mkdir()
                    env = tracing_environment(str(logs), base=env, native=lib)
                elif mode == "strace":
                    cmd = [strace, "-f", "-o", "/dev/null", *cmd]
                out = run_json(cmd, env=env, timeout=600)
                ns[kind, mode].append(out["ns_per_iter"])
                if logs is not None:
                    recorded[kind].append(_count_data_events(logs) / (n + out["warmup"]))
                    shutil.rmtree(logs)

    section = Section(
        "native",
        "Native recorder cost per call",
        f"A C program (benchmarks/programs/native_loop.c) does {n:,} one-byte round trips (write then read in "
        "the same process) and times the loop itself. It runs untraced, under the native recorder (the "
        "LD_PRELOAD library ipctrace puts in a run's environment: each call written into a per-thread "
        "memory-mapped log before it runs and completed after it returns, record/FORMAT.md; no system call "
        "per event), and under `strace -f -o /dev/null` "
        f"({min(n, STRACE_ITERATIONS):,} round trips). Cells are nanoseconds per iteration (two calls, two "
        "events); ratios are taken run by run, then summarised. Targets (issue 20): the native recorder within "
        f"{LIMITS['pipe']:g}x of untraced on the pipe and {LIMITS['socketpair']:g}x on the socketpair.",
    )
    rows = []
    for kind, label in WORKLOADS:
        u, t = ns[kind, "untraced"], ns[kind, "native"]
        tr = ratios(t, u)
        per_event = Stat.of((a - b) / EVENTS_PER_ITERATION for a, b in zip(t, u, strict=True))
        met = tr.median <= LIMITS[kind]
        section.targets.append(
            Target(f"native recorder, {kind}: traced / untraced", f"≤ {LIMITS[kind]:g}x", f"{num(tr.median, 2)}x", met)
        )
        rows.append(
            [
                label,
                Stat.of(u).cell(),
                Stat.of(t).cell(),
                Stat.of(ns[kind, "strace"]).cell() if strace else "n/a",
                tr.cell(2),
                per_event.cell(0),
                ratios(ns[kind, "strace"], t).cell(0) if strace else "n/a",
                yes_no(met),
                Stat.of(recorded[kind]).cell(2),
            ]
        )
    section.tables.append(
        Table(
            [
                "workload",
                "untraced ns/iter",
                "native ns/iter",
                "strace -f ns/iter",
                "native / untraced",
                "recorder ns per event",
                "strace / native",
                "target",
                "events written per iteration",
            ],
            rows,
            f"median (min–max) over {ctx.repeats} run{'s' if ctx.repeats > 1 else ''}",
        )
    )
    if not strace:
        section.notes.append("strace is not installed here: the strace column is left out (apt-get install strace).")
    missed = [t for t in section.targets if t.met is False]
    section.intro += (
        "\n\n**Targets missed**: " + "; ".join(f"{t.what} is {t.measured} (target {t.target})" for t in missed) + "."
        if missed
        else "\n\nBoth targets are met."
    )
    return section
