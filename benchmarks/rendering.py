"""Rendering: SVG and PNG of real recorded traces of 200, 2,000 and 10,000 events, folded and not."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.common import PROGRAMS, PYTHON, Context, Section, Stat, Table, Target, num, yes_no

SIZES = (200, 2_000, 10_000)
QUICK_SIZES = (200,)
TARGET_EVENTS, TARGET_SECONDS = 10_000, 5.0
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


def _api() -> tuple[Callable[..., Any], Callable[..., Any], Callable[..., Any]] | str:
    """(RenderOptions, layout, render(diagram, format, options)) from ipctrace.render, or why not."""
    try:
        import ipctrace.render as r
    except ImportError as exc:
        return f"ipctrace.render cannot be imported ({exc})"
    if hasattr(r, "build_diagram") and hasattr(r, "get_renderer") and hasattr(r, "RenderOptions"):

        def draw(diagram: Any, fmt: str, options: Any) -> list[bytes | str]:
            renderer = r.get_renderer(fmt, options)
            return list(renderer.render_pages(diagram)) if renderer.paged else [renderer.render(diagram)]

        return r.RenderOptions, r.build_diagram, draw
    return "ipctrace.render has no build_diagram / get_renderer / RenderOptions yet"


def run(ctx: Context) -> Section:
    from ipctrace.link import link
    from ipctrace.order import order
    from ipctrace.tracefile import read_trace

    section = Section(
        "rendering",
        "Rendering: sequence diagrams of large traces",
        "Traces of real recorded runs (`benchmarks/programs/exchange.py pipe N`: a parent and its forked child "
        "trading `ping`/`pong` over two pipes, four events per exchange) are drawn the way `ipctrace run` does: "
        "load the trace file, link, order, lay out the diagram, then render SVG (one file) and PNG (paged). "
        "*trace → SVG* is the whole path from the trace file to the SVG text (load + link + order + layout + "
        "SVG); *PNG* is the renderer alone on the same layout, all pages. *fold* is `RenderOptions(fold=...)` "
        "(repeated exchanges drawn once with a count: here the whole ping/pong loop folds into one row). "
        f"Target: {TARGET_EVENTS:,} events to SVG in under {TARGET_SECONDS:g} s.",
    )
    api = _api()
    sizes = QUICK_SIZES if ctx.quick else SIZES
    repeats = min(ctx.repeats, MAX_REPEATS)
    traces = {}
    for size in sizes:
        ctx.log(f"  recording a trace of about {size:,} events")
        traces[size] = record_trace(ctx, size)
    failures: dict[str, tuple[int, bool]] = {}
    times: dict[tuple[int, bool], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    facts: dict[tuple[int, bool], dict[str, float]] = defaultdict(dict)
    for rep in range(repeats):
        for size in sizes:
            for fold in (False, True):
                ctx.log(f"  render {size:,} events, fold={fold}, repeat {rep + 1}/{repeats}")
                rec = times[size, fold]
                t0 = time.perf_counter()
                trace = read_trace(traces[size])
                t1 = time.perf_counter()
                ordered = order(link(trace))
                t2 = time.perf_counter()
                rec["load"].append(t1 - t0)
                rec["link+order"].append(t2 - t1)
                facts[size, fold]["events"] = len(trace.events)
                if isinstance(api, str):
                    continue
                options_cls, layout, draw = api
                stage = "layout"
                try:  # a renderer that cannot draw here (graphviz missing) must not lose the other numbers
                    options = options_cls(fold=fold)
                    t3 = time.perf_counter()
                    diagram = layout(ordered, options)
                    t4 = time.perf_counter()
                    stage = "SVG"
                    svg = draw(diagram, "svg", options)
                    t5 = time.perf_counter()
                    rec["layout"].append(t4 - t3)
                    rec["svg"].append(t5 - t4)
                    rec["to_svg"].append(t5 - t0)
                    facts[size, fold]["rows"] = len(getattr(diagram, "rows", ()))
                    facts[size, fold]["svg_mb"] = sum(len(p) for p in svg) / 1e6
                    if rep == 0 or size < PNG_ONCE_FROM:
                        stage = "PNG"
                        t6 = time.perf_counter()
                        pages = draw(diagram, "png", options)
                        rec["png"].append(time.perf_counter() - t6)
                        facts[size, fold]["png_pages"] = len(pages)
                except Exception as exc:
                    failures.setdefault(f"{stage}: {type(exc).__name__}: {exc}", (size, fold))
    rows = []
    for size in sizes:
        for fold in (False, True):
            rec, fact = times[size, fold], facts[size, fold]

            def cell(key: str, rec: dict[str, list[float]] = rec) -> str:
                if rec.get(key):
                    return Stat.of(rec[key]).cell(2)
                return "not available yet" if isinstance(api, str) else "failed (see below)"

            png = cell("png")
            if rec.get("png") and len(rec["png"]) == 1 and repeats > 1:
                png += " (1 run)"
            rows.append(
                [
                    f"{int(fact['events']):,}",
                    "yes" if fold else "no",
                    num(fact["rows"], 0) if "rows" in fact else "n/a",
                    cell("load"),
                    cell("link+order"),
                    cell("layout"),
                    cell("svg"),
                    cell("to_svg"),
                    num(fact["svg_mb"]) if "svg_mb" in fact else "n/a",
                    png,
                    num(fact["png_pages"], 0) if "png_pages" in fact else "n/a",
                ]
            )
    section.tables.append(
        Table(
            [
                "events",
                "fold",
                "diagram rows",
                "load s",
                "link + order s",
                "layout s",
                "SVG render s",
                "trace → SVG s",
                "SVG MB",
                "PNG s (all pages)",
                "PNG pages",
            ],
            rows,
            f"median (min–max) over {repeats} run{'s' if repeats > 1 else ''}",
        )
    )
    for message, (size, fold) in failures.items():
        section.notes.append(f"Rendering failed ({size:,} events, fold={fold}): {message}")
    if isinstance(api, str):
        section.intro += f"\n\n**Rendering not available yet**: {api}. Load, link and order are timed alone."
        section.targets.append(
            Target(f"{TARGET_EVENTS:,} events to SVG", f"< {TARGET_SECONDS:g} s", "renderer not available yet", None)
        )
    elif TARGET_EVENTS in sizes:
        for fold in (False, True):
            what = f"{TARGET_EVENTS:,} events to SVG ({'folded' if fold else 'not folded'})"
            if not times[TARGET_EVENTS, fold].get("to_svg"):
                section.targets.append(Target(what, f"< {TARGET_SECONDS:g} s", "rendering failed", None))
                continue
            total = Stat.of(times[TARGET_EVENTS, fold]["to_svg"])
            section.targets.append(
                Target(what, f"< {TARGET_SECONDS:g} s", f"{num(total.median, 2)} s", total.median < TARGET_SECONDS)
            )
        mine = list(section.targets)
        section.intro += "\n\nTarget: " + "; ".join(f"{t.what}: {t.measured}, **{yes_no(t.met)}**" for t in mine) + "."
        slow = [t for t in mine if t.met is False]
        if slow:
            stages = {k: Stat.of(v).median for k, v in times[TARGET_EVENTS, True].items() if k != "to_svg"}
            worst = max(("load", "link+order", "layout", "svg"), key=lambda k: stages.get(k, 0.0))
            section.closing.append(
                f"Rendering {TARGET_EVENTS:,} events to SVG takes longer than {TARGET_SECONDS:g} s here; the "
                f"slowest stage (folded) is {worst} at {num(stages.get(worst, 0.0), 2)} s."
            )
    else:
        section.targets.append(
            Target(f"{TARGET_EVENTS:,} events to SVG", f"< {TARGET_SECONDS:g} s", "not measured in --quick mode", None)
        )
    return section
