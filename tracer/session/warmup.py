"""Importing what comes after a run while its programs run (the layout, the renderers, the summary).

`ipctrace run` spends most of a short run waiting for the traced programs; the modules it needs once
they have ended (a tenth of a second of imports, most of it the diagram layout's frozen records) are
imported meanwhile by a background thread, so they are loaded when the trace is ready. The thread
only imports, and fills a few caches the run would fill later (the installed fonts, a library built on
first use): what the run does is unchanged, and an import that fails here is left for the real import
to report. While it works, the interpreter switches threads every 0.2 ms (`SWITCH_INTERVAL`, not every
5 ms, Python's default), so the supervisor's look at the programs is never held up by more than that.
"""

from __future__ import annotations

import importlib
import sys
import threading
from collections.abc import Sequence

SWITCH_INTERVAL = 0.0002  # seconds a thread may hold the interpreter while the warm-up runs


class Warmup:
    """Imports `modules` in a background thread from `start()`; `wait()` returns once they are loaded.

    An entry `module:function` also calls the module's function (no arguments), for a cached look-up the
    caller will need (the installed fonts, a library built on first use).
    """

    def __init__(self, modules: Sequence[str]) -> None:
        self.modules = tuple(modules)
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if not self.modules or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._load, name="ipctrace-warmup", daemon=True)
        self._thread.start()

    def _load(self) -> None:
        before = sys.getswitchinterval()
        sys.setswitchinterval(min(before, SWITCH_INTERVAL))
        try:
            for entry in self.modules:
                name, _, function = entry.partition(":")
                try:
                    module = importlib.import_module(name)
                    if function:
                        getattr(module, function)()
                except Exception:  # noqa: BLE001 - the import (or call) that needs it says what is wrong
                    continue
        finally:
            sys.setswitchinterval(before)

    def wait(self) -> None:
        """Block until the imports are done (the process never exits half-way through an import)."""
        if self._thread is not None:
            self._thread.join()


__all__ = ["Warmup"]
