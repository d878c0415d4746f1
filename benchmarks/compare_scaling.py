"""Comparing traces at scale: canonical form and diff for 1,000 to 100,000 events, with a fitted exponent.

Two real recorded runs of `benchmarks/programs/exchange.py pipe N` per size
(a parent and its child trading ping/pong, four events per exchange). The
canonical form is timed from a linked trace (linking is the link stage's own
cost, shown beside it), with its peak memory (tracemalloc); the diff is
timed on the two runs (equivalent forms: the case `ipctrace diff T T` took
362 s at 100,000 events with difflib) and on a second form with every
100th call of the parent changed and every 500th gone (the alignment's
hard case: many differences). Each exponent is the least-squares slope of
log(median time) over log(events).
"""

from __future__ import annotations

import math
import time
import tracemalloc
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from benchmarks.common import Context, Section, Stat, Table, Target, num, yes_no
from benchmarks.rendering import record_trace

SIZES = (1_000, 10_000, 100_000)
QUICK_SIZES = (1_000, 3_000)
MAX_REPEATS = 3
TARGET_EVENTS, TARGET_SECONDS = 100_000, 5.0  # "the diff of two 100,000-event traces in seconds"
LINEAR = 1.15  # the largest exponent still called linear (timing noise on a shared 2-core machine)


def _changed(form: Any) -> Any:
    """The form with every 100th call of its first process changed and every 500th left out."""
    first = form.processes[0]
    calls = [
        replace(c, data=(c.data or "") + "!") if k % 100 == 99 else c
        for k, c in enumerate(first.calls)
        if k % 500 != 499
    ]
    return replace(form, processes=(replace(first, calls=tuple(calls)), *form.processes[1:]))


def exponent(sizes: Sequence[float], seconds: Sequence[float]) -> float:
    """The slope of log(seconds) over log(size): 1 is linear, 2 quadratic."""
    xs, ys = [math.log(s) for s in sizes], [math.log(max(t, 1e-9)) for t in seconds]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum((x - mx) ** 2 for x in xs)


def _measure(
    traces: dict[int, tuple[Any, Any]], size: int, times: dict[str, list[float]], facts: dict[str, float]
) -> None:
    from ipctrace.compare import canonicalize, diff_canonical
    from ipctrace.link import link

    a, b = traces[size]
    t0 = time.perf_counter()
    la, lb = link(a), link(b)
    t1 = time.perf_counter()
    tracemalloc.start()
    fa = canonicalize(a, la)
    facts["peak_mb"] = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    t2 = time.perf_counter()
    fb = canonicalize(b, lb)
    t3 = time.perf_counter()
    same = diff_canonical(fa, fb)
    t4 = time.perf_counter()
    changed = _changed(fb)
    t5 = time.perf_counter()
    different = diff_canonical(fa, changed)
    t6 = time.perf_counter()
    if not same.equivalent or different.equivalent:
        raise RuntimeError("the compare benchmark's workload did not compare as expected")
    times["link"].append((t1 - t0) / 2)
    times["canonical"].append(t3 - t2)  # timed without tracemalloc, which slows allocation
    times["diff_same"].append(t4 - t3)
    times["diff_changed"].append(t6 - t5)
    facts["events"] = len(a.events)
    facts["differences"] = len(different.differences)


def run(ctx: Context) -> Section:
    from ipctrace.tracefile import read_trace

    section = Section(
        "compare",
        "Comparing traces: canonical form and diff at scale",
        __doc__.split("\n\n", 1)[1].replace("\n", " ").strip()
        + f" Target: the diff of two {TARGET_EVENTS:,}-event traces in under {TARGET_SECONDS:g} s, and every "
        f"stage linear (exponent ≤ {LINEAR}).",
    )
    sizes = QUICK_SIZES if ctx.quick else SIZES
    repeats = min(ctx.repeats, MAX_REPEATS)
    traces = {}
    for size in sizes:
        ctx.log(f"  recording two traces of about {size:,} events")
        traces[size] = (read_trace(record_trace(ctx, size)), read_trace(record_trace(ctx, size)))
    times: dict[int, dict[str, list[float]]] = {
        s: {k: [] for k in ("link", "canonical", "diff_same", "diff_changed")} for s in sizes
    }
    facts: dict[int, dict[str, float]] = {s: {} for s in sizes}
    for rep in range(repeats):  # interleaved: every size once per round
        for size in sizes:
            ctx.log(f"  compare {size:,} events, repeat {rep + 1}/{repeats}")
            _measure(traces, size, times[size], facts[size])
    rows = [
        [
            f"{int(facts[s]['events']):,}",
            Stat.of(times[s]["link"]).cell(3),
            Stat.of(times[s]["canonical"]).cell(3),
            num(facts[s]["peak_mb"], 1),
            Stat.of(times[s]["diff_same"]).cell(3),
            Stat.of(times[s]["diff_changed"]).cell(3),
            f"{int(facts[s]['differences']):,}",
        ]
        for s in sizes
    ]
    events = [facts[s]["events"] for s in sizes]
    fits = {k: exponent(events, [Stat.of(times[s][k]).median for s in sizes]) for k in times[sizes[0]]}
    peak_fit = exponent(events, [facts[s]["peak_mb"] for s in sizes])
    rows.append(
        [
            "exponent",
            *(num(fits[k], 2) for k in ("link", "canonical")),
            num(peak_fit, 2),
            num(fits["diff_same"], 2),
            num(fits["diff_changed"], 2),
            "",
        ]
    )
    section.tables.append(
        Table(
            [
                "events",
                "link s (one trace)",
                "canonical form s",
                "canonical form peak MB",
                "diff, equivalent runs s",
                "diff, many differences s",
                "differences found",
            ],
            rows,
            f"median (min–max) over {repeats} run{'s' if repeats > 1 else ''}, sizes interleaved; last row: "
            "the fitted exponent (time ∝ events^k)",
        )
    )
    linear = all(fits[k] <= LINEAR for k in ("canonical", "diff_same", "diff_changed")) and peak_fit <= LINEAR
    section.targets.append(
        Target(
            "canonical form and diff linear (fitted exponent)",
            f"≤ {LINEAR}",
            f"{num(fits['canonical'], 2)}, {num(fits['diff_same'], 2)}, {num(fits['diff_changed'], 2)}; "
            f"memory {num(peak_fit, 2)}",
            linear,
        )
    )
    if TARGET_EVENTS in sizes:
        worst = max(Stat.of(times[TARGET_EVENTS][k]).median for k in ("diff_same", "diff_changed"))
        section.targets.append(
            Target(
                f"diff of two {TARGET_EVENTS:,}-event traces",
                f"< {TARGET_SECONDS:g} s",
                f"{num(worst, 2)} s",
                worst < TARGET_SECONDS,
            )
        )
    section.intro += (
        "\n\nTargets: " + "; ".join(f"{t.what}: {t.measured}, {yes_no(t.met)}" for t in section.targets) + "."
    )
    return section
