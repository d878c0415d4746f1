"""What `ipctrace run` does after its programs ended, stage by stage: the diagrams of one trace drawn N times.

    python draw_tail.py TRACE.jsonl N

Draws as a run does (`session.diagrams.draw`, the default formats) and prints one JSON object: for each
stage the median wall ms from the start of `draw` to the stage's end, and the median CPU ms of this
process; neato's CPU ms in all (every neato process reaped), and the part of it spent after its DOT was
handed over (the rest was spent while the layout was made: see `render.graphviz.neato.Ahead`).
"""

import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import ipctrace.render.graphviz.neato as neato

try:
    import ipctrace.render.graphviz.early as early
except ImportError:  # an older ipctrace starts no process ahead
    early = None
import ipctrace.session.diagrams as diagrams
from ipctrace.render.graphviz import pngfast
from ipctrace.render.i18n import korean_font
from ipctrace.session.request import DiagramRequest
from ipctrace.tracefile import read_trace

marks: dict[str, tuple[float, float]] = {}
early_ns: list[int] = []
t0 = 0.0
c0 = 0.0


def mark(name: str) -> None:
    marks[name] = ((time.perf_counter() - t0) * 1e3, (time.process_time() - c0) * 1e3)


def marked(name: str, function):
    def wrapper(*args, **kwargs):
        out = function(*args, **kwargs)
        mark(name)
        return out

    return wrapper


def handed_over(original):
    """`_finish_early`, noting first how much CPU the process started ahead has used until its DOT comes."""

    def finish(early, job):
        try:
            with open(f"/proc/{early.pid}/schedstat") as f:
                early_ns.append(int(f.read().split()[0]))  # ns on a CPU so far
        except OSError:
            pass
        return original(early, job)

    return finish


STAGES = ("ordered", "layout", "neato started", "tool-free formats written", "neato waited for, files written")


def main() -> None:
    global t0, c0
    trace = read_trace(sys.argv[1])
    repeats = int(sys.argv[2])
    korean_font()  # done during the run by the warm-up
    pngfast.library()
    diagrams.ordered_view = marked("ordered", diagrams.ordered_view)
    diagrams.build_diagram = marked("layout", diagrams.build_diagram)
    diagrams.start_graphviz_formats = marked("neato started", diagrams.start_graphviz_formats)
    diagrams.render_outputs = marked("tool-free formats written", diagrams.render_outputs)
    diagrams.write_outputs = marked("neato waited for, files written", diagrams.write_outputs)
    if early is not None:
        neato.finish_early = handed_over(neato.finish_early)
    rows = []
    for rep in range(repeats + 1):  # the first is not counted: caches warm
        out = Path(tempfile.mkdtemp(prefix="draw-tail-"))
        marks.clear()
        early_ns.clear()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0, c0 = time.perf_counter(), time.process_time()
        drawing = diagrams.draw(trace, out, DiagramRequest())
        mark("whole")
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        shutil.rmtree(out, ignore_errors=True)
        if drawing.problem:
            raise SystemExit(drawing.problem)
        child = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1e3
        if rep:
            rows.append((dict(marks), child, child - sum(early_ns) / 1e6))
    result = {
        "stages": {
            name: [statistics.median(r[0][name][k] for r in rows) for k in (0, 1)] for name in (*STAGES, "whole")
        },
        "neato_cpu_ms": statistics.median(r[1] for r in rows),
        "neato_cpu_after_handover_ms": statistics.median(r[2] for r in rows),
        "load": os.getloadavg()[0],
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
