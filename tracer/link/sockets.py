"""Sockets: what each socket inode is bound and connected to, read from the calls that carry addresses.

Datagram matching needs to know which traced socket was bound to an address
at a given time, and `EndpointInfo` reports each socket's addresses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ipctrace.link.helpers import _addr, _is_wildcard
from ipctrace.link.model import CONNECT_CALLS, Inode
from ipctrace.model import Endpoint, Event, Nanos, SockAddr


@dataclass
class _Sock:
    """Mutable while the trace is read; becomes an EndpointInfo."""

    endpoint: Endpoint
    first: Nanos
    local: SockAddr | None = None
    peer: SockAddr | None = None
    listening: bool = False
    bound_at: Nanos | None = None


def _has_port(addr: SockAddr | None) -> bool:
    return addr is not None and (addr.port is None or addr.port != 0)


def _collect_sockets(events: Sequence[Event]) -> dict[Inode, _Sock]:
    """Addresses per socket inode, from bind, listen, connect, accept and the address-carrying calls."""
    socks: dict[Inode, _Sock] = {}

    def sock(ep: Endpoint, t: Nanos) -> _Sock:
        key = (ep.dev, ep.ino)
        if key not in socks:
            socks[key] = _Sock(ep, t)
        return socks[key]

    def set_local(s: _Sock, addr: SockAddr | None) -> None:
        if _has_port(addr) and (
            s.local is None
            or not _has_port(s.local)
            or (addr is not None and _is_wildcard(s.local) and not _is_wildcard(addr))
        ):
            s.local = addr

    for e in events:
        if e.call == "socketpair" and not e.failed:
            for ep in (e.endpoint, e.peer_endpoint):
                if ep is not None:
                    sock(ep, e.t0)
            continue
        if e.endpoint is None or e.endpoint.kind == "pipe" or e.endpoint.kind in ("file", "tty", "char", "other"):
            continue
        s = sock(e.endpoint, e.t0)
        if e.failed and not (e.call in CONNECT_CALLS and e.error == "EINPROGRESS"):
            continue
        if e.call == "bind":
            set_local(s, e.local or _addr(e.args.get("addr")))
            s.bound_at = e.t0
        elif e.call == "listen":
            s.listening = True
            set_local(s, e.local)
        elif e.call in CONNECT_CALLS:
            set_local(s, e.local)
            s.peer = e.peer or _addr(e.args.get("addr"))
        elif e.call == "accept" and e.peer_endpoint is not None:
            s.listening = True
            new = sock(e.peer_endpoint, e.t0)
            set_local(new, e.local)
            new.peer = e.peer
        elif e.local is not None:
            set_local(s, e.local)
    return socks
