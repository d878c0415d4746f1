"""How a log file's memory is made: libc's mmap and madvise, and the base class a thread's log derives from.

Python's own `mmap` keeps a duplicate of the file's descriptor for as long as the mapping lives (a number
the program would see), so the mapping is made with libc's `mmap` (by the compiled extension, hotc.c;
through ctypes where it is not built) and used as a memoryview. The extension that maps is the one whose
wrappers may be in use, and the log's base goes with them (their C fields, or the same fields as slots).
Apart from log.py (the records a thread's log holds) because this is the choice of machinery, made once at
import; a traced program imports it at start-up, so it imports nothing log.py did not import already.
"""

from __future__ import annotations

import os

from ipctrace.compiled import use_compiled

TYPE_CHECKING = False  # typing is not imported at run time: every traced process would pay for it
if TYPE_CHECKING:
    from typing import Any

_PROT_RW = 3
_MAP_SHARED = 1


def _ctypes_mapping() -> tuple[Any, Any]:
    """libc's mmap and madvise through ctypes: where the compiled extension is not built."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    mmap = libc.mmap
    mmap.restype = ctypes.c_void_p
    mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
    madvise = libc.madvise
    madvise.restype = ctypes.c_int
    madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    failed = ctypes.c_void_p(-1).value

    def map_shared(fd: int, size: int) -> tuple[int, memoryview]:
        addr = mmap(None, size, _PROT_RW, _MAP_SHARED, fd, 0)
        if addr is None or addr == failed:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))
        return addr, memoryview((ctypes.c_char * size).from_address(addr)).cast("B")

    def advise(addr: int, length: int, advice: int) -> int:
        return 0 if madvise(addr, length, advice) == 0 else ctypes.get_errno()

    return map_shared, advise


try:
    import ipctrace.record._hotc as _hotc  # type: ignore[import-not-found]
except ImportError:  # not built (no compiler when installed)
    _hotc = None
#: The compiled wrappers' extension (hotc.c) when they are the ones in use (record/hot.py), else None. The
#: log's base goes with them: their C fields, or the same fields as slots for the Python wrappers.
HOTC = _hotc if use_compiled(_hotc) and hasattr(_hotc, "LogState") else None


def _mapping() -> tuple[Any, Any]:
    """(map_shared, advise): the compiled ones (hotc.c) when the extension is built, else ctypes'."""
    if hasattr(_hotc, "map_shared") and hasattr(_hotc, "advise"):  # None, or built before it had them
        return _hotc.map_shared, _hotc.advise
    return _ctypes_mapping()


_map_shared, _madvise = _mapping()
_MADV_POPULATE_WRITE = 23  # Linux 5.14 and later; older kernels say EINVAL and pages fault in one by one
_MADV_RANDOM = 1


def _populate(addr: int, length: int) -> None:
    """Fault a reserved chunk's pages in now, writable: one call per chunk instead of a page fault every 4 KiB.

    The blocks are already reserved (no SIGBUS); the pages are the file's, in the page cache, as when written.
    """
    _madvise(addr, length, _MADV_POPULATE_WRITE)


def _log_state() -> type:
    """ThreadLog's base: the compiled wrappers' `LogState` (hotc.c) when they are used, else the same as slots.

    `pos`, `limit`, `addr`, `alive` and `caches` are what every recorded call reads; as C fields the
    compiled wrappers take them without an attribute lookup. Python code reads and sets them either way.
    """
    if HOTC is not None:
        return HOTC.LogState

    class LogState:
        __slots__ = ("pos", "limit", "addr", "alive", "caches")

    return LogState


if TYPE_CHECKING:

    class _LogState:
        pos: int
        limit: int
        addr: int
        alive: bool
        caches: list[dict[int, tuple[Any, ...]]]

else:
    _LogState = _log_state()
