"""The native recorder's cost per call: 1-byte pipe and socketpair round trips in C, untraced vs traced vs strace."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

from benchmarks.common import PROGRAMS, Context, Section
from benchmarks.loop_cost import LoopCost, measure, summarise

ITERATIONS = 200_000
QUICK_ITERATIONS = 5_000
STRACE_ITERATIONS = 20_000  # strace's cost per call is steady; more only makes the run longer
WORKLOADS = (("pipe", "C pipe: `write` + `read`"), ("socketpair", "C socketpair: `send` + `recv`"))
LIMITS = {"pipe": 1.5, "socketpair": 1.2}  # traced within this many times untraced (issue 20)
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
    cost = LoopCost(
        key="native",
        traced_word="native",
        target_what="native recorder",
        workloads=WORKLOADS,
        limits=LIMITS,
        iterations=ITERATIONS,
        quick_iterations=QUICK_ITERATIONS,
        strace_iterations=STRACE_ITERATIONS,
        command=lambda kind, iterations: [str(loop), kind, str(iterations)],
        traced_env=lambda logs, env: tracing_environment(str(logs), base=env, native=lib),
        count_events=_count_data_events,
        strace_digits=0,
    )
    got = measure(ctx, cost)
    section = Section(
        "native",
        "Native recorder cost per call",
        f"A C program (benchmarks/programs/native_loop.c) does {got.n:,} one-byte round trips (write then read in "
        "the same process) and times the loop itself. It runs untraced, under the native recorder (the "
        "LD_PRELOAD library ipctrace puts in a run's environment: each call written into a per-thread "
        "memory-mapped log before it runs and completed after it returns, record/FORMAT.md; no system call "
        "per event), and under `strace -f -o /dev/null` "
        f"({got.strace_n:,} round trips). Cells are nanoseconds per iteration (two calls, two "
        "events); ratios are taken run by run, then summarised (benchmarks/loop_cost.py, the runner the Python "
        "recorder's section uses too). Targets (issue 20): the native recorder within "
        f"{LIMITS['pipe']:g}x of untraced on the pipe and {LIMITS['socketpair']:g}x on the socketpair.",
    )
    summarise(cost, got, section)
    return section
