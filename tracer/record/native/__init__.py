"""The native recorder: an `LD_PRELOAD` library (the C sources beside this file) for programs that are not Python.

It writes the same logs as the Python recorder (record/FORMAT.md, writer 2). Set-up builds it into
`build/` here; the session builds it on first use where it is missing or older than its sources
(`ipctrace.cprograms.native_library`; an installed copy is built into a cache folder). `sites` turns the
return addresses it records into source lines for the reader.
"""

from __future__ import annotations

from pathlib import Path

from ipctrace.record import NATIVE_LIBRARY as LIBRARY

NATIVE_SOURCES = Path(__file__).resolve().parent

__all__ = ["LIBRARY", "NATIVE_SOURCES"]
