"""Recorder cost per call: 1-byte pipe and socketpair round trips, untraced vs traced vs strace."""

from __future__ import annotations

import shutil
from pathlib import Path

from benchmarks.common import PROGRAMS, PYTHON, Context, Section, Stat, Table, num, ratios, run_json
from benchmarks.loop_cost import EVENTS_PER_ITERATION, TRACED, UNTRACED, LoopCost, Variant, measure, summarise

ITERATIONS = 100_000
QUICK_ITERATIONS = 2_000
STRACE_ITERATIONS = 20_000  # strace's cost per call is steady; 100,000 round trips take ~20 s per run under it
WORKLOADS = (("pipe", "pipe: `os.write` + `os.read`"), ("socketpair", "socketpair: `send` + `recv`"))
LIMITS = {"pipe": 4.0, "socketpair": 2.0}  # traced within this many times untraced (issue 20)
STRACE_FACTOR = 10.0  # at least 10x cheaper than strace


def _count_events(folder: Path) -> int:
    from ipctrace.record.reader import read_logs

    records, _problems = read_logs(folder)
    return sum(1 for r in records if r["call"] in ("write", "read", "send", "recv"))


def _compiled_built() -> bool:
    import importlib.util

    return importlib.util.find_spec("ipctrace.record._hotc") is not None


def run(ctx: Context) -> Section:
    from ipctrace.compiled import ENV_PURE_PYTHON
    from ipctrace.record import tracing_environment

    cost = LoopCost(
        key="recorder",
        traced_word="traced",
        target_what="recorder",
        workloads=WORKLOADS,
        limits=LIMITS,
        iterations=ITERATIONS,
        quick_iterations=QUICK_ITERATIONS,
        strace_iterations=STRACE_ITERATIONS,
        command=lambda kind, iterations: [PYTHON, str(PROGRAMS / "ipc_loop.py"), kind, str(iterations)],
        traced_env=lambda logs, env: tracing_environment(str(logs), base=env),
        count_events=_count_events,
        strace_factor=STRACE_FACTOR,
        traced_env_extra={ENV_PURE_PYTHON: "0"},  # the compiled wrappers, when built (record/hot.py)
        variants=(Variant("python", "pure-Python wrappers", {ENV_PURE_PYTHON: "1"}),),
    )
    got = measure(ctx, cost)
    section = Section(
        "recorder",
        "Recorder cost per call",
        f"A program does {got.n:,} one-byte round trips (write then read on the same process) and times the loop "
        "itself, so interpreter start-up is left out. It runs untraced, traced (the recorder installed by "
        "`tracing_environment`: each call written into a per-thread memory-mapped log before it runs and completed "
        "after it returns, record/FORMAT.md: crash-safe, no system call per event; its compiled hot-path wrappers, "
        "record/hotc.c, and in rows of their own, in the same repeats, the pure-Python wrappers they replace, "
        f"`{ENV_PURE_PYTHON}=1`), and under `strace -f -o /dev/null` "
        f"({got.strace_n:,} round trips: strace's cost per call is steady and 10x more would take "
        "minutes). Cells are nanoseconds per iteration "
        "(two calls, so two events); ratios are taken run by run, then summarised (benchmarks/loop_cost.py, the "
        "runner the native recorder's section uses too). "
        f"Targets: traced within {LIMITS['pipe']:g}x of untraced on the pipe and {LIMITS['socketpair']:g}x on the "
        f"socketpair; strace at least {STRACE_FACTOR:g}x slower than traced.",
    )
    summarise(cost, got, section)
    if not _compiled_built():
        section.notes.append(
            "The compiled hot path (ipctrace.record._hotc) is not built here: the traced rows are the pure-Python "
            "wrappers too (install python3-dev and reinstall: `pip install -e .`)."
        )
    if any(t.met is False for t in section.targets):
        section.intro += " The breakdown below shows where a recorded call's time goes."
    _breakdown(ctx, section)
    for kind, _ in WORKLOADS:
        u = Stat.of(got.ns[kind, UNTRACED]).median
        t = Stat.of(got.ns[kind, TRACED]).median
        if t / u <= LIMITS[kind]:
            continue
        budget = (LIMITS[kind] - 1) * u / EVENTS_PER_ITERATION
        spent = (t - u) / EVENTS_PER_ITERATION
        section.closing.append(
            f"Recorder, {kind}: {LIMITS[kind]:g}x of an untraced iteration ({num(u, 0)} ns) leaves "
            f"{num(budget, 0)} ns per recorded call; the recorder spends {num(spent, 0)} ns, with no system "
            "call: all of it is the wrapper's own work (the pieces in section 1's breakdown)."
        )
    for target in section.targets:
        if target.met is False and "strace" in target.what:
            section.closing.append(
                f"{target.what} is {target.measured}: strace's cost per call is fixed (two context switches to "
                "the tracer per syscall), so this ratio improves only as the recorder gets cheaper."
            )
    return section


