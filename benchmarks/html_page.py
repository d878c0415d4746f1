"""The classroom page: its size and how soon a browser shows it, for 200, 2,000 and 10,000 events.

Real recorded runs (`exchange.py pipe N`, as the rendering section uses), folded
(as `ipctrace run` draws) and not. For each: the HTML file's size (and whether
its data is packed), the time to make it from the ordered trace (the three
views' layouts included), and, in Debian's Chromium driven by Playwright, the
first contentful paint and the moment the diagram is drawn (the page's own
`ipctrace-drawn` mark), both from the start of navigation, then the time one
step forward takes. Loads are interleaved across sizes, each in a fresh
browser context.
"""

from __future__ import annotations

import importlib.util
import time
from collections import defaultdict
from pathlib import Path

from benchmarks.common import Context, Section, Stat, Table, Target, num
from benchmarks.rendering import record_trace
from tests.chromium import CHROMIUM, CHROMIUM_ARGS

SIZES = (200, 2_000, 10_000)
QUICK_SIZES = (200,)
MAX_REPEATS = 3
TARGET_EVENTS, TARGET_PAINT_S, TARGET_MB = 10_000, 3.0, 10.0

_TIMES = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const paint = performance.getEntriesByName('first-contentful-paint')[0];
  const drawn = performance.getEntriesByName('ipctrace-drawn')[0];
  return [paint ? paint.startTime : null, drawn ? drawn.startTime : null, nav ? nav.startTime : 0];
}"""


#: One step forward and one back, as the → and ← keys do (redraw, narration, details), in milliseconds each.
_STEP = """() => {
  const t = performance.now();
  for (let i = 0; i < 5; i++) { ipctrace.next(); ipctrace.prev(); }
  return (performance.now() - t) / 10;
}"""


def _pages(ctx: Context, sizes: tuple[int, ...]) -> dict[tuple[int, bool], dict[str, float | Path]]:
    from ipctrace.order import analyse
    from ipctrace.render import RenderOptions, build_diagram
    from ipctrace.render.html import document, page
    from ipctrace.tracefile import read_trace

    out: dict[tuple[int, bool], dict[str, float | Path]] = {}
    for size in sizes:
        trace = read_trace(record_trace(ctx, size))
        ordered = analyse(trace)
        for fold in (True, False):
            ctx.log(f"  html page of {size:,} events, fold={fold}")
            options = RenderOptions(fold=fold)
            t0 = time.perf_counter()
            text = page(document(ordered, options))
            seconds = time.perf_counter() - t0
            path = ctx.scratch(f"html-{size}-{fold}") / "sequence.html"
            path.write_text(text, encoding="utf-8")
            out[size, fold] = {
                "events": len(trace.events),
                "rows": len(build_diagram(ordered, options).rows),
                "mb": path.stat().st_size / 1e6,
                "packed": 'data-encoding="gzip+base64"' in text,
                "make_s": seconds,
                "path": path,
            }
    return out


def _browser_missing() -> str:
    """What the browser times need and this machine lacks: Debian's Chromium, Playwright ("" when both are here)."""
    if not Path(CHROMIUM).exists():
        return "Chromium"
    if importlib.util.find_spec("playwright") is None:
        return "Playwright (the Python package)"
    return ""


def _browser_times(ctx: Context, pages: dict, repeats: int) -> dict[tuple[int, bool], dict[str, list[float]]]:
    from playwright.sync_api import sync_playwright

    times: dict[tuple[int, bool], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for rep in range(repeats):
                for key, facts in pages.items():
                    ctx.log(f"  open {key[0]:,} events fold={key[1]} in Chromium, repeat {rep + 1}/{repeats}")
                    context = browser.new_context(viewport={"width": 1400, "height": 900}, offline=True)
                    page = context.new_page()
                    page.goto(Path(facts["path"]).as_uri() + "#step=1")
                    page.wait_for_selector("body[data-ready=true]", timeout=120_000)
                    paint, drawn, start = page.evaluate(_TIMES)
                    rec = times[key]
                    rec["paint"].append(((paint or drawn) - start) / 1000)
                    rec["drawn"].append((drawn - start) / 1000)
                    rec["step"].append(page.evaluate(_STEP))
                    context.close()
        finally:
            browser.close()
    return times


def run(ctx: Context) -> Section:
    section = Section(
        "html_page",
        "The classroom page (HTML)",
        "One self-contained file per run, every view embedded; made from the ordered trace, then opened in "
        "Debian's Chromium (headless, driven by Playwright, offline). *first paint* is the first contentful "
        "paint, *drawn* the page's own mark once the diagram is on screen, both from the start of navigation; "
        "*one step* is what the → key does (the window redrawn, the sentence, the details), "
        "timed in the page. Pages above 1 MB of data embed it gzipped and let the browser unpack it.",
    )
    sizes = QUICK_SIZES if ctx.quick else SIZES
    repeats = min(ctx.repeats, MAX_REPEATS)
    pages = _pages(ctx, sizes)
    missing = _browser_missing()
    times: dict = {}
    if missing:
        section.notes.append(
            f"{missing} is not installed here (bash .ci/install-ci-tools.sh installs it): no browser times."
        )
    else:
        times = _browser_times(ctx, pages, repeats)
    rows = []
    for (size, fold), facts in pages.items():
        rec = times.get((size, fold), {})
        rows.append(
            [
                f"{int(facts['events']):,}",
                "yes" if fold else "no",
                num(float(facts["rows"]), 0),
                num(float(facts["mb"]), 2) + (" (packed)" if facts["packed"] else ""),
                num(float(facts["make_s"]), 2),
                *(Stat.of(rec[k]).cell(2) if rec else "—" for k in ("paint", "drawn")),
                Stat.of(rec["step"]).cell(0) if rec else "—",
            ]
        )
    headers = ["events", "fold", "rows (processes view)", "HTML MB", "make s", "first paint s", "drawn s"]
    headers.append("one step ms")
    section.tables.append(Table(headers, rows, f"browser times: median (min–max) over {repeats} loads"))
    if (TARGET_EVENTS, False) in pages:
        facts = pages[TARGET_EVENTS, False]
        section.targets.append(
            Target(
                f"classroom page of {TARGET_EVENTS:,} events (not folded): file size",
                f"< {TARGET_MB:g} MB",
                f"{num(float(facts['mb']), 2)} MB",
                float(facts["mb"]) < TARGET_MB,
            )
        )
        if times:
            drawn = Stat.of(times[TARGET_EVENTS, False]["drawn"])
            section.targets.append(
                Target(
                    f"classroom page of {TARGET_EVENTS:,} events (not folded): drawn in the browser",
                    f"< {TARGET_PAINT_S:g} s",
                    f"{num(drawn.median, 2)} s",
                    drawn.median < TARGET_PAINT_S,
                )
            )
    return section
