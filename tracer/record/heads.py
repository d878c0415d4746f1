"""The hot path's record heads: packed once per call site, descriptor, endpoint and size, then reused.

A hot wrapper (hot_generated.py) looks its call site up in its `ThreadLog.caches` dict and, when the
descriptor, its endpoint (by identity: `endpoints.TABLE` makes a new tuple when a number names
something new) and the size are those of the cached head, stores that head with one `struct` call.
Otherwise it asks here for a new one. The head is FORMAT.md's: bytes 0-8 (call, state, kind, length),
t0 at 8 (taken at each call), bytes 16-60 (fd, flags, site, dev, ino, asked, data_len).
"""

from __future__ import annotations

import struct

import ipctrace.record.layout as L

TYPE_CHECKING = False  # typing is not imported at run time: every traced process would pay for it
if TYPE_CHECKING:
    from typing import Any

_HEAD = L.HEAD
_NO_EP = (0, 0, 0)
#: The hot wrappers (hotpath.SPECS): each has its own cache of record heads in every ThreadLog.
HOT_WRAPPERS = 9
_HOT_FLAGS = L.F_FD | L.F_ASKED | L.F_RES | L.F_SIZE
#: Bytes 16-60 of a record's head: fd, flags, site, dev, ino, asked, data_len.
_REST = struct.Struct("<iIQQQqI")
#: Bytes 60-96 of a send's head as begun: res and size as a complete send ends (read only once state is done).
_SENT_END = struct.Struct("<12xqq8x")
#: A hot record's bytes 0-60 from its two constant parts and t0 (a receive's head; its payload comes at the end).
HEAD_PACK = struct.Struct("<8sq44s").pack_into
_SEND_PACKS: dict[int, Any] = {}
_RECEIVED_PACKS: dict[int, Any] = {}


def _send_pack(dlen: int) -> Any:
    """Stores a send's whole head and its `dlen` payload bytes (at 96) in one call."""
    got = _SEND_PACKS.get(dlen)
    if got is None:
        got = _SEND_PACKS[dlen] = struct.Struct(f"<8sq80s{dlen}s").pack_into
    return got


def received_pack(kept: int) -> Any:
    """Stores a receive's end (data_len, t1, res, size at 56-88) and the first `kept` bytes of its payload (at 96)."""
    got = _RECEIVED_PACKS.get(kept)
    if got is None:
        got = _RECEIVED_PACKS[kept] = struct.Struct(f"<I4xqqq8x{kept}s").pack_into
    return got


def send_entry(lg: Any, cache: dict, key: int, f: Any, call: int, fd: int, ep: Any, n: int) -> tuple[Any, ...]:
    """What a hot send at call site `key` (frame `f`, None: no Python frame) on `fd` with `n` bytes writes.

    (ep, fd, n, pack, first 8 bytes, bytes 16-96, length, 0): `pack(buf, pos, first, t0, rest, payload)`
    stores the record's head and payload in one call, with res and size already n (what a send that
    moves every byte returns: its end then stores t1 alone); pack is None for a call not recorded.
    Made once, kept until the site is used with another descriptor, endpoint or size.
    """
    site = 0 if f is None else _site_of(lg, key, f)
    if site < 0:
        entry: tuple[Any, ...] = (ep, fd, n, None, b"", b"", 0, 0)
    else:
        cap = lg.cap
        dlen = n if n <= cap else cap
        flags = _HOT_FLAGS | (L.F_CAPPED if n > cap else 0)
        length = (_HEAD + dlen + 7) & ~7
        dev, ino, kind = ep or _NO_EP
        first = L.FIRST.pack(call, L.IN_PROGRESS, kind, length)
        rest = _REST.pack(fd, flags, site, dev, ino, n, dlen) + _SENT_END.pack(n, n)
        entry = (ep, fd, n, _send_pack(dlen), first, rest, length, 0)
    cache[key] = entry
    return entry


def receive_entry(lg: Any, cache: dict, key: int, f: Any, call: int, fd: int, ep: Any, n: int) -> tuple[Any, ...]:
    """What a hot receive asking `n` bytes writes (as `send_entry`); its 4th item stores a full end.

    (ep, fd, n, end, first, rest, length, room): the head is stored with `HEAD_PACK`, and a receive that
    got `room` bytes (the payload kept) or more ends with `end(buf, pos + 56, room, t1, size, size, data)`.
    """
    site = 0 if f is None else _site_of(lg, key, f)
    if site < 0:
        entry: tuple[Any, ...] = (ep, fd, n, None, b"", b"", 0, 0)
    else:
        cap = lg.cap
        room = n if n <= cap else cap
        if room < 0:
            room = 0
        length = (_HEAD + room + 7) & ~7
        dev, ino, kind = ep or _NO_EP
        first = L.FIRST.pack(call, L.IN_PROGRESS, kind, length)
        rest = _REST.pack(fd, _HOT_FLAGS, site, dev, ino, n, 0)
        entry = (ep, fd, n, received_pack(room), first, rest, length, room)
    cache[key] = entry
    return entry


def _site_of(lg: Any, key: int, f: Any) -> int:
    """The site id of frame `f` in `lg` (numbered, and defined by a site record, on first use)."""
    got = lg.sites.get(key)
    return got[0] if got is not None else lg.new_site(f)
