"""The native recorder: an `LD_PRELOAD` library (C sources beside this file) for programs that are not Python.

It writes the same logs as the Python recorder (record/FORMAT.md, writer 2). Set-up builds it into
`build/` here; an installed ipctrace builds it on first use into
`$XDG_CACHE_HOME/ipctrace/native/<version>-<sources digest>/` (`ipctrace.cbuild`). Only the session
imports this module: traced processes never do.
"""

from __future__ import annotations

from pathlib import Path

from ipctrace.record import NATIVE_LIBRARY as LIBRARY

NATIVE_SOURCES = Path(__file__).resolve().parent


class NativeUnavailable(Exception):
    """The native recorder cannot be built here; the message says what to install."""


def library(src: Path = NATIVE_SOURCES) -> Path:
    """The built library (what LD_PRELOAD names), building it first if needed."""
    from ipctrace import cbuild

    folder = cbuild.built(
        src, [LIBRARY], subject="the native recorder is", cache_name="native", error=NativeUnavailable
    )
    return folder / LIBRARY


def library_or_reason(src: Path = NATIVE_SOURCES) -> tuple[Path | None, str]:
    """(the library, "") or (None, the sentence saying why programs that are not Python run untraced)."""
    try:
        return library(src), ""
    except NativeUnavailable as exc:
        return None, str(exc)
