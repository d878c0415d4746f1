"""Datagrams: UDP, unix-dgram and datagram socketpairs, each send matched to at most one receive.

Message boundaries are kept, so a flow is a whole datagram; a channel is one
src→dst pair of addresses (or sockets), matched by content and per-sender
order, and a datagram nobody received is an unread flow.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ipctrace.link.channels import _Group
from ipctrace.link.helpers import _agree, _done, _ino, _is_wildcard, _known, _peeks, _time_key, normalize
from ipctrace.link.model import DGRAM_KINDS, UDP_KINDS, Channel, EndpointInfo, Flow, Inode
from ipctrace.link.sockets import _Sock
from ipctrace.model import Endpoint, Event, EventKey, Nanos, SockAddr


@dataclass(frozen=True, slots=True)
class _Dgram:
    """A datagram send: where it came from, where it went, which traced socket could read it."""

    event: Event
    src: tuple[Any, ...]  # ("addr", SockAddr) or ("ino", Inode)
    dst: tuple[Any, ...]
    receiver: Inode | None


def _udp_receiver(
    dst: SockAddr | None, t: Nanos, socks: Mapping[Inode, _Sock], by_port: Mapping[int | None, list[Inode]]
) -> Inode | None:
    """The traced UDP socket bound to a destination address (the latest one bound by then)."""
    if dst is None:
        return None
    found: tuple[Nanos, Inode] | None = None
    for ino in by_port.get(dst.port, ()):
        s = socks[ino]
        if s.local is None:
            continue
        if not (_is_wildcard(s.local) or normalize(s.local) == normalize(dst)):
            continue
        since = s.bound_at if s.bound_at is not None else s.first
        if found is None or (since <= t and since >= found[0]) or found[0] > t:
            found = (since, ino)
    return None if found is None else found[1]


def _unix_bound(path: str, t: Nanos, socks: Mapping[Inode, _Sock]) -> Inode | None:
    found: tuple[Nanos, Inode] | None = None
    for ino, s in socks.items():
        if s.endpoint.kind.startswith("unix") and s.local is not None and path and s.local.host == path:
            since = s.bound_at if s.bound_at is not None else s.first
            if found is None or (since <= t and since >= found[0]):
                found = (since, ino)
    return None if found is None else found[1]


def _dgram_ends(
    e: Event,
    socks: Mapping[Inode, _Sock],
    pairs: Mapping[Inode, Inode],
    by_port: Mapping[int | None, list[Inode]],
    sending: bool,
) -> tuple[tuple[Any, ...] | None, tuple[Any, ...] | None, Inode | None]:
    """(source key, destination key, receiving inode) of a datagram send, or the same seen from a receive."""
    ino = _ino(e.endpoint)
    s = socks.get(ino) if ino else None  # type: ignore[arg-type]
    if ino is None or e.endpoint is None:
        return None, None, None
    if ino in pairs:  # socketpair: the other end reads
        other = pairs[ino]
        return (("ino", ino), ("ino", other), other) if sending else (("ino", other), ("ino", ino), ino)
    local = e.local or (s.local if s else None)
    if e.endpoint.kind in UDP_KINDS:
        if sending:
            dst = normalize(e.peer or (s.peer if s else None))
            return ("addr", normalize(local)), ("addr", dst), _udp_receiver(dst, e.t0, socks, by_port)
        src = normalize(e.peer or (s.peer if s else None))
        return (("addr", src) if src else None), ("addr", normalize(local)), ino
    if sending:  # unix-dgram by path
        path = (e.peer or (s.peer if s else None) or SockAddr("")).host
        receiver = _unix_bound(path, e.t0, socks)
        return ("ino", ino), (("ino", receiver) if receiver else ("path", path)), receiver
    peer = e.peer.host if e.peer is not None and e.peer.host else ""
    sender = _unix_bound(peer, e.t0, socks) if peer else None
    return (("ino", sender) if sender else None), ("ino", ino), ino


def _dgram_matches(
    sends: Sequence[_Dgram], recvs: Sequence[tuple[Event, tuple[Any, ...] | None]]
) -> tuple[list[tuple[_Dgram | None, Event | None]], list[_Dgram]]:
    """One datagram to at most one receive, by content and order, per receiving socket.

    Loopback keeps each sender's datagrams in order, so a datagram passed over
    by a later one from the same sender was lost.
    """
    sends = sorted(sends, key=lambda d: _time_key(d.event))
    longest = max((_done(d.event) - d.event.t0 for d in sends), default=0)
    used: set[int] = set()
    passed: set[int] = set()
    settled = 0  # every send before this index is used or passed
    pairs: list[tuple[_Dgram | None, Event | None]] = []
    for r, src in sorted(recvs, key=lambda item: _time_key(item[0])):
        got = r.data or b""
        hit = None
        while settled < len(sends) and (settled in used or settled in passed):
            settled += 1
        for i in range(settled, len(sends)):
            d = sends[i]
            if _done(d.event) - longest > _done(r):
                break  # this and every later send began after the receive returned
            if i in used or i in passed or d.event.t0 > _done(r) or (src is not None and d.src != src):
                continue
            size = d.event.size or 0
            if (r.size or 0) <= size and _agree(_known(d.event.data, 0, r.size or 0), got):
                hit = i
                break
        if hit is None:
            pairs.append((None, r))
            continue
        used.add(hit)
        for j in range(settled, hit):
            if j not in used and sends[j].src == sends[hit].src:
                passed.add(j)
        pairs.append((sends[hit], r))
    unread = [d for i, d in enumerate(sends) if i not in used]
    return pairs, unread


def _label(key: tuple[Any, ...] | None, socks: Mapping[Inode, _Sock]) -> str:
    if key is None:
        return "?"
    if key[0] == "addr":
        return str(key[1]) if key[1] is not None else "?"
    if key[0] == "path":
        return key[1] or "(unnamed)"
    s = socks.get(key[1])
    return s.local.host if s is not None and s.local is not None and s.local.host else "(unnamed)"


@dataclass(frozen=True, slots=True)
class _DgramChannel:
    kind: str
    first: Nanos
    src: tuple[Any, ...] | None
    dst: tuple[Any, ...] | None
    flows: tuple[tuple[Event | None, Event | None], ...]


def _datagram_channels(
    events: Sequence[Event], socks: Mapping[Inode, _Sock], pairs: Mapping[Inode, Inode]
) -> list[_DgramChannel]:
    """Every datagram send and receive placed on a src→dst channel, sends matched to receives."""
    by_receiver: dict[Any, list[_Dgram]] = defaultdict(list)
    recvs: dict[Any, list[tuple[Event, tuple[Any, ...] | None]]] = defaultdict(list)
    dst_of_recv: dict[EventKey, tuple[Any, ...] | None] = {}
    by_port: dict[int | None, list[Inode]] = defaultdict(list)
    for ino, sock in socks.items():
        if sock.endpoint.kind in UDP_KINDS and sock.local is not None:
            by_port[sock.local.port].append(ino)
    for e in events:
        if e.endpoint is None or e.endpoint.kind not in DGRAM_KINDS:
            continue
        if e.moves_data_out:
            src, dst, receiver = _dgram_ends(e, socks, pairs, by_port, sending=True)
            d = _Dgram(e, src or ("?",), dst or ("?",), receiver)
            by_receiver[receiver if receiver is not None else d.dst].append(d)
        elif e.moves_data_in and not _peeks(e):
            src, dst, receiver = _dgram_ends(e, socks, pairs, by_port, sending=False)
            recvs[receiver].append((e, src))
            dst_of_recv[e.key] = dst
    flows: dict[tuple[Any, Any], list[tuple[Event | None, Event | None]]] = defaultdict(list)
    kinds: dict[tuple[Any, Any], str] = {}
    for receiver in dict.fromkeys([*by_receiver, *recvs]):
        matched, unread = _dgram_matches(by_receiver.get(receiver, []), recvs.get(receiver, []))
        for d, r in matched:
            if d is not None:
                key = (d.src, d.dst)
            else:
                src = next((s for e, s in recvs[receiver] if e is r), None)
                key = (src, dst_of_recv.get(r.key)) if r is not None else (None, None)
            flows[key].append((d.event if d else None, r))
            kinds.setdefault(key, ((d.event if d else r).endpoint.kind))  # type: ignore[union-attr]
        for d in unread:
            flows[(d.src, d.dst)].append((d.event, None))
            kinds.setdefault((d.src, d.dst), d.event.endpoint.kind)  # type: ignore[union-attr]
    out = []
    for (src, dst), pairs_ in flows.items():
        first = min(e.t0 for pair in pairs_ for e in pair if e is not None)
        out.append(_DgramChannel(kinds[(src, dst)], first, src, dst, tuple(pairs_)))
    return out


# -- naming: datagram channels numbered like the others, and their flows ----------------------------


def _name_datagram_channels(
    dchannels: Sequence[_DgramChannel],
    socks: Mapping[Inode, _Sock],
    groups: Mapping[str, _Group],
    infos: dict[Inode, EndpointInfo],
) -> tuple[list[Channel], list[Flow]]:
    """Number datagram channels like the others: one number for both directions between two ends."""
    pair_name: dict[Inode, tuple[str, str]] = {}
    for name, g in groups.items():
        if g.kind == "socketpair":
            for ino, side in g.sides:
                pair_name[ino] = (name, side)
    counts: dict[str, int] = defaultdict(int)
    numbers: dict[frozenset[Any], str] = {}
    channels, flows = [], []
    for dc in sorted(dchannels, key=lambda c: c.first):
        src_ino = dc.src[1] if dc.src and dc.src[0] == "ino" else None
        dst_ino = dc.dst[1] if dc.dst and dc.dst[0] == "ino" else None
        if src_ino in pair_name or dst_ino in pair_name:
            if src_ino in pair_name:
                name, side = pair_name[src_ino]
                forward = side == "A"
            else:
                name, side = pair_name[dst_ino]
                forward = side == "B"
            kind, group = "socketpair", name
            cid = f"{name} {'a→b' if forward else 'b→a'}"
        else:
            kind = "udp" if dc.kind in UDP_KINDS else dc.kind
            pair = frozenset([dc.src, dc.dst])
            if pair not in numbers:
                counts[kind] += 1
                numbers[pair] = f"{kind}#{counts[kind]}"
            group = numbers[pair]
            cid = f"{group} {_label(dc.src, socks)}→{_label(dc.dst, socks)}"
        src_addr = dc.src[1] if dc.src and dc.src[0] == "addr" else None
        dst_addr = dc.dst[1] if dc.dst and dc.dst[0] == "addr" else None
        sends = tuple(dict.fromkeys(s.key for s, _ in dc.flows if s is not None))
        recvs = tuple(dict.fromkeys(r.key for _, r in dc.flows if r is not None))
        src_ep = _first_endpoint(s for s, _ in dc.flows)
        dst_ep = _first_endpoint(r for _, r in dc.flows)
        channels.append(Channel(cid, group, kind, False, src_ep, dst_ep, src_addr, dst_addr, sends, recvs))
        for ino in (src_ino, dst_ino):
            if ino is not None and ino in socks and ino not in infos:
                sock = socks[ino]
                infos[ino] = EndpointInfo(sock.endpoint, group, "", sock.local, sock.peer, sock.listening)
        flows.extend(_datagram_flow(cid, send, recv) for send, recv in dc.flows)
    return channels, flows


def _datagram_flow(cid: str, send: Event | None, recv: Event | None) -> Flow:
    """A datagram's flow: as long as what the receive got (a short buffer truncates), else as sent."""
    length = (recv.size if recv is not None else send.size if send is not None else 0) or 0
    known = [_known(e.data, 0, length) for e in (send, recv) if e is not None]
    return Flow(
        cid,
        send.key if send else None,
        recv.key if recv else None,
        length,
        0,
        0,
        None,
        max(known, key=len, default=b""),
    )


def _first_endpoint(events: Iterable[Event | None]) -> Endpoint | None:
    return next((e.endpoint for e in events if e is not None), None)
