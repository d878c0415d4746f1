"""Running graphviz: `neato -n2` draws DOT whose every node has a fixed position (ipctrace placed it).

DESIGN.md measured why: `dot` with rank=same rows kinks arrows and is slow,
while fixed positions (`pos="x,y!"`, `splines=line`, labels as their own
nodes) look like a real sequence diagram and draw 10,000 arrows in under a
second. Independent drawings (the SVG, the PNG pages, the PDF) run as
separate `neato` processes at the same time; `start_all` returns while they
run, so the caller can do other work (the formats graphviz does not draw) and
collect the results when it needs them.
A job may be given a process started before its DOT existed (`early.Ahead`).
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from ipctrace.render.graphviz.early import Ahead, Job, argv, finish_early, neato_env, require_graphviz
from ipctrace.render.options import RenderError


def run_neato(job: Job, early: subprocess.Popen[bytes] | None = None) -> bytes:
    """The output of `job`; `early`: a process `Ahead` started for it (its job is run afresh if it failed)."""
    if early is not None:
        output = finish_early(early, job)
        if output is not None:
            return output
    command = argv(require_graphviz(), job)
    source = job.source.encode("utf-8")
    try:
        proc = subprocess.run(command, input=source, capture_output=True, check=False, env=neato_env(job))
        if proc.returncode != 0 and job.preload is not None:  # the library did not fit this graphviz: without it
            proc = subprocess.run(command, input=source, capture_output=True, check=False)
    except OSError as exc:
        raise RenderError(
            f"graphviz could not be started ({exc.strerror}): reinstall it with `apt-get install graphviz`."
        ) from None
    if proc.returncode != 0:
        lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        errors = [line for line in lines if not line.startswith("Warning")] or lines
        detail = errors[0] if errors else f"exit status {proc.returncode}"
        raise RenderError(f"graphviz could not draw the diagram ({detail}); please report it with the trace file.")
    return proc.stdout


class Running:
    """Neato processes started by `start_all`; `wait()` gives their outputs in the jobs' order."""

    def __init__(self, jobs: Sequence[Job], ahead: Ahead | None = None) -> None:
        self._pool = ThreadPoolExecutor(max_workers=max(1, min(len(jobs), 4)), thread_name_prefix="ipctrace-neato")
        self._futures: list[Future[bytes]] = [self._pool.submit(_run_job, job, ahead) for job in jobs]

    def wait(self) -> list[bytes]:
        """Every job's output; the first job's RenderError if one failed (after all have ended)."""
        try:
            return [future.result() for future in self._futures]
        finally:
            self._pool.shutdown(wait=True)


def _run_job(job: Job, ahead: Ahead | None) -> bytes:
    """One job in its thread, on a process started ahead when there is one (waiting here, not in the caller,
    for the early processes to have started)."""
    return run_neato(job, ahead.take(job) if ahead is not None else None)


__all__ = ["Ahead", "Job", "Running", "require_graphviz", "run_all", "run_neato", "start_all"]


def start_all(jobs: Sequence[Job], ahead: Ahead | None = None) -> Running:
    """Start independent jobs side by side (each its own process, fed and read by a thread) and return at once.

    `ahead`: processes started early, taken by the jobs of their kind (whoever started them ends the rest)."""
    require_graphviz()  # a missing graphviz is said now, before anything else is drawn
    return Running(jobs, ahead)


def run_all(jobs: Sequence[Job]) -> list[bytes]:
    """Run independent jobs side by side (each is its own process); results in the jobs' order."""
    return start_all(jobs).wait() if jobs else []
