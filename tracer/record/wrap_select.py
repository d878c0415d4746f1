"""Readiness waits as blocking intervals: `select.select`, `select.poll` objects, `select.epoll` objects.

`selectors` and `asyncio` wait through these, so a hang report can say which descriptors a
process was waiting on. Under the race explorer a wait with a timeout is virtual, like a sleep:
the gate is told what it waits for (so it is chosen only when that is ready, or when it may time
out), and once let go it only looks (timeout 0): nothing ready means it timed out.
"""

from __future__ import annotations

import select
import sys

import ipctrace.record.core as core
import ipctrace.record.layout as L
from ipctrace.record.log import ThreadLog

TYPE_CHECKING = False  # typing is not imported at run time: every traced process would pay for it
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

_ID = L.CALL_IDS
_orig_select = select.select
_orig_poll = getattr(select, "poll", None)
_orig_epoll = getattr(select, "epoll", None)
_POST = 1024
_EPOLL_IN = getattr(select, "EPOLLIN", 1) | getattr(select, "EPOLLPRI", 2)
_EPOLL_ANY = _EPOLL_IN | getattr(select, "EPOLLOUT", 4)  # what epoll.register waits for when given no mask


def _fds(objs: Any) -> list[int] | None:
    try:
        return [o if isinstance(o, int) else o.fileno() for o in objs]
    except Exception:
        return None


