"""graphviz's `neato` processes started before their DOT exists: the fixed cost of a run paid meanwhile.

A neato process spends ~25 CPU-ms on itself before its first picture (starting, loading graphviz's
plugins, fontconfig and the fonts), more than the SVG's own drawing. `ipctrace run` starts the processes
it will draw with while its programs run (`start_later`, started by the run's warm-up thread): the PNG
and PDF runs draw a small graph first, whose output is cut off, and wait; the SVG run is only started (a
second graph in an SVG run would rename the master's ids). When the diagram is ready each job takes a
process of its kind (`neato.Running`); the rest are ended. The outputs are the bytes a fresh run writes;
should an early process have failed, its job runs afresh. Not before the first program (each start holds
the interpreter until its exec: +120 ms to the first program at load 6), nor when the layout starts (it
ends before they are ready on a busy machine): `ipctrace render` starts its neato runs as before.

Kept light (no thread pool, no layout): it is imported before the run's first program starts.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ipctrace.render.graphviz.files import split_pngs
from ipctrace.render.options import RenderError

PNG_RUNS = 2  # PNG encoding (libpng + zlib) is most of drawing a page: the pages in one run per core
#: The first face of each of the diagram's font lists (`layout.build.choose_fonts`); the Hangul in the
#: small graph loads the Korean face through fontconfig's fallback.
WARM_FONTS = ("DejaVu Sans", "DejaVu Sans Mono")


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


def argv(neato: str, job: Job) -> list[str]:
    return [neato, "-n2", f"-T{job.fmt if job.renderer is None else f'{job.fmt}:{job.renderer}'}"]


#: For the PNG runs: glibc's malloc asks for transparent huge pages for its large blocks (glibc 2.35 and
#: later; an older one, or a kernel without them, ignores it). Each 1920 x 1080 page is an 8 MB image that
#: cairo fills from its first byte: a run of two of tcp_chat's pages takes ~5,200 page faults with 4 KB
#: pages, ~1,900 with huge ones, and 10-20 ms less of its ~90 CPU-ms after its DOT came. Same pixels.
PNG_TUNABLES = "glibc.malloc.hugetlb=1"


def neato_env(job: Job) -> dict[str, str] | None:
    """The environment of a neato run: the PNG runs' encoder library and malloc setting; None: ipctrace's own."""
    if job.preload is None and job.fmt != "png":
        return None
    env = dict(os.environ)
    if job.preload is not None:
        env["LD_PRELOAD"] = " ".join(filter(None, (job.preload, os.environ.get("LD_PRELOAD"))))
    if job.fmt == "png":
        env["GLIBC_TUNABLES"] = ":".join(filter(None, (os.environ.get("GLIBC_TUNABLES"), PNG_TUNABLES)))
    return env


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


def finish_early(early: subprocess.Popen[bytes], job: Job) -> bytes | None:
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

    `start()` starts them in a thread (each start waits for its exec, which a busy machine may take tens of
    ms to schedule); at once unless `deferred`. `take(job)` hands over a started process of the job's kind
    (or None: the job starts its own); `close()` ends those left over. Without graphviz nothing is started:
    the jobs themselves say that it is missing.
    """

    def __init__(
        self, kinds: Sequence[Kind] | Callable[[], Sequence[Kind]], fonts: Sequence[str], *, deferred: bool = False
    ) -> None:
        self._kinds = kinds
        self._fonts = tuple(fonts)
        self._ready: dict[Kind, list[subprocess.Popen[bytes]]] = {}
        self._lock = threading.Lock()  # the jobs' threads take, the caller's closes, the warm-up's starts
        self._closed = False
        self._starting: threading.Thread | None = None
        if not deferred:
            self.start()

    def start(self) -> None:
        neato = shutil.which("neato")
        with self._lock:
            if self._closed or self._starting is not None or neato is None:
                return
            self._starting = threading.Thread(
                target=self._start, args=(neato,), name="ipctrace-neato-ahead", daemon=True
            )
            self._starting.start()

    def _start(self, neato: str) -> None:
        try:
            self._start_all(neato)
        except Exception:  # noqa: BLE001 - a help, never a need: the jobs start their own and say what is wrong
            return

    def _start_all(self, neato: str) -> None:
        warm = _warm_source(self._fonts)
        kinds = self._kinds() if callable(self._kinds) else self._kinds  # here: it may build the PNG library
        for kind in sorted(kinds, key=lambda k: k.fmt not in _WARMED):  # those with the most to do first
            job = Job("", kind.fmt, kind.renderer, kind.preload)
            try:
                proc = subprocess.Popen(
                    argv(neato, job),
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    env=neato_env(job),
                )
            except OSError:
                return  # the jobs run the ordinary way, and say what is wrong
            self._ready.setdefault(kind, []).append(proc)
            if kind.fmt in _WARMED and proc.stdin is not None:
                try:
                    proc.stdin.write(warm)
                    proc.stdin.flush()
                except OSError:
                    pass  # it failed: its job runs afresh

    def _started(self) -> dict[Kind, list[subprocess.Popen[bytes]]]:
        with self._lock:
            starting = self._starting
        if starting is not None:
            starting.join()
        return self._ready

    def take(self, job: Job) -> subprocess.Popen[bytes] | None:
        """A started process for `job` (None: none left, never started, or closed); called by the job's thread."""
        ready = self._started()
        with self._lock:
            waiting = None if self._closed else ready.get(Kind.of(job))
            return waiting.pop() if waiting else None

    def close(self) -> None:
        """End the processes no job took (a diagram of fewer pages, graphviz's formats not drawn)."""
        with self._lock:
            self._closed = True  # a deferred start that has not begun never will
        ready = self._started()
        with self._lock:
            left = [proc for waiting in ready.values() for proc in waiting]
            ready.clear()
        with _DEFERRED_LOCK:
            if self in _deferred:
                _deferred.remove(self)
        for proc in left:
            proc.kill()
            proc.communicate()


