"""Running graphviz: `neato -n2` draws DOT whose every node has a fixed position (ipctrace placed it).

DESIGN.md measured why: `dot` with rank=same rows kinks arrows and is slow,
while fixed positions (`pos="x,y!"`, `splines=line`, labels as their own
nodes) look like a real sequence diagram and draw 10,000 arrows in under a
second. Independent drawings (the SVG, the PNG pages, the PDF) run as
separate `neato` processes at the same time; `start_all` returns while they
run, so the caller can do other work (the formats graphviz does not draw) and
collect the results when it needs them.

A neato process spends ~25 CPU-ms on itself before the first picture (starting, loading graphviz's plugins,
fontconfig and the fonts), more than the SVG's own drawing. `Ahead` starts the processes before their DOT
exists (while the trace is assembled and laid out, on a core that is otherwise idle): the PNG and PDF runs
draw a small graph in the diagram's fonts first, whose output is cut off; the SVG run is only started
(a second graph in an SVG run would rename the master's ids). Their outputs are the same bytes a fresh
run writes; should an early process fail, its job runs again the ordinary way.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from ipctrace.render.graphviz.files import split_pngs
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


def _argv(neato: str, job: Job) -> list[str]:
    return [neato, "-n2", f"-T{job.fmt if job.renderer is None else f'{job.fmt}:{job.renderer}'}"]


def _env(job: Job) -> dict[str, str] | None:
    if job.preload is None:
        return None
    return {**os.environ, "LD_PRELOAD": " ".join(filter(None, (job.preload, os.environ.get("LD_PRELOAD"))))}


def run_neato(job: Job, early: subprocess.Popen[bytes] | None = None) -> bytes:
    """The output of `job`; `early`: a process `Ahead` started for it (its job is run afresh if it failed)."""
    if early is not None:
        output = _finish_early(early, job)
        if output is not None:
            return output
    neato = require_graphviz()
    fmt = job.fmt if job.renderer is None else f"{job.fmt}:{job.renderer}"
    env = _env(job)
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


def _after_first_png(data: bytes) -> bytes | None:
    try:
        return data[len(split_pngs(data)[0]) :]
    except (RenderError, IndexError):
        return None


def _after_first_pdf(data: bytes) -> bytes | None:
    end = data.find(b"%%EOF\n")
    return None if end == -1 else data[end + len(b"%%EOF\n") :]


#: Formats whose early process draws `_warm_source` first (see the module docstring), and how the picture
#: it drew is cut from the front of the output (None: the output cannot be read, so the job runs afresh).
_WARMED = {"png": _after_first_png, "pdf": _after_first_pdf}


def _warm_source(fonts: Sequence[str]) -> bytes:
    """A small graph with a line of text in each of the diagram's fonts (Latin, digits, arrows and Hangul)."""
    nodes = "".join(
        f'w{n} [pos="40,{20 + 30 * n}!", shape=box, fontname="{font}", label="warm 0→1 가"];'
        for n, font in enumerate(fonts)
    )
    return f'digraph warm {{graph [bgcolor="#ffffff", pad="0", margin="0"]; {nodes}}}\n'.encode()


def _finish_early(early: subprocess.Popen[bytes], job: Job) -> bytes | None:
    """Feed `job` to a process started ahead and return what it drew for it; None when it failed."""
    try:
        output, _ = early.communicate(job.source.encode("utf-8"))
    except OSError:
        early.kill()
        early.wait()
        return None
    if early.returncode != 0:
        return None
    cut = _WARMED.get(job.fmt)
    return output if cut is None else cut(output)


@dataclass(frozen=True, slots=True)
class Kind:
    """What a neato process started ahead will draw: a job without its source."""

    fmt: str
    renderer: str | None = None
    preload: str | None = None

    @staticmethod
    def of(job: Job) -> Kind:
        return Kind(job.fmt, job.renderer, job.preload)


class Ahead:
    """Neato processes started before their jobs are known (see the module docstring).

    `take(job)` hands over a started process of the job's kind (or None); `close()` ends those left over.
    Without graphviz nothing is started: the jobs themselves say that it is missing.
    """

    def __init__(self, kinds: Sequence[Kind], fonts: Sequence[str]) -> None:
        self._ready: dict[Kind, list[subprocess.Popen[bytes]]] = {}
        neato = shutil.which("neato")
        if neato is None:
            return
        warm = _warm_source(fonts)
        for kind in kinds:
            job = Job("", kind.fmt, kind.renderer, kind.preload)
            try:
                proc = subprocess.Popen(
                    _argv(neato, job),
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    env=_env(job),
                )
            except OSError:
                break  # the jobs run the ordinary way, and say what is wrong
            self._ready.setdefault(kind, []).append(proc)
            if kind.fmt in _WARMED and proc.stdin is not None:
                try:
                    proc.stdin.write(warm)
                    proc.stdin.flush()
                except OSError:
                    pass  # it failed: its job runs afresh

    def take(self, job: Job) -> subprocess.Popen[bytes] | None:
        waiting = self._ready.get(Kind.of(job))
        return waiting.pop() if waiting else None

    def close(self) -> None:
        """End the processes no job took (a diagram of fewer pages, graphviz's formats not drawn)."""
        for waiting in self._ready.values():
            for proc in waiting:
                proc.kill()
                proc.communicate()
        self._ready.clear()


class Running:
    """Neato processes started by `start_all`; `wait()` gives their outputs in the jobs' order."""

    def __init__(self, jobs: Sequence[Job], ahead: Ahead | None = None) -> None:
        self._pool = ThreadPoolExecutor(max_workers=max(1, min(len(jobs), 4)), thread_name_prefix="ipctrace-neato")
        early = [ahead.take(job) if ahead is not None else None for job in jobs]
        self._futures: list[Future[bytes]] = [
            self._pool.submit(run_neato, job, proc) for job, proc in zip(jobs, early, strict=True)
        ]
        if ahead is not None:
            ahead.close()

    def wait(self) -> list[bytes]:
        """Every job's output; the first job's RenderError if one failed (after all have ended)."""
        try:
            return [future.result() for future in self._futures]
        finally:
            self._pool.shutdown(wait=True)


def start_all(jobs: Sequence[Job], ahead: Ahead | None = None) -> Running:
    """Start independent jobs side by side (each its own process, fed and read by a thread) and return at once.

    `ahead`: processes started early, taken by the jobs of their kind (the others are ended)."""
    try:
        require_graphviz()  # a missing graphviz is said now, before anything else is drawn
    except RenderError:
        if ahead is not None:
            ahead.close()
        raise
    return Running(jobs, ahead)


def run_all(jobs: Sequence[Job]) -> list[bytes]:
    """Run independent jobs side by side (each is its own process); results in the jobs' order."""
    return start_all(jobs).wait() if jobs else []
