"""Rendering: large real traces to SVG and PNG, the slide pages of every scenario, and how each stage scales.

Three tables, all measured side by side in one run:

- traces of 200, 2,000 and 10,000 events, folded and not: load, link + order, layout, SVG, PNG pages;
- every built-in scenario drawn as `ipctrace run` draws it: the layout, then SVG, PNG slides and PDF in one
  pass (neato runs side by side) against the three drawn one after the other, with the pages' smallest text;
- 1,000 to 100,000 events: the time of each stage and the layout's peak memory per event, with the fitted
  exponent of time against size (1 is linear).
"""

from __future__ import annotations

import math
import time
import tracemalloc
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from benchmarks.common import PROGRAMS, PYTHON, Context, Section, Stat, Table, Target, num, yes_no

SIZES = (200, 2_000, 10_000)
QUICK_SIZES = (200,)
SCALING = (1_000, 10_000, 100_000)
QUICK_SCALING = (200, 800)
QUICK_SCENARIOS = ("pipe3", "tcp_hello")
TARGET_EVENTS, TARGET_SECONDS = 10_000, 5.0
MAX_EXPONENT = 1.15  # "linear": time grows at most like n^1.15 over two decades
MAX_REPEATS = 3
PNG_ONCE_FROM = 10_000  # PNG of the largest trace (hundreds of pages) is timed once


