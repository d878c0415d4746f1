"""Sockets: what each socket inode is bound and connected to, read from the calls that carry addresses.

Datagram matching needs to know which traced socket was bound to an address
at a given time, and `EndpointInfo` reports each socket's addresses.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ipctrace.calls import CONNECTS, Call
from ipctrace.link.helpers import is_wildcard
from ipctrace.link.model import EndpointInfo, GroupId
from ipctrace.model import Endpoint, EndpointKind, Event, Inode, Nanos, SockAddr


@dataclass
class SocketFacts:
    """What the calls on one socket said about it; mutable while the trace is read."""

    endpoint: Endpoint
    first: Nanos
    local: SockAddr | None = None
    peer: SockAddr | None = None
    listening: bool = False
    bound_at: Nanos | None = None

    @property
    def since(self) -> Nanos:
        """From when the socket held its local address."""
        return self.bound_at if self.bound_at is not None else self.first

    def set_local(self, addr: SockAddr | None) -> None:
        """Keep the most telling local address: a real port, a specific host over a wildcard."""
        if not _has_port(addr):
            return
        assert addr is not None
        if self.local is None or not _has_port(self.local) or (is_wildcard(self.local) and not is_wildcard(addr)):
            self.local = addr

    def info(self, group: GroupId | None = None) -> EndpointInfo:
        return EndpointInfo(self.endpoint, group, local=self.local, peer=self.peer, listening=self.listening)


def _has_port(addr: SockAddr | None) -> bool:
    return addr is not None and (addr.port is None or addr.port != 0)


#: What `_is_socket` says of each kind, asked once a call.
_SOCKET_KINDS = frozenset(kind for kind in EndpointKind if kind.is_ipc and not kind.is_pipe)


def _is_socket(endpoint: Endpoint | None) -> bool:
    return endpoint is not None and endpoint.kind in _SOCKET_KINDS


class _Collector:
    def __init__(self) -> None:
        self.socks: dict[Inode, SocketFacts] = {}

    def sock(self, ep: Endpoint, t: Nanos) -> SocketFacts:
        facts = self.socks.get(ep.inode)
        if facts is None:
            facts = self.socks[ep.inode] = SocketFacts(ep, t)
        return facts

    def see(self, e: Event) -> None:
        if e.call is Call.SOCKETPAIR:
            if not e.failed:
                for ep in (e.endpoint, e.peer_endpoint):
                    if ep is not None:
                        self.sock(ep, e.t0)
            return
        if e.endpoint is None or not _is_socket(e.endpoint):
            return
        s = self.sock(e.endpoint, e.t0)
        if not e.failed or (e.call in CONNECTS and e.error == "EINPROGRESS"):
            self._addresses(e, s)

    def _addresses(self, e: Event, s: SocketFacts) -> None:
        if e.call is Call.BIND:
            s.set_local(e.local or e.address)
            s.bound_at = e.t0
        elif e.call is Call.LISTEN:
            s.listening = True
            s.set_local(e.local)
        elif e.call in CONNECTS:
            s.set_local(e.local)
            s.peer = e.peer or e.address
        elif e.call is Call.ACCEPT and e.peer_endpoint is not None:
            s.listening = True
            new = self.sock(e.peer_endpoint, e.t0)
            new.set_local(e.local)
            new.peer = e.peer
        elif e.local is not None:
            s.set_local(e.local)


def collect_sockets(events: Iterable[Event]) -> dict[Inode, SocketFacts]:
    """Addresses per socket inode, from bind, listen, connect, accept and the address-carrying calls."""
    collector = _Collector()
    see, socketpair = collector.see, Call.SOCKETPAIR
    for e in events:
        ep = e.endpoint
        if e.call is socketpair or ep is not None and ep.kind in _SOCKET_KINDS:  # the others say nothing here
            see(e)
    return collector.socks