def _breakdown_run(ctx: Context, folder: Path, number: int, extra: dict[str, str]) -> dict:
    """One run of programs/recorder_breakdown.py, with `extra` in its environment (which wrappers it uses)."""
    env = {**ctx.child_env(), **extra}
    return run_json([PYTHON, str(PROGRAMS / "recorder_breakdown.py"), str(folder), str(number)], env=env, timeout=600)


def _breakdown(ctx: Context, section: Section) -> None:
    ctx.log("  recorder breakdown")
    folder = ctx.scratch("breakdown") / "recording"
    folder.mkdir(parents=True, exist_ok=True)
    number = 2_000 if ctx.quick else 100_000
    # One process per kind of wrapper, as each runs for a user (the log's type goes with them): the Python
    # ones, whose primitives the pieces time, then the compiled ones when they are built.
    from ipctrace.compiled import ENV_PURE_PYTHON

    runs = [_breakdown_run(ctx, folder, number, {ENV_PURE_PYTHON: "1"})]
    if _compiled_built():
        runs.append(_breakdown_run(ctx, folder, number, {ENV_PURE_PYTHON: "0"}))
    pieces = runs[0]["pieces"] + [row for run in runs[1:] for row in run["pieces"] if row[0] == "function"]
    interleaved = {impl: run["interleaved"] for run in runs for impl in run["interleaved"]["impls"]}
    shutil.rmtree(folder, ignore_errors=True)
    caption = (
        f"in-process micro-timings, best of 5 × {number:,} calls (another process and moment than the loops "
        "above, so the pieces need not add up exactly)"
    )

    def rows(group: str) -> list[list[str]]:
        return [[label, num(value, 0), what] for g, label, value, what in pieces if g == group]

    section.tables.append(
        Table(
            ["piece of one recorded call", "ns per call", "what it is"],
            rows("piece"),
            "Where the time goes: " + caption,
        )
    )
    section.tables.append(
        Table(
            ["what the hot path no longer does", "ns per call", "why it is gone"],
            rows("before"),
            "What the pieces replaced, timed the same way",
        )
    )
    whole = {label: value for g, label, value, _ in pieces if g == "function"}
    untraced = [value for g, label, value, _ in pieces if g == "piece" and label.startswith("untraced")]
    function_rows = []
    for label, value in whole.items():
        base = untraced[0] if "os.write" in label else untraced[1]  # the pipe's calls, or the socketpair's
        per_event = (value - base) / EVENTS_PER_ITERATION
        function_rows.append([label, num(value, 0), num(value / base, 2), num(per_event, 0)])
    section.tables.append(
        Table(
            ["the recorder's own wrappers, whole", "ns per iteration", "× untraced (same process)", "ns per event"],
            function_rows,
            "The same wrappers in one process: " + caption,
        )
    )
    cpu_rows = []
    shape = next(iter(interleaved.values()))
    for (kind, label), impl in ((w, i) for w in WORKLOADS for i in reversed(interleaved)):
        turns = interleaved[impl][kind]
        u, t = turns["untraced"], turns[impl]
        best = (min(t) - min(u)) / EVENTS_PER_ITERATION
        cpu_rows.append(
            [
                f"{label}, {impl} wrappers",
                Stat.of(u).cell(),
                Stat.of(t).cell(),
                ratios(t, u).cell(2),
                num(min(t) / min(u), 2),
                num(best, 0),
                f"≤ {LIMITS[kind]:g}x",
            ]
        )
    section.tables.append(
        Table(
            [
                "workload",
                "untraced CPU ns/iter",
                "traced CPU ns/iter",
                "traced / untraced",
                "lowest traced / lowest untraced",
                "recorder CPU ns per event (lowest)",
                "target",
            ],
            cpu_rows,
            f"The loops above in one process per kind of wrapper, untraced and traced in turn ({shape['repeats']} "
            f"turns of {shape['n']:,} iterations each), in this thread's CPU time: time other processes had the "
            "CPU is left out, so on a shared machine this is the steadier ratio; median (min–max) over the turns",
        )
    )
