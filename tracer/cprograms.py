"""The C originals of the course examples, built on first use with the system C compiler.

Their sources ship with the package (`ipctrace.reference_programs`, folder `c/`, with a Makefile).
In a repository checkout set-up builds them into `reference_programs/c/build/` (git-ignored);
ipctrace uses that folder, and rebuilds what is older than its source. An installed copy (a wheel
under site-packages, or a checkout it cannot write to) is left untouched: ipctrace builds into a cache
folder of its own instead, one per set of sources:
`$XDG_CACHE_HOME/ipctrace/c-programs/<version>-<sources digest>/` (`~/.cache/...` by default).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from ipctrace import __version__
from ipctrace.scenarios import PROGRAMS_DIR

C_SOURCES = PROGRAMS_DIR / "c"
INSTALL_HINT = "install them (Debian: sudo apt-get install gcc libc6-dev make), or run scripts/install.sh"


class CProgramsUnavailable(Exception):
    """The C originals cannot be built here; the message says what to install."""


def _sources(src: Path) -> list[Path]:
    return sorted(p for p in src.iterdir() if p.suffix in (".c", ".h") or p.name == "Makefile")


def program_names(src: Path = C_SOURCES) -> list[str]:
    """One program per .c file, named after it."""
    return sorted(p.stem for p in src.glob("*.c"))


def build_dir(src: Path = C_SOURCES) -> Path:
    """Where the programs are built: next to the sources in a checkout, else in the cache.

    An installed package (under site-packages) is never written to, even where it could be (as root):
    files pip did not install would outlive an uninstall.
    """
    installed = any(part in ("site-packages", "dist-packages") for part in src.parts)
    if not installed and os.access(src, os.W_OK):
        return src / "build"
    digest = hashlib.sha256()
    for path in _sources(src):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "ipctrace" / "c-programs" / f"{__version__}-{digest.hexdigest()[:12]}"


def _up_to_date(src: Path, out: Path) -> bool:
    newest = max(p.stat().st_mtime for p in _sources(src))
    try:
        return all((out / name).stat().st_mtime >= newest for name in program_names(src))
    except FileNotFoundError:
        return False


def built_programs(src: Path = C_SOURCES) -> Path:
    """The folder of the built C originals (the scenarios' `{cbin}`), building them first if needed."""
    if not (src / "Makefile").is_file():
        raise CProgramsUnavailable(f"the C originals' sources are missing from {src}: reinstall ipctrace.")
    out = build_dir(src)
    if _up_to_date(src, out):
        return out
    missing = [tool for tool in ("gcc", "make") if shutil.which(tool) is None]
    if missing:
        raise CProgramsUnavailable(
            f"the C originals are built on first use with gcc and make, and {' and '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not installed here: {INSTALL_HINT}."
        )
    try:
        out.mkdir(parents=True, exist_ok=True)
        with open(out / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # two runs building at once take turns
            if not _up_to_date(src, out):
                _make(src, out)
    except OSError as exc:
        raise CProgramsUnavailable(f"cannot build the C originals in {out} ({exc.strerror}).") from None
    return out


def _make(src: Path, out: Path) -> None:
    jobs = str(os.cpu_count() or 1)
    done = subprocess.run(
        ["make", "-s", "-j", jobs, "-C", str(src), f"BUILD={out}"], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        errors = [line for line in done.stderr.splitlines() if "error" in line.lower()] or done.stderr.splitlines()
        first = errors[0].strip() if errors else f"make exited with {done.returncode}"
        hint = " (the C library headers are missing: install libc6-dev)" if ".h: No such file" in first else ""
        raise CProgramsUnavailable(f"building the C originals failed: {first}{hint}; {INSTALL_HINT}.")
