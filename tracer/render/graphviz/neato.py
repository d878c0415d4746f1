"""Running graphviz: `neato -n2` draws DOT whose every node has a fixed position (ipctrace placed it).

DESIGN.md measured why: `dot` with rank=same rows kinks arrows and is slow,
while fixed positions (`pos="x,y!"`, `splines=line`, labels as their own
nodes) look like a real sequence diagram and draw 10,000 arrows in under a
second. Independent drawings (the SVG, the PNG pages, the PDF) run as
separate `neato` processes at the same time; `start_all` returns while they
run, so the caller can do other work (the formats graphviz does not draw) and
collect the results when it needs them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from ipctrace.render.options import RenderError


def require_graphviz() -> str:
    """The path of `neato`; a RenderError saying how to install graphviz when it is missing."""
    path = shutil.which("neato")
    if path is None:
        raise RenderError(
            "graphviz is not installed (no `neato` on PATH), so no diagram can be drawn: "
            "install it with `apt-get install graphviz`."
        )
    return path


@dataclass(frozen=True, slots=True)
class Job:
    """One neato run: DOT source, an output format (`svg`, `png`, `pdf`) and the renderer (`cairo`).

    `preload`: a library for the run's LD_PRELOAD (the PNG encoder settings, `pngfast`); should the run
    fail with it, it is run again without.
    """

    source: str
    fmt: str
    renderer: str | None = None
    preload: str | None = None


def run_neato(job: Job) -> bytes:
    neato = require_graphviz()
    fmt = job.fmt if job.renderer is None else f"{job.fmt}:{job.renderer}"
    env = None
    if job.preload is not None:
        env = {**os.environ, "LD_PRELOAD": " ".join(filter(None, (job.preload, os.environ.get("LD_PRELOAD"))))}
    try:
        proc = subprocess.run(
            [neato, "-n2", f"-T{fmt}"], input=job.source.encode("utf-8"), capture_output=True, check=False, env=env
        )
        if proc.returncode != 0 and job.preload is not None:  # the library did not fit this graphviz: without it
            proc = subprocess.run(
                [neato, "-n2", f"-T{fmt}"], input=job.source.encode("utf-8"), capture_output=True, check=False
            )
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

    def __init__(self, jobs: Sequence[Job]) -> None:
        self._pool = ThreadPoolExecutor(max_workers=max(1, min(len(jobs), 4)), thread_name_prefix="ipctrace-neato")
        self._futures: list[Future[bytes]] = [self._pool.submit(run_neato, job) for job in jobs]

    def wait(self) -> list[bytes]:
        """Every job's output; the first job's RenderError if one failed (after all have ended)."""
        try:
            return [future.result() for future in self._futures]
        finally:
            self._pool.shutdown(wait=True)


def start_all(jobs: Sequence[Job]) -> Running:
    """Start independent jobs side by side (each its own process, fed and read by a thread) and return at once."""
    require_graphviz()  # a missing graphviz is said now, before anything else is drawn
    return Running(jobs)


def run_all(jobs: Sequence[Job]) -> list[bytes]:
    """Run independent jobs side by side (each is its own process); results in the jobs' order."""
    return start_all(jobs).wait() if jobs else []
