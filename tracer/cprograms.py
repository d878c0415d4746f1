"""The C sources ipctrace ships, built on first use with the system C compiler: the C originals of the course
examples and the native recorder (the LD_PRELOAD library that records them).

The sources ship with the package (`ipctrace.reference_programs`, folder `c/`, and `ipctrace.record.native`,
each with a Makefile). In a repository checkout set-up builds them next to their sources (`build/`,
git-ignored), and ipctrace rebuilds what is older than its source. An installed copy (a wheel under
site-packages, or a checkout it cannot write to) is never written to: the build goes to a cache folder of
its own, one per set of sources, `$XDG_CACHE_HOME/ipctrace/<c-programs|native>/<version>-<sources digest>/`
(`~/.cache/...` by default).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from ipctrace import __version__
from ipctrace.record.native import LIBRARY, NATIVE_SOURCES
from ipctrace.scenarios import PROGRAMS_DIR

C_SOURCES = PROGRAMS_DIR / "c"

__all__ = [
    "C_SOURCES",
    "CProgramsUnavailable",
    "INSTALL_HINT",
    "NativeUnavailable",
    "build_dir",
    "built_programs",
    "native_library",
    "native_library_or_reason",
    "program_names",
]


class CProgramsUnavailable(Exception):
    """The C originals cannot be built here; the message says what to install."""


class NativeUnavailable(Exception):
    """The native recorder cannot be built here; the message says what to install."""


def program_names(src: Path = C_SOURCES) -> list[str]:
    """One program per .c file, named after it."""
    return sorted(p.stem for p in src.glob("*.c"))


def build_dir(src: Path = C_SOURCES) -> Path:
    """Where the C originals are built: next to the sources in a checkout, else in the cache."""
    return _build_dir(src, "c-programs")


def built_programs(src: Path = C_SOURCES) -> Path:
    """The folder of the built C originals (the scenarios' `{cbin}`), building them first if needed."""
    return _built(
        src, program_names(src), subject="the C originals are", cache_name="c-programs", error=CProgramsUnavailable
    )


def native_library(src: Path = NATIVE_SOURCES) -> Path:
    """The native recorder's library (what LD_PRELOAD names), building it first if needed."""
    folder = _built(src, [LIBRARY], subject="the native recorder is", cache_name="native", error=NativeUnavailable)
    return folder / LIBRARY


def native_library_or_reason(src: Path = NATIVE_SOURCES) -> tuple[Path | None, str]:
    """(the library, "") or (None, the sentence saying why programs that are not Python run untraced)."""
    try:
        return native_library(src), ""
    except NativeUnavailable as exc:
        return None, str(exc)


INSTALL_HINT = "install them (Debian: sudo apt-get install gcc libc6-dev make), or run scripts/install.sh"


def _sources(src: Path) -> list[Path]:
    return sorted(p for p in src.iterdir() if p.suffix in (".c", ".h") or p.name == "Makefile")


def _build_dir(src: Path, cache_name: str) -> Path:
    """Where `src` is built: next to the sources in a checkout, else in the cache.

    An installed package (under site-packages) is never written to, even where it could be (as root):
    files pip did not install would outlive an uninstall.
    """
    installed = any(part in ("site-packages", "dist-packages") for part in src.parts)
    if not installed and os.access(src, os.W_OK):
        return src / "build"
    import hashlib  # only for an installed copy: importing it costs a checkout's run ~4 ms before its first program

    digest = hashlib.sha256()
    for path in _sources(src):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "ipctrace" / cache_name / f"{__version__}-{digest.hexdigest()[:12]}"


def _up_to_date(src: Path, out: Path, products: Sequence[str]) -> bool:
    newest = max(p.stat().st_mtime for p in _sources(src))
    try:
        return all((out / name).stat().st_mtime >= newest for name in products)
    except FileNotFoundError:
        return False


def _built(src: Path, products: Sequence[str], *, subject: str, cache_name: str, error: type[Exception]) -> Path:
    """The folder holding `products` built from `src` with make, building them first if needed.

    `subject` names what is built, with its verb ("the C originals are", "the native recorder is");
    `error` is the exception raised, with one sentence saying what to install, when it cannot be built.
    """
    what = subject.rsplit(" ", 1)[0]
    if not (src / "Makefile").is_file():
        owner = what + ("'" if what.endswith("s") else "'s")
        raise error(f"{owner} sources are missing from {src}: reinstall ipctrace.")
    out = _build_dir(src, cache_name)
    if _up_to_date(src, out, products):
        return out
    missing = [tool for tool in ("gcc", "make") if shutil.which(tool) is None]
    if missing:
        raise error(
            f"{subject} built on first use with gcc and make, and {' and '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not installed here: {INSTALL_HINT}."
        )
    try:
        out.mkdir(parents=True, exist_ok=True)
        with open(out / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # two runs building at once take turns
            if not _up_to_date(src, out, products):
                _make(src, out, what, error)
    except OSError as exc:
        raise error(f"cannot build {what} in {out} ({exc.strerror}).") from None
    return out


def _make(src: Path, out: Path, what: str, error: type[Exception]) -> None:
    jobs = str(os.cpu_count() or 1)
    done = subprocess.run(
        ["make", "-s", "-j", jobs, "-C", str(src), f"BUILD={out}"], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        errors = [line for line in done.stderr.splitlines() if "error" in line.lower()] or done.stderr.splitlines()
        first = errors[0].strip() if errors else f"make exited with {done.returncode}"
        hint = " (the C library headers are missing: install libc6-dev)" if ".h: No such file" in first else ""
        raise error(f"building {what} failed: {first}{hint}; {INSTALL_HINT}.")
