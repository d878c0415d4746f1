"""Ctrl-C, SIGTERM and SIGHUP to ipctrace: a request to stop the run early, never a way to lose it.

While a run is in charge, each of the three signals only sets a flag; the supervisor looks at it
between two steps, stops the traced processes (after noting what each is blocked in), writes the
partial trace, and the command then exits with the shell's status for that signal (130, 143, 129).
A signal that interrupted half-way through reading the recorder's output would leave some processes
unknown and their blocked calls unreported; a flag cannot. GNU `timeout` sends SIGTERM, a closed
terminal SIGHUP: both end the run the way Ctrl-C does.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType, TracebackType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

_WHY = {
    signal.SIGINT: "stopped with Ctrl-C",
    signal.SIGTERM: "stopped by SIGTERM",
    signal.SIGHUP: "stopped by SIGHUP (its terminal was closed)",
}


class StopSignals:
    """Holds the first stop signal received while it is entered (a context manager; main thread only).

    Entering twice (the command line around the whole command, the run inside it) is harmless: the
    inner one sees the outer one's flag and leaves the handlers alone.
    """

    _active: StopSignals | None = None

    def __init__(self) -> None:
        self.received: signal.Signals | None = None
        self._previous: dict[signal.Signals, object] = {}
        self._outer: StopSignals | None = None

    def __enter__(self) -> StopSignals:
        outer = StopSignals._active
        if outer is not None:
            self._outer = outer
            return self
        if threading.current_thread() is not threading.main_thread():
            return self  # signals reach only the main thread: nothing to take here
        for sig in STOP_SIGNALS:
            self._previous[sig] = signal.signal(sig, self._on_signal)
        StopSignals._active = self
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._outer is not None:
            return
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]  # what signal.signal returned before
        self._previous.clear()
        if StopSignals._active is self:
            StopSignals._active = None

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if self.received is None:
            self.received = signal.Signals(signum)

    @property
    def caught(self) -> signal.Signals | None:
        """The stop signal received so far (the outer holder's, when nested)."""
        return self._outer.caught if self._outer is not None else self.received

    def why(self) -> str:
        """`stopped by SIGTERM`, ... for the signal received."""
        sig = self.caught
        return _WHY.get(sig, f"stopped by {sig.name}") if sig is not None else ""