def record_trace(ctx: Context, events: int) -> Path:
    """A real recorded run of `exchange.py pipe N` with about `events` events; returns its trace.jsonl."""
    from ipctrace.scenarios import adhoc_scenario
    from ipctrace.session import RunOptions, run_scenario

    def run(rounds: int) -> Any:
        scenario = adhoc_scenario([PYTHON, str(PROGRAMS / "exchange.py"), "pipe", str(rounds)])
        result = run_scenario(scenario, RunOptions(outdir=ctx.scratch(f"render-{events}"), capture="none", port=0))
        if not result.ok:
            raise RuntimeError(f"recording the rendering workload failed: {result.message}")
        return result

    base = len(run(0).trace.events)  # set-up events: pipes, fork, start, exit, wait
    return run(max(1, (events - base) // 4)).trace_path


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


# -- large traces -----------------------------------------------------------------------------------


def _large(ctx: Context, section: Section) -> None:
    from ipctrace.link import link
    from ipctrace.order import order
    from ipctrace.render import RenderOptions, build_diagram, render_diagram
    from ipctrace.tracefile import read_trace

    sizes = QUICK_SIZES if ctx.quick else SIZES
    repeats = min(ctx.repeats, MAX_REPEATS)
    traces = {size: record_trace(ctx, size) for size in sizes}
    times: dict[tuple[int, bool], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    facts: dict[tuple[int, bool], dict[str, float]] = defaultdict(dict)
    for rep in range(repeats):
        for size in sizes:
            for fold in (False, True):
                ctx.log(f"  render {size:,} events, fold={fold}, repeat {rep + 1}/{repeats}")
                rec, fact = times[size, fold], facts[size, fold]
                t_load, trace = _timed(lambda size=size: read_trace(traces[size]))
                t_order, ordered = _timed(lambda trace=trace: order(link(trace)))
                options = RenderOptions(fold=fold)
                t_layout, diagram = _timed(lambda o=ordered, opt=options: build_diagram(o, opt))
                t_svg, svg = _timed(lambda d=diagram: render_diagram(d, ("svg",)))
                for key, value in (("load", t_load), ("order", t_order), ("layout", t_layout), ("svg", t_svg)):
                    rec[key].append(value)
                rec["to_svg"].append(t_load + t_order + t_layout + t_svg)
                fact.update(events=len(trace.events), rows=len(diagram.rows), svg_mb=len(svg["svg"][0]) / 1e6)
                if rep == 0 or size < PNG_ONCE_FROM:
                    t_png, png = _timed(lambda d=diagram: render_diagram(d, ("png",)))
                    rec["png"].append(t_png)
                    fact["pages"] = len(png["png"])
    rows = []
    for size in sizes:
        for fold in (False, True):
            rec, fact = times[size, fold], facts[size, fold]
            png = Stat.of(rec["png"]).cell(2) + (" (1 run)" if len(rec["png"]) == 1 and repeats > 1 else "")
            rows.append(
                [
                    f"{int(fact['events']):,}",
                    "yes" if fold else "no",
                    num(fact["rows"], 0),
                    *(Stat.of(rec[k]).cell(2) for k in ("load", "order", "layout", "svg", "to_svg")),
                    num(fact["svg_mb"]),
                    png,
                    num(fact["pages"], 0),
                ]
            )
    headers = ["events", "fold", "diagram rows", "load s", "link + order s", "layout s", "SVG render s"]
    headers += ["trace → SVG s", "SVG MB", "PNG s (all slides)", "slides"]
    section.tables.append(Table(headers, rows, f"median (min–max) over {repeats} run{'s' if repeats > 1 else ''}"))
    if TARGET_EVENTS in sizes:
        for fold in (False, True):
            total = Stat.of(times[TARGET_EVENTS, fold]["to_svg"])
            what = f"{TARGET_EVENTS:,} events to SVG ({'folded' if fold else 'not folded'})"
            section.targets.append(
                Target(what, f"< {TARGET_SECONDS:g} s", f"{num(total.median, 2)} s", total.median < TARGET_SECONDS)
            )


# -- every scenario's slides -------------------------------------------------------------------------


def _scenario_rows(ctx: Context, section: Section) -> None:
    from ipctrace.link import link
    from ipctrace.order import order
    from ipctrace.render import RenderOptions, build_diagram, render_diagram
    from ipctrace.render.options import PAGE_WIDTH_PT, PNG_WIDTH_PX
    from ipctrace.scenarios import builtin_scenarios, find_scenario
    from ipctrace.session import RunOptions, run_scenario

    names = QUICK_SCENARIOS if ctx.quick else tuple(sorted(builtin_scenarios()))
    repeats = min(ctx.repeats, MAX_REPEATS)
    rows = []
    smallest_of_all = math.inf
    totals = {"one": 0.0, "three": 0.0}
    for name in names:
        ctx.log(f"  slides of {name}")
        result = run_scenario(
            find_scenario(name), RunOptions(outdir=ctx.scratch(f"slides-{name}"), capture="none", port=0)
        )
        ordered = order(link(result.trace))
        rec: dict[str, list[float]] = defaultdict(list)
        diagram = build_diagram(ordered, RenderOptions())
        for _ in range(repeats):  # interleaved: one pass, then the three formats one after the other
            rec["layout"].append(_timed(lambda o=ordered: build_diagram(o, RenderOptions()))[0])
            rec["one"].append(_timed(lambda d=diagram: render_diagram(d, ("svg", "png", "pdf")))[0])
            rec["three"].append(
                sum(_timed(lambda d=diagram, f=f: render_diagram(d, (f,)))[0] for f in ("svg", "png", "pdf"))
            )
        px = PNG_WIDTH_PX / PAGE_WIDTH_PT
        smallest = min(min(p.scale, 1.0) * diagram.metrics.small * px for p in diagram.pages)
        smallest_of_all = min(smallest_of_all, smallest)
        totals["one"] += Stat.of(rec["one"]).median
        totals["three"] += Stat.of(rec["three"]).median
        rows.append(
            [
                name,
                f"{len(result.trace.events):,}",
                num(len(diagram.pages), 0),
                num(smallest, 1),
                Stat.of(rec["layout"]).cell(2),
                Stat.of(rec["one"]).cell(2),
                Stat.of(rec["three"]).cell(2),
            ]
        )
    rows.append(["all", "", "", num(smallest_of_all, 1), "", num(totals["one"], 2), num(totals["three"], 2)])
    headers = ["scenario", "events", "slides", "smallest text px", "layout s", "SVG + PNG + PDF, one pass s"]
    headers.append("SVG, PNG, PDF one after another s")
    section.tables.append(Table(headers, rows, f"processes view; median (min–max) over {repeats} runs"))
    section.targets.append(
        Target(
            "smallest text on any slide of any scenario",
            "≥ 28 px",
            f"{num(smallest_of_all, 1)} px",
            smallest_of_all >= 28,
        )
    )


# -- scaling ---------------------------------------------------------------------------------------


def _exponent(sizes: Sequence[float], times: Sequence[float]) -> float:
    """Least-squares slope of log(time) against log(size)."""
    xs, ys = [math.log(s) for s in sizes], [math.log(max(t, 1e-6)) for t in times]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum((x - mx) ** 2 for x in xs)


def _scaling(ctx: Context, section: Section) -> None:
    from ipctrace.link import link
    from ipctrace.order import order
    from ipctrace.render import RenderOptions, build_diagram
    from ipctrace.render.graphviz.painter import master_source, page_sources
    from ipctrace.tracefile import read_trace

    sizes = QUICK_SCALING if ctx.quick else SCALING
    stages: dict[str, list[float]] = defaultdict(list)
    events: list[int] = []
    memory: list[float] = []
    for size in sizes:
        ctx.log(f"  scaling: {size:,} events")
        ordered = order(link(read_trace(record_trace(ctx, size))))
        events.append(len(ordered.trace.events))
        for fold in (True, False):
            t, diagram = _timed(lambda f=fold, o=ordered: build_diagram(o, RenderOptions(fold=f)))
            stages["layout (folded)" if fold else "layout (not folded)"].append(t)
        stages["SVG source (not folded)"].append(_timed(lambda d=diagram: master_source(d))[0])
        stages["slide sources (not folded)"].append(_timed(lambda d=diagram: page_sources(d))[0])
        tracemalloc.start()
        build_diagram(ordered, RenderOptions(fold=False))
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        memory.append(peak / len(ordered.trace.events))
    rows = []
    for stage, values in stages.items():
        exponent = _exponent(events, values)
        rows.append([stage, *(num(v, 2) for v in values), num(exponent, 2), yes_no(exponent <= MAX_EXPONENT)])
    rows.append(
        [
            "layout peak memory per event, KB",
            *(num(b / 1024, 1) for b in memory),
            num(_exponent(events, memory) + 1, 2),
            "",
        ]
    )
    headers = ["stage", *(f"{n:,} events s" for n in events), "fitted exponent", f"linear (≤ {MAX_EXPONENT})"]
    section.tables.append(Table(headers, rows, "one run each; memory: tracemalloc peak during the unfolded layout"))
    worst = max(_exponent(events, v) for v in stages.values())
    section.targets.append(
        Target(
            "every rendering stage linear in the trace",
            f"exponent ≤ {MAX_EXPONENT}",
            num(worst, 2),
            worst <= MAX_EXPONENT,
        )
    )


def run(ctx: Context) -> Section:
    section = Section(
        "rendering",
        "Rendering: sequence diagrams of large traces and slides of every scenario",
        "Traces of real recorded runs (`benchmarks/programs/exchange.py pipe N`: a parent and its forked child "
        "trading `ping`/`pong` over two pipes, four events per exchange) are drawn the way `ipctrace run` does: "
        "load the trace file, link, order, lay out the diagram (16:9 slides included), then render the SVG (one "
        "file) and the PNG slides. *trace → SVG* is the whole path from the trace file to the SVG text. *fold* is "
        "`RenderOptions(fold=...)`. The scenario table draws each course example as `ipctrace run` does; the "
        "scaling table fits how each stage grows from 1,000 to 100,000 events.",
    )
    for part in (_large, _scenario_rows, _scaling):
        try:
            part(ctx, section)
        except Exception as exc:  # noqa: BLE001 - a part that cannot run here must not lose the others' numbers
            section.notes.append(f"{part.__name__.strip('_')} could not be measured: {type(exc).__name__}: {exc}")
    mine = [t for t in section.targets if t.met is not None]
    if mine:
        section.intro += "\n\nTargets: " + "; ".join(f"{t.what}: {t.measured}, {yes_no(t.met)}" for t in mine) + "."
    for target in section.targets:
        if target.met is False:
            section.closing.append(f"Rendering: {target.what} is {target.measured} (target {target.target}).")
    return section
