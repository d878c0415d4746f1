"""What ends the supervisor's wait between two looks at the run: a role's output, or time.

The recorders write into memory-mapped logs, which nothing can wait on, so the supervisor looks. What a
look waits for usually comes with output: a prompt just before a program reads its standard input (its
`stdin-wait` follows by microseconds), a line after its `listen`, the end of its output when its process
ends. So the output pumps wake the supervisor (`poke`), and after anything has moved it looks again
soon, then less and less often (`QUICK_SECONDS` doubling up to `POLL_SECONDS`): the record that came
with the output is seen within a fraction of a millisecond, and a run where nothing moves is looked at
as often as before. Only a lock and a condition: no descriptor, no signal, nothing a program could
see. No poke is lost: a poke that comes while a wait ends (its time up) ends the next wait at once.
"""

from __future__ import annotations

import threading

POLL_SECONDS = 0.005  # how often the supervisor looks while nothing moves
QUICK_SECONDS = 0.0005  # the first look after a move; each next one waits twice as long, up to POLL_SECONDS


class Wakeup:
    """A flag the output pumps set, waited on with a timeout that grows while nothing moves."""

    def __init__(self) -> None:
        self._poked = False
        self._changed = threading.Condition(threading.Lock())
        self._interval = QUICK_SECONDS

    def poke(self) -> None:
        """Something happened (a role wrote output): the supervisor looks now. Called from any thread."""
        with self._changed:
            self._poked = True
            self._changed.notify()

    def moved(self) -> None:
        """The run moved (a record, a start, input given): the next looks come soon."""
        self._interval = QUICK_SECONDS

    def wait(self) -> bool:
        """Until a poke, or the interval has passed; whether it was poked (a poke also counts as a move).

        The flag is read and taken back under the lock the poke sets it under: a poke after the wait has
        timed out is left for the next wait, which it ends at once.
        """
        with self._changed:
            poked = self._changed.wait_for(self._was_poked, self._interval)
            self._poked = False
        self._interval = QUICK_SECONDS if poked else min(self._interval * 2, POLL_SECONDS)
        return poked

    def _was_poked(self) -> bool:
        return self._poked
