"""Small helpers every stage shares: inode keys, when a call took effect, addresses, payload checks.

Kept apart so the stage modules can use them without importing each other.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ipctrace.link.model import Inode
from ipctrace.model import Endpoint, Event, Nanos, SockAddr
from ipctrace.tracefile import addr_from_json


def _ino(endpoint: Endpoint | None) -> Inode | None:
    return None if endpoint is None else (endpoint.dev, endpoint.ino)


def _done(event: Event) -> Nanos:
    """When a call took effect as far as anyone can tell: its return, or its entry if it never returned."""
    return event.t1 if event.t1 is not None else event.t0


def _time_key(event: Event) -> tuple[int, int, int, int]:
    return (_done(event), event.t0, event.pid, event.seq)


def _addr(value: Any) -> SockAddr | None:
    try:
        return addr_from_json(value)
    except (TypeError, ValueError, IndexError):
        return None


_WILDCARD_V4 = frozenset({"", "0.0.0.0", "localhost"})
_WILDCARD_V6 = frozenset({"::", "::0", "localhost6", "ip6-localhost"})


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
    return SockAddr(host, addr.port)


def _is_wildcard(addr: SockAddr) -> bool:
    return addr.host in _WILDCARD_V4 or addr.host in _WILDCARD_V6


def _known(data: bytes | None, start: int, length: int) -> bytes:
    """The recorded part of `length` payload bytes from `start` (payloads may be capped)."""
    if data is None or start >= len(data):
        return b""
    return data[start : start + length]


def _agree(a: bytes, b: bytes) -> bool:
    """Two recordings of the same bytes agree where both were kept."""
    n = min(len(a), len(b))
    return a[:n] == b[:n]


_MSG_PEEK = 2  # socket.MSG_PEEK on Linux


def _peeks(e: Event) -> bool:
    """A receive with MSG_PEEK looked at bytes without consuming them: it takes nothing from the channel."""
    flags = e.args.get("flags") if isinstance(e.args, Mapping) else None
    return isinstance(flags, int) and bool(flags & _MSG_PEEK)
