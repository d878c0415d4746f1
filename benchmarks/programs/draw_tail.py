"""What `ipctrace run` does after its programs ended, stage by stage.

    python draw_tail.py TRACE.jsonl N     the diagrams of one trace drawn N times (as `ipctrace render`)
    python draw_tail.py run SCENARIO      one `ipctrace run SCENARIO --port 0 --quiet` in this process

Prints one JSON object. For each stage: wall ms from the start of `draw` (with `run`: from the programs'
end) to the stage's end and CPU ms of this process (medians over the N drawings); neato's CPU ms in all
(every neato process reaped) and the part of it spent after its DOT was handed over to a process started
ahead (`render.graphviz.early`; the rest was spent before). With `run` also the ms from the interpreter's
first line of this program to the first program's start and to the programs' end.
"""

import time

START = time.perf_counter()  # before any import: `run` measures the command's own start-up

import importlib.util  # noqa: E402 - after START on purpose
import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

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


def instrument() -> None:
    """Mark the drawing's stages (imported here: in a run, once the warm-up has imported them)."""
    import ipctrace.render.graphviz.neato as neato
    import ipctrace.session.diagrams as diagrams

    diagrams.ordered_view = marked("ordered", diagrams.ordered_view)
    diagrams.build_diagram = marked("layout", diagrams.build_diagram)
    diagrams.start_graphviz_formats = marked("neato started", diagrams.start_graphviz_formats)
    diagrams.render_outputs = marked("tool-free formats written", diagrams.render_outputs)
    diagrams.write_outputs = marked("neato waited for, files written", diagrams.write_outputs)
    if importlib.util.find_spec("ipctrace.render.graphviz.early") is not None:  # an older one starts none ahead
        neato.finish_early = handed_over(neato.finish_early)


def one_run(scenario: str) -> None:
    """One `ipctrace run` here, its stages marked from the end of its programs (the supervisor's run)."""
    global t0, c0
    import ipctrace.session.supervisor as supervisor
    from ipctrace.cli import main as cli_main

    original = supervisor.Supervisor.run
    points = {}

    def supervised(self):
        global t0, c0
        points["first program"] = (time.perf_counter() - START) * 1e3
        try:
            return original(self)
        finally:
            t0, c0 = time.perf_counter(), time.process_time()
            points["programs ended"] = (t0 - START) * 1e3
            instrument()

    supervisor.Supervisor.run = supervised
    out = tempfile.mkdtemp(prefix="draw-tail-run-")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        cli_main(["run", scenario, "--port", "0", "--quiet", "--output", out])
    except SystemExit:
        pass
    mark("whole")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    shutil.rmtree(out, ignore_errors=True)
    child = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1e3
    print(
        json.dumps(
            {
                "points": points,
                "stages": marks,
                "children_cpu_ms": child,
                "neato_cpu_before_handover_ms": sum(early_ns) / 1e6,
                "load": os.getloadavg()[0],
            }
        )
    )


def main() -> None:
    global t0, c0
    if sys.argv[1] == "run":
        one_run(sys.argv[2])
        return
    from ipctrace.render.graphviz import pngfast
    from ipctrace.render.i18n import korean_font
    from ipctrace.session import diagrams
    from ipctrace.session.request import DiagramRequest
    from ipctrace.tracefile import read_trace

    trace = read_trace(sys.argv[1])
    repeats = int(sys.argv[2])
    korean_font()  # done during the run by the warm-up
    pngfast.library()
    instrument()
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
