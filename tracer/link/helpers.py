"""Small helpers every linking stage shares: when a call took effect, address spellings, payload checks.

Kept apart so the stage modules can use them without importing each other.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Mapping
from functools import lru_cache

from ipctrace.calls import MsgFlag
from ipctrace.model import Event, Nanos, SockAddr
from ipctrace.perf import sorted_by_first


def done_at(event: Event) -> Nanos:
    """When a call took effect as far as anyone can tell: its return, or its entry if it never returned."""
    return event.t1 if event.t1 is not None else event.t0


def time_key(event: Event) -> tuple[int, int, int, int]:
    """Calls in the order they returned (ties: entry, pid, seq)."""
    return (done_at(event), event.t0, event.pid, event.seq)


_T1 = operator.attrgetter("t1")
_RETURNED = operator.attrgetter("t1", "t0", "pid", "seq")  # `time_key` of a call that returned, in C


def in_time_order(events: Iterable[Event]) -> list[Event]:
    """`sorted(events, key=time_key)`; when every call returned, without a Python call or a tuple per event."""
    events = list(events)
    if None in map(_T1, events):
        return sorted(events, key=time_key)
    return sorted_by_first(events, _T1, _RETURNED)


_WILDCARD_V4 = frozenset({"", "0.0.0.0", "localhost"})
_WILDCARD_V6 = frozenset({"::", "::0", "localhost6", "ip6-localhost"})


@lru_cache(maxsize=4096)
def normalize(addr: SockAddr | None) -> SockAddr | None:
    """An IP address as the loopback wire shows it: wildcards and `localhost` become loopback.

    A datagram sent from a socket bound to 0.0.0.0, or sent to 0.0.0.0, travels
    127.0.0.1 → 127.0.0.1 on `lo`; both sides of one flow must get one key.
    """
    if addr is None or addr.port is None:
        return addr
    host = addr.host
    if host.startswith("::ffff:"):
        host = host[7:]
    if host in _WILDCARD_V4:
        host = "127.0.0.1"
    elif host in _WILDCARD_V6:
        host = "::1"
    if host == addr.host:
        return addr
    return SockAddr(host, addr.port)


def is_wildcard(addr: SockAddr) -> bool:
    return addr.host in _WILDCARD_V4 or addr.host in _WILDCARD_V6


def known(data: bytes | None, start: int, length: int) -> bytes:
    """The recorded part of `length` payload bytes from `start` (payloads may be capped)."""
    if data is None or start >= len(data):
        return b""
    if start == 0 and length >= len(data):
        return data
    return data[start : start + length]


def agree(a: bytes, b: bytes) -> bool:
    """Two recordings of the same bytes agree where both were kept."""
    n = min(len(a), len(b))
    if n == len(a) == len(b):
        return a == b
    return a[:n] == b[:n]


_MSG_PEEK = MsgFlag.MSG_PEEK.value


def peeks(e: Event) -> bool:
    """A receive with MSG_PEEK looked at bytes without consuming them: it takes nothing from the channel."""
    args = e.args
    if not args:  # the usual case, asked once a receive: no arguments, or none of them flags
        return False
    flags = args.get("flags") if type(args) is dict or isinstance(args, Mapping) else None
    return isinstance(flags, int) and bool(flags & _MSG_PEEK)


def call_named(event: Event) -> str:
    """A call as a sentence names it: `sendto at prog.py line 7`, or by its place in its process (no site known)."""
    if event.site is not None and event.site.file and event.site.line > 0:
        return f"{event.call} at {event.site.file.rsplit('/', 1)[-1]} line {event.site.line}"
    return f"{event.call} #{event.seq} of pid {event.pid}"
