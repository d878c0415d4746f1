"""Pausing Python's cyclic garbage collector while a stage builds a great many objects.

Reading, linking and ordering a large trace make millions of small objects
that never form cycles; each automatic collection walks all of them again,
which made those stages grow faster than the trace (measured: a third of the
read time at 10,000 events). Reference counting still frees everything.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """No automatic cyclic collection inside the block (the previous state is restored after it).

    What the block made is then handed to the oldest generation, as if it had outlived two collections:
    left in the youngest, the first allocation after the block would walk all of it (0.4 CPU-s after
    reading a million events), and the next collections of the middle and oldest generations again.
    A cycle among those objects is still found, by the next full collection.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            _to_oldest()
            gc.enable()


def _to_oldest() -> None:
    """Every tracked object into the oldest generation, without walking them (a freeze and a thaw).

    Left alone when objects are frozen already: thawing would give back to the collector what the
    program kept out of it (`gc.freeze` before a fork).
    """
    if gc.get_freeze_count() == 0:
        gc.freeze()
        gc.unfreeze()
