"""Scaling: every stage of `ipctrace show` on traces of 10^3 to 10^6 events, with a fitted exponent.

Traces are synthetic (`benchmarks/synthetic.py`): a parent and its forked child
trading ping/pong over two pipes, and a UDP sender whose receiver misses every
sixth datagram (all of them captured). Each size runs in a fresh process
(`programs/stages.py`): read the trace file, link, order, the text timeline,
with the process's peak RSS after each stage. Times are CPU seconds (user +
system), steady on a shared machine where wall times swing with the load; the
whole process's CPU time (start, import, the stages, exit) is measured from
outside. The exponent is the slope of log(CPU time) against log(events) over
the sizes measured: 1 is linear.
"""

from __future__ import annotations

import math
import resource
from collections import defaultdict
from pathlib import Path

from benchmarks.common import PROGRAMS, PYTHON, Context, Section, Stat, Table, Target, num, run_json, yes_no
from benchmarks.synthetic import pipe_ping_pong, udp_datagrams

SIZES = (1_000, 10_000, 100_000, 1_000_000)
QUICK_SIZES = (1_000, 10_000)
STAGES = ("read", "link", "order", "timeline")
UDP_DATAGRAMS, QUICK_UDP = 100_000, 5_000
TARGET_EVENTS, TARGET_SECONDS, TARGET_MIB = 1_000_000, 15.0, 1024.0


def slope(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of log(y) on log(x)."""
    lx, ly = [math.log(x) for x in xs], [math.log(max(y, 1e-6)) for y in ys]
    mx, my = sum(lx) / len(lx), sum(ly) / len(ly)
    den = sum((a - mx) ** 2 for a in lx)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly, strict=True)) / den if den else float("nan")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _measure(ctx: Context, trace: Path, repeats: int) -> list[dict]:
    runs = []
    for _ in range(repeats):
        before = _children_cpu()
        run = run_json([PYTHON, str(PROGRAMS / "stages.py"), str(trace)], env=ctx.child_env(), timeout=1800)
        run["process_cpu"] = _children_cpu() - before  # the whole process: start, import, stages, exit
        runs.append(run)
    return runs


def _cpu(run: dict, stage: str) -> float:
    return run[f"cpu_{stage}"]


def _row(label: str, events: int, runs: list[dict]) -> list[str]:
    total = [sum(_cpu(r, s) for s in STAGES) for r in runs]
    rss = [r["timeline_rss_mib"] for r in runs]
    cells = [Stat.of(_cpu(r, s) for r in runs).cell(2) for s in STAGES]
    per_event = Stat.of(t / events * 1e6 for t in total).cell(1)
    process = Stat.of(r["process_cpu"] for r in runs).cell(2)
    wall = Stat.of(sum(r[s] for s in STAGES) for r in runs).cell(2)
    return [label, f"{events:,}", *cells, Stat.of(total).cell(2), process, wall, per_event, Stat.of(rss).cell(0)]


def run(ctx: Context) -> Section:
    sizes = QUICK_SIZES if ctx.quick else SIZES
    results: dict[int, list[dict]] = defaultdict(list)
    rows = []
    for size in sizes:
        path = ctx.scratch(f"scale-{size}") / "trace.jsonl"
        ctx.log(f"  writing a {size:,}-event trace")
        events = pipe_ping_pong(path, size)
        repeats = 1 if size >= 1_000_000 else min(ctx.repeats, 3)
        ctx.log(f"  show stages on {events:,} events, {repeats} run(s)")
        results[size] = _measure(ctx, path, repeats)
        rows.append(_row("pipe ping-pong", results[size][0]["events"], results[size]))
    udp_n = QUICK_UDP if ctx.quick else UDP_DATAGRAMS
    udp_path = ctx.scratch("scale-udp") / "trace.jsonl"
    udp_events = udp_datagrams(udp_path, udp_n)
    ctx.log(f"  show stages on {udp_n:,} UDP datagrams (1 in 6 not received)")
    udp_runs = _measure(ctx, udp_path, min(ctx.repeats, 3))
    rows.append(_row(f"UDP, {udp_n:,} datagrams, 1 in 6 not received", udp_events, udp_runs))

    xs = [float(results[s][0]["events"]) for s in sizes]
    fits = [
        [stage, num(slope(xs, [Stat.of(_cpu(r, stage) for r in results[s]).median for s in sizes]), 2)]
        for stage in STAGES
    ]
    fits.append(
        [
            "all four",
            num(slope(xs, [Stat.of(sum(_cpu(r, x) for x in STAGES) for r in results[s]).median for s in sizes]), 2),
        ]
    )
    fits.append(
        ["peak RSS", num(slope(xs, [Stat.of(r["timeline_rss_mib"] for r in results[s]).median for s in sizes]), 2)]
    )

    section = Section(
        "scaling",
        "Scaling: `ipctrace show` stage by stage, 10^3 to 10^6 events",
        __doc__.split("\n\n", 1)[1].replace("\n", " ").strip()
        + f" Targets: {TARGET_EVENTS:,} events shown in under {TARGET_SECONDS:g} s and {TARGET_MIB:g} MiB; "
        "every stage's exponent at most about 1.",
    )
    section.tables.append(
        Table(
            [
                "trace",
                "events",
                *(f"{s} CPU s" for s in STAGES),
                "four stages CPU s",
                "whole process CPU s",
                "four stages wall s",
                "CPU µs per event",
                "peak RSS MiB",
            ],
            rows,
            "median (min–max); the 10^6 row is one run",
        )
    )
    section.tables.append(Table(["stage", "fitted exponent"], fits, "slope of log(CPU time) on log(events)"))
    if TARGET_EVENTS in results:
        big = results[TARGET_EVENTS][0]
        seconds = big["process_cpu"]  # what a user waits for on an idle machine: the whole process
        mib = big["timeline_rss_mib"]
        met = seconds < TARGET_SECONDS and mib < TARGET_MIB
        section.targets.append(
            Target(
                f"{TARGET_EVENTS:,} events shown (CPU time of the whole process: start, stages, exit)",
                f"< {TARGET_SECONDS:g} s, < {TARGET_MIB:g} MiB",
                f"{seconds:.1f} s, {mib:.0f} MiB",
                met,
            )
        )
        if not met:
            section.closing.append(
                f"{TARGET_EVENTS:,} events take {seconds:.1f} s and {mib:.0f} MiB to show ({yes_no(met)}); "
                "the stage columns say where."
            )
    return section
