"""Datagrams: UDP, unix-dgram and datagram socketpairs, each send matched to at most one receive.

Message boundaries are kept, so a flow is a whole datagram; a channel is one
src→dst pair of places (addresses, sockets or paths), matched by content and
per-sender order, and a datagram nobody received is an unread flow.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ipctrace.display import show_bytes
from ipctrace.link.helpers import agree, call_named, done_at, is_wildcard, known, normalize, peeks, time_key
from ipctrace.link.model import Channel, ChannelId, ChannelKind, EndpointInfo, Flow, Gap, GapKind, GroupId, Side
from ipctrace.link.sockets import SocketFacts
from ipctrace.model import DATAGRAM_KINDS, Endpoint, EndpointKind, Event, EventKey, Inode, Nanos, SockAddr


@dataclass(frozen=True, slots=True)
class Place:
    """One end of a datagram channel: an IP address, a traced socket, or a Unix path nobody traced bound."""

    addr: SockAddr | None = None
    inode: Inode | None = None
    path: str | None = None


UNKNOWN = Place()


@dataclass(frozen=True, slots=True)
class _Dgram:
    """A datagram send: where it came from, where it went."""

    event: Event
    src: Place
    dst: Place


class _Places:
    """Where datagrams go: UDP sockets by port, Unix datagram sockets by path, socketpair peers."""

    def __init__(self, socks: Mapping[Inode, SocketFacts], pairs: Mapping[Inode, Inode]) -> None:
        self.socks = socks
        self.pairs = pairs
        self.by_port: dict[int | None, list[Inode]] = defaultdict(list)
        self.by_path: dict[str, list[Inode]] = defaultdict(list)
        for ino, sock in socks.items():
            if sock.local is None:
                continue
            if sock.endpoint.kind.is_udp:
                self.by_port[sock.local.port].append(ino)
            elif sock.endpoint.kind.is_unix and sock.local.host:
                self.by_path[sock.local.host].append(ino)

    def udp_receiver(self, dst: SockAddr | None, t: Nanos) -> Inode | None:
        """The traced UDP socket bound to a destination address (the latest one bound by then)."""
        if dst is None:
            return None
        found: tuple[Nanos, Inode] | None = None
        for ino in self.by_port.get(dst.port, ()):
            s = self.socks[ino]
            assert s.local is not None
            if not (is_wildcard(s.local) or normalize(s.local) == normalize(dst)):
                continue
            if found is None or (s.since <= t and s.since >= found[0]) or found[0] > t:
                found = (s.since, ino)
        return None if found is None else found[1]

    def unix_bound(self, path: str, t: Nanos) -> Inode | None:
        """The traced Unix socket bound to `path` at `t` (the latest bound by then, else the first)."""
        found: tuple[Nanos, Inode] | None = None
        for ino in self.by_path.get(path, ()) if path else ():
            since = self.socks[ino].since
            if found is None or (since <= t and since >= found[0]):
                found = (since, ino)
        return None if found is None else found[1]

    def of_send(self, e: Event) -> tuple[Place, Place, Inode | Place]:
        """(source, destination, receiving socket or else the destination) of a datagram send."""
        assert e.endpoint is not None
        ino = e.endpoint.inode
        if ino in self.pairs:  # socketpair: the other end reads
            other = self.pairs[ino]
            return Place(inode=ino), Place(inode=other), other
        s = self.socks.get(ino)
        local = e.local or (s.local if s else None)
        if e.endpoint.kind.is_udp:
            dst = normalize(e.peer or (s.peer if s else None))
            receiver = self.udp_receiver(dst, e.t0)
            place = Place(addr=dst)
            return Place(addr=normalize(local)), place, receiver if receiver is not None else place
        path = (e.peer or (s.peer if s else None) or SockAddr("")).host  # unix-dgram by path
        bound = self.unix_bound(path, e.t0)
        dst_place = Place(inode=bound) if bound is not None else Place(path=path)
        return Place(inode=ino), dst_place, bound if bound is not None else dst_place

    def of_recv(self, e: Event) -> tuple[Place | None, Place]:
        """(source if known, destination) of a datagram receive."""
        assert e.endpoint is not None
        ino = e.endpoint.inode
        if ino in self.pairs:
            return Place(inode=self.pairs[ino]), Place(inode=ino)
        s = self.socks.get(ino)
        if e.endpoint.kind.is_udp:
            src = normalize(e.peer or (s.peer if s else None))
            local = e.local or (s.local if s else None)
            return (Place(addr=src) if src else None), Place(addr=normalize(local))
        peer = e.peer.host if e.peer is not None and e.peer.host else ""
        sender = self.unix_bound(peer, e.t0) if peer else None
        return (Place(inode=sender) if sender is not None else None), Place(inode=ino)

    def label(self, place: Place | None) -> str:
        if place is None or place == UNKNOWN:
            return "?"
        if place.addr is not None:
            return str(place.addr)
        if place.path is not None:
            return place.path or "(unnamed)"
        s = self.socks.get(place.inode) if place.inode is not None else None
        return s.local.host if s is not None and s.local is not None and s.local.host else "(unnamed)"


def match_datagrams(
    sends: Sequence[_Dgram], recvs: Sequence[tuple[Event, Place | None]]
) -> tuple[list[tuple[_Dgram | None, Event]], list[_Dgram]]:
    """One datagram to at most one receive, by content and order, per receiving socket.

    Loopback keeps each sender's datagrams in order, so a datagram passed over
    by a later one from the same sender was lost.
    """
    sends = sorted(sends, key=lambda d: time_key(d.event))
    longest = max((done_at(d.event) - d.event.t0 for d in sends), default=0)
    used: set[int] = set()
    passed: set[int] = set()
    settled = 0  # every send before this index is used or passed
    pairs: list[tuple[_Dgram | None, Event]] = []
    for r, src in sorted(recvs, key=lambda item: time_key(item[0])):
        while settled < len(sends) and (settled in used or settled in passed):
            settled += 1
        hit = _first_fit(sends, settled, r, src, used, passed, longest)
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


def _first_fit(
    sends: Sequence[_Dgram], start: int, r: Event, src: Place | None, used: set[int], passed: set[int], longest: int
) -> int | None:
    got, size = r.data or b"", r.size or 0
    for i in range(start, len(sends)):
        d = sends[i]
        if done_at(d.event) - longest > done_at(r):
            return None  # this and every later send began after the receive returned
        if i in used or i in passed or d.event.t0 > done_at(r) or (src is not None and d.src != src):
            continue
        if size <= (d.event.size or 0) and agree(known(d.event.data, 0, size), got):
            return i
    return None


@dataclass(frozen=True, slots=True)
class _DgramChannel:
    kind: EndpointKind
    first: Nanos
    src: Place | None
    dst: Place | None
    flows: tuple[tuple[Event | None, Event | None], ...]


def _datagram_channels(events: Iterable[Event], places: _Places) -> list[_DgramChannel]:
    """Every datagram send and receive placed on a src→dst channel, sends matched to receives."""
    by_receiver: dict[Inode | Place, list[_Dgram]] = defaultdict(list)
    recvs: dict[Inode | Place, list[tuple[Event, Place | None]]] = defaultdict(list)
    ends_of_recv: dict[EventKey, tuple[Place | None, Place]] = {}
    for e in events:
        if e.endpoint is None or e.endpoint.kind not in DATAGRAM_KINDS:
            continue
        if e.moves_data_out:
            src, dst, receiver = places.of_send(e)
            by_receiver[receiver].append(_Dgram(e, src, dst))
        elif e.moves_data_in and not peeks(e):
            rsrc, rdst = places.of_recv(e)
            recvs[e.endpoint.inode].append((e, rsrc))
            ends_of_recv[e.key] = (rsrc, rdst)
    flows: dict[tuple[Place | None, Place | None], list[tuple[Event | None, Event | None]]] = defaultdict(list)
    kinds: dict[tuple[Place | None, Place | None], EndpointKind] = {}
    for receiver in dict.fromkeys([*by_receiver, *recvs]):
        matched, unread = match_datagrams(by_receiver.get(receiver, []), recvs.get(receiver, []))
        for d, r in matched:
            key: tuple[Place | None, Place | None] = (d.src, d.dst) if d is not None else ends_of_recv[r.key]
            flows[key].append((d.event if d else None, r))
            kinds.setdefault(key, _kind(d.event if d else r))
        for lost in unread:
            flows[(lost.src, lost.dst)].append((lost.event, None))
            kinds.setdefault((lost.src, lost.dst), _kind(lost.event))
    out = []
    for ends, pairs in flows.items():
        first = min(e.t0 for pair in pairs for e in pair if e is not None)
        out.append(_DgramChannel(kinds[ends], first, ends[0], ends[1], tuple(pairs)))
    return out


def _kind(e: Event) -> EndpointKind:
    assert e.endpoint is not None
    return e.endpoint.kind


# -- naming: datagram channels numbered like the others, and their flows ----------------------------


@dataclass(frozen=True, slots=True)
class DatagramResult:
    channels: tuple[Channel, ...]
    flows: tuple[Flow, ...]
    gaps: tuple[Gap, ...]
    infos: Mapping[Inode, EndpointInfo]  # sockets first named by a datagram channel


class _Namer:
    def __init__(self, pair_sides: Mapping[Inode, tuple[GroupId, Side]]) -> None:
        self.pair_sides = pair_sides
        self.counts: dict[ChannelKind, int] = defaultdict(int)
        self.numbers: dict[frozenset[Place | None], GroupId] = {}

    def channel_id(self, dc: _DgramChannel, places: _Places) -> ChannelId:
        src_ino = dc.src.inode if dc.src else None
        dst_ino = dc.dst.inode if dc.dst else None
        if src_ino in self.pair_sides or dst_ino in self.pair_sides:
            if src_ino in self.pair_sides:
                group, side = self.pair_sides[src_ino]  # type: ignore[index]
                forward = side is Side.A
            else:
                group, side = self.pair_sides[dst_ino]  # type: ignore[index]
                forward = side is Side.B
            return ChannelId(group, "a→b" if forward else "b→a")
        kind = ChannelKind.UDP if dc.kind.is_udp else ChannelKind(dc.kind.value)
        pair = frozenset([dc.src, dc.dst])
        if pair not in self.numbers:
            self.counts[kind] += 1
            self.numbers[pair] = GroupId(kind, self.counts[kind])
        return ChannelId(self.numbers[pair], f"{places.label(dc.src)}→{places.label(dc.dst)}")


def datagram_links(
    events: Sequence[Event],
    socks: Mapping[Inode, SocketFacts],
    pair_sides: Mapping[Inode, tuple[GroupId, Side]],
    pairs: Mapping[Inode, Inode],
    known_infos: Mapping[Inode, EndpointInfo],
) -> DatagramResult:
    """Datagram channels, numbered like the others: one number for both directions between two ends."""
    places = _Places(socks, pairs)
    namer = _Namer(pair_sides)
    channels, flows, gaps = [], [], []
    infos: dict[Inode, EndpointInfo] = {}
    for dc in sorted(_datagram_channels(events, places), key=lambda c: c.first):
        cid = namer.channel_id(dc, places)
        sends = tuple(dict.fromkeys(s.key for s, _ in dc.flows if s is not None))
        recvs = tuple(dict.fromkeys(r.key for _, r in dc.flows if r is not None))
        src_ep = _first_endpoint(s for s, _ in dc.flows)
        dst_ep = _first_endpoint(r for _, r in dc.flows)
        src_addr = dc.src.addr if dc.src else None
        dst_addr = dc.dst.addr if dc.dst else None
        channels.append(Channel(cid, False, src_ep, dst_ep, src_addr, dst_addr, sends, recvs))
        for place in (dc.src, dc.dst):
            ino = place.inode if place else None
            if ino is not None and ino in socks and ino not in known_infos:
                infos.setdefault(ino, socks[ino].info(cid.group))
        traced_src = src_ep is not None
        for send, recv in dc.flows:
            flow = _datagram_flow(cid, send, recv)
            flows.append(flow)
            gap = _gap_of(flow, send, recv, traced_src)
            if gap is not None:
                gaps.append(gap)
    return DatagramResult(tuple(channels), tuple(flows), tuple(gaps), infos)


def _gap_of(flow: Flow, send: Event | None, recv: Event | None, traced_src: bool) -> Gap | None:
    if send is None and recv is not None:
        why = "" if traced_src else " (the sender ran untraced)"
        got = show_bytes(flow.data)
        text = f"{flow.channel}: {call_named(recv)} got a datagram {got} that no traced send explains{why}."
        return Gap(GapKind.UNEXPLAINED, flow.channel, flow.length, recv.key, text)
    if recv is None and send is not None:
        text = f"{flow.channel}: the datagram {show_bytes(flow.data)} of {call_named(send)} was never received."
        return Gap(GapKind.UNREAD, flow.channel, flow.length, send.key, text)
    return None


def _datagram_flow(cid: ChannelId, send: Event | None, recv: Event | None) -> Flow:
    """A datagram's flow: as long as what the receive got (a short buffer truncates), else as sent."""
    length = (recv.size if recv is not None else send.size if send is not None else 0) or 0
    known_parts = [known(e.data, 0, length) for e in (send, recv) if e is not None]
    data = max(known_parts, key=len, default=b"")
    return Flow(cid, send.key if send else None, recv.key if recv else None, length, 0, 0, None, data)


def _first_endpoint(events: Iterable[Event | None]) -> Endpoint | None:
    return next((e.endpoint for e in events if e is not None), None)