_deferred: list[Ahead] = []  # made by `start_later`, started by `start_deferred`
_DEFERRED_LOCK = threading.Lock()


def graphviz_kinds(formats: Sequence[str]) -> list[Kind]:
    """The neato processes drawing `formats` takes: one per format, PNG's as many as its pages may be split into."""
    kinds: list[Kind] = []
    for fmt in (f for f in ("svg", "png", "pdf") if f in formats):
        if fmt == "svg":
            kinds.append(Kind("svg"))
        elif fmt == "png":
            kinds.extend([Kind("png", "cairo", png_preload())] * max(1, min(PNG_RUNS, os.cpu_count() or 1)))
        else:
            kinds.append(Kind("pdf", "cairo"))
    return kinds


def png_preload() -> str | None:
    """The PNG encoder settings library for LD_PRELOAD (built on first use), None where it cannot be built."""
    from ipctrace.render.graphviz import pngfast

    encoder = pngfast.library()  # the same pixels, encoded in a third of the time (None: graphviz's own way)
    return str(encoder) if encoder is not None else None


def start_later(formats: Sequence[str]) -> Ahead:
    """The neato processes drawing `formats` will take, started by the next `start_deferred()`.

    `ipctrace run` makes them before its programs start and has its warm-up thread start them while the
    programs run: started at once they would hold up its own start-up (the interpreter waits for each
    exec), the part of a run before the first program that nothing else can overlap.
    """
    ahead = Ahead(lambda: graphviz_kinds(formats), WARM_FONTS, deferred=True)
    with _DEFERRED_LOCK:
        _deferred.append(ahead)
    return ahead


def start_deferred() -> None:
    """Start what `start_later` made (a run's warm-up calls it: `cli.AFTER_RUN_DRAWN`)."""
    with _DEFERRED_LOCK:
        waiting = list(_deferred)
        _deferred.clear()
    for ahead in waiting:
        ahead.start()
