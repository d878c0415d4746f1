"""The C originals of the course examples, built on first use with the system C compiler.

Their sources ship with the package (`ipctrace.reference_programs`, folder `c/`, with a Makefile).
In a repository checkout set-up builds them into `reference_programs/c/build/` (git-ignored); an
installed copy is built into `$XDG_CACHE_HOME/ipctrace/c-programs/<version>-<sources digest>/`
(`ipctrace.cbuild` says how).
"""

from __future__ import annotations

from pathlib import Path

from ipctrace import cbuild
from ipctrace.cbuild import INSTALL_HINT
from ipctrace.scenarios import PROGRAMS_DIR

C_SOURCES = PROGRAMS_DIR / "c"

__all__ = ["C_SOURCES", "CProgramsUnavailable", "INSTALL_HINT", "build_dir", "built_programs", "program_names"]


class CProgramsUnavailable(Exception):
    """The C originals cannot be built here; the message says what to install."""


def program_names(src: Path = C_SOURCES) -> list[str]:
    """One program per .c file, named after it."""
    return sorted(p.stem for p in src.glob("*.c"))


def build_dir(src: Path = C_SOURCES) -> Path:
    """Where the programs are built: next to the sources in a checkout, else in the cache."""
    return cbuild.build_dir(src, "c-programs")


def built_programs(src: Path = C_SOURCES) -> Path:
    """The folder of the built C originals (the scenarios' `{cbin}`), building them first if needed."""
    return cbuild.built(
        src,
        program_names(src),
        subject="the C originals are",
        cache_name="c-programs",
        error=CProgramsUnavailable,
    )
