"""Keeping only a run's packets: those of the sockets its traced processes used (`lo` carries others too)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache

from ipctrace.model import Packet, SockAddr

#: (proto, local, peer) of one socket a traced process used; peer None = "any peer".
SocketKey = tuple[str, SockAddr, SockAddr | None]

_WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::", "*"})


@lru_cache(maxsize=4096)
def _norm_host(host: str) -> str:
    """One spelling per address: '::ffff:127.0.0.1' -> '127.0.0.1', wildcards -> '*'."""
    if host in _WILDCARD_HOSTS:
        return "*"
    try:
        addr = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return host
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return "*" if addr.is_unspecified else str(addr)


def _norm_proto(proto: str) -> str:
    return proto.lower().removesuffix("6")  # tcp6 -> tcp, udp6 -> udp


class _Sockets:
    """The given sockets as lookup sets: connected pairs, and local addresses open to any peer."""

    def __init__(self, sockets: Iterable[SocketKey]) -> None:
        self.pairs: set[tuple[str, str, int, str, int]] = set()
        self.locals: set[tuple[str, str, int]] = set()
        for proto, local, peer in sockets:
            if local is None or local.port is None:
                continue
            proto = _norm_proto(proto)
            lhost = _norm_host(local.host)
            if peer is None:
                self.locals.add((proto, lhost, local.port))
            elif peer.port is not None:
                self.pairs.add((proto, lhost, local.port, _norm_host(peer.host), peer.port))

    def side_matches(self, proto: str, mine: SockAddr, other: SockAddr) -> bool:
        if mine.port is None or other.port is None:
            return False
        ohost = _norm_host(other.host)
        for host in (_norm_host(mine.host), "*"):
            if (proto, host, mine.port) in self.locals or (proto, host, mine.port, ohost, other.port) in self.pairs:
                return True
        return False


def filter_packets(packets: Iterable[Packet], sockets: Iterable[SocketKey]) -> list[Packet]:
    """Keep the packets that belong to the given sockets, in capture order.

    Each socket is `(proto, local, peer)` as a traced process saw it
    (getsockname/getpeername, or the recorded sendto/recvfrom address):

    - with a `peer`: a packet matches when its (src, dst) is (local, peer) or
      (peer, local) — both directions of that TCP connection or UDP flow;
    - with `peer=None` (a bound but unconnected UDP socket used with
      sendto/recvfrom, or a listening TCP socket): any packet from or to
      `local` matches, whoever the other end is.

    A wildcard local host (0.0.0.0, ::, "") stands for every address with
    that port. IPv4-mapped IPv6 addresses match their IPv4 form, and the
    endpoint kinds tcp6/udp6 match tcp/udp. Entries that are not IP (Unix
    paths, port None) match nothing. Because the session passes only the
    addresses its own traced processes recorded, a second run capturing at
    the same time never shows up here.
    """
    known = _Sockets(sockets)
    return [
        p for p in packets if known.side_matches(p.proto, p.src, p.dst) or known.side_matches(p.proto, p.dst, p.src)
    ]
