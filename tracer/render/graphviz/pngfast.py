"""The PNG slides' encoder settings library (`pngfast.c`), built on first use with the system C compiler.

Encoding is most of what drawing a PNG slide costs (see `pngfast.c`); with this library in its
LD_PRELOAD, a `neato` run writes the same pixels in about a third of the time. It is built once into a
cache folder of its own, `$XDG_CACHE_HOME/ipctrace/pngfast/<version>-<source digest>/` (`~/.cache/...`
by default); `scripts/install.sh` builds it at set-up. Without a C compiler, or when the build fails,
`library()` is None and PNGs are encoded as graphviz does by itself: the same pictures, more slowly.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

from ipctrace import __version__

SOURCE = Path(__file__).with_name("pngfast.c")
NAME = "pngfast.so"
BUILD_SECONDS = 60


def cache_dir() -> Path:
    """Where this version of the library is built (one folder per source, so an edit is rebuilt)."""
    digest = hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:12]
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "ipctrace" / "pngfast" / f"{__version__}-{digest}"


@lru_cache(maxsize=1)
def library() -> Path | None:
    """The built library (built now if needed), or None when it cannot be built here."""
    try:
        target = cache_dir() / NAME
        if target.is_file():
            return target
        compiler = shutil.which("cc") or shutil.which("gcc")
        if compiler is None:
            return None
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
            built = Path(scratch) / NAME
            cmd = [compiler, "-O2", "-shared", "-fPIC", "-o", str(built), str(SOURCE), "-ldl"]
            done = subprocess.run(cmd, capture_output=True, timeout=BUILD_SECONDS, check=False)
            if done.returncode != 0 or not built.is_file():
                return None
            os.replace(built, target)  # whole or not at all, even with two runs building at once
        return target
    except (OSError, subprocess.SubprocessError):
        return None


__all__ = ["SOURCE", "cache_dir", "library"]