def _timeout(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _held(reads: Any, writes: Any, finite: bool) -> bool:
    """Tell the explorer's gate what the wait about to be held waits for; True: its timeout is virtual."""
    g = ThreadLog.GATE  # the explorer's gate (gate.py), None when not exploring
    if g is None or g.free:
        return False
    g.waiting = (reads or [], writes or [], finite)
    return finite


def _virtual(finite: bool) -> bool:
    g = ThreadLog.GATE  # the explorer's gate (gate.py), None when not exploring
    return finite and g is not None and not g.free  # still driven once let go (not freed at the end)


def select_(rlist, wlist, xlist, timeout=None, /):
    lg = core.log()
    reads, writes = _fds(rlist), _fds(wlist)
    blob = {"args": {"r": reads, "w": writes, "x": _fds(xlist), "timeout": _timeout(timeout)}}
    finite = _held(reads, writes, timeout is not None)
    if reads and 0 in reads:
        core.stdin_wait()  # waiting for input too: a scripted program's next line is given now
    pos, alen = core.begin(lg, _ID["select"], -1, blob, _POST)
    try:
        r, w, x = _orig_select(rlist, wlist, xlist, 0 if _virtual(finite) else timeout)
    except BaseException as exc:
        core.end(lg, pos, alen, _POST, exc=exc, what="select.select")
        raise
    core.end(lg, pos, alen, _POST, post={"res": [_fds(r), _fds(w), _fds(x)]}, what="select.select")
    return r, w, x


class _TracedPoll:
    """A `select.poll()` object whose `poll` is recorded (the object itself cannot be subclassed)."""

    __slots__ = ("_poll", "_fds")

    def __init__(self, inner: Any) -> None:
        self._poll = inner
        self._fds: dict[int, int] = {}

    def register(self, fd, eventmask=None):
        if eventmask is None:
            self._poll.register(fd)
            mask = select.POLLIN | select.POLLPRI | select.POLLOUT
        else:
            self._poll.register(fd, eventmask)
            mask = eventmask
        got = _fds([fd])
        if got:
            self._fds[got[0]] = mask

    def modify(self, fd, eventmask):
        self._poll.modify(fd, eventmask)
        got = _fds([fd])
        if got:
            self._fds[got[0]] = eventmask

    def unregister(self, fd):
        self._poll.unregister(fd)
        got = _fds([fd])
        if got:
            self._fds.pop(got[0], None)

    def poll(self, timeout=None, /):
        lg = core.log()
        blob = {"args": {"fds": sorted(self._fds), "timeout": _timeout(timeout)}}
        reads = [fd for fd, mask in self._fds.items() if mask & (select.POLLIN | select.POLLPRI)]
        writes = [fd for fd, mask in self._fds.items() if mask & select.POLLOUT]
        finite = _held(reads, writes, _timeout(timeout) is not None and timeout >= 0)
        if 0 in reads:
            core.stdin_wait()
        pos, alen = core.begin(lg, _ID["poll"], -1, blob, _POST)
        try:
            ready = self._poll.poll(0 if _virtual(finite) else timeout)
        except BaseException as exc:
            core.end(lg, pos, alen, _POST, exc=exc, what="poll")
            raise
        core.end(lg, pos, alen, _POST, post={"res": [list(p) for p in ready]}, what="poll")
        return ready


def poll():
    assert _orig_poll is not None
    return _TracedPoll(_orig_poll())


def _traced_epoll_class() -> Any:
    if _orig_epoll is None:
        return None
    orig = _orig_epoll

    class epoll:
        """`select.epoll` with its `poll` recorded; everything else is the real epoll object's.

        It keeps which descriptors were registered for input through it, so that a wait that includes fd 0
        is marked as one for input (`core.stdin_wait`); `selectors` on Linux waits through it.
        """

        __slots__ = ("_ep", "_reads")

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self._ep = orig(*args, **kwargs)
            self._reads: set[int] = set()

        @classmethod
        def fromfd(cls, fd: int) -> Any:
            made = cls.__new__(cls)
            made._ep = orig.fromfd(fd)
            made._reads = set()
            return made

        def register(self, fd: Any, eventmask: int = _EPOLL_ANY) -> None:
            self._ep.register(fd, eventmask)
            self._note(fd, eventmask)

        def modify(self, fd: Any, eventmask: int) -> None:
            self._ep.modify(fd, eventmask)
            self._note(fd, eventmask)

        def unregister(self, fd: Any) -> None:
            self._ep.unregister(fd)
            self._note(fd, 0)

        def _note(self, fd: Any, eventmask: int) -> None:
            got = _fds([fd])
            if got and eventmask & _EPOLL_IN:
                self._reads.add(got[0])
            elif got:
                self._reads.discard(got[0])

        def __getattr__(self, name: str) -> Any:
            return getattr(self._ep, name)

        def __enter__(self) -> Any:
            self._ep.__enter__()
            return self

        def __exit__(self, *exc: Any) -> Any:
            return self._ep.__exit__(*exc)

        def poll(self, timeout=None, maxevents=-1):
            lg = core.log()
            blob = {"args": {"epfd": self._ep.fileno(), "timeout": _timeout(timeout)}}
            finite = _held([self._ep.fileno()], [], _timeout(timeout) is not None and timeout >= 0)
            if 0 in self._reads:
                core.stdin_wait()
            pos, alen = core.begin(lg, _ID["epoll_wait"], -1, blob, _POST)
            try:
                ready = self._ep.poll(0 if _virtual(finite) else timeout, maxevents)
            except BaseException as exc:
                core.end(lg, pos, alen, _POST, exc=exc, what="epoll.poll")
                raise
            core.end(lg, pos, alen, _POST, post={"res": [list(p) for p in ready]}, what="epoll.poll")
            return ready

    epoll.__module__ = "select"
    return epoll


_epoll = _traced_epoll_class()


def wrappers() -> dict[str, Callable[..., Any]]:
    made: dict[str, Any] = {"select": select_}
    if _orig_poll is not None:
        made["poll"] = poll
    if _epoll is not None:
        made["epoll"] = _epoll
    return made


def selector_wrappers() -> list[tuple[type, str, Any]]:
    """The waits of `selectors`' classes, when the module was imported before the recorder wrapped `select`.

    Its classes keep the `select` functions they were defined with (`EpollSelector._selector_cls` is
    `select.epoll` as it was then), and the interpreter's start-up or the recorder's own imports
    (`subprocess`) load it first. Imported later, it takes the wrapped ones by itself.
    """
    selectors = sys.modules.get("selectors")
    if selectors is None:
        return []
    made: list[tuple[type, str, Any]] = [(selectors.SelectSelector, "_select", staticmethod(select_))]
    if _orig_poll is not None and hasattr(selectors, "PollSelector"):
        made.append((selectors.PollSelector, "_selector_cls", staticmethod(poll)))
    if _epoll is not None and hasattr(selectors, "EpollSelector"):
        made.append((selectors.EpollSelector, "_selector_cls", _epoll))
    return made
