"""Packets: each captured TCP segment or UDP datagram tied to the calls that sent and received it.

TCP segments map to stream offsets through each side's initial sequence
number; UDP packets match datagram flows by address, length, content and
order, through an index (never a scan of every unmatched datagram). Bytes on
the wire that no recorded send or receive explains are gaps.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ipctrace.link.helpers import agree, known, normalize, time_key
from ipctrace.link.model import Channel, ChannelId, ChannelKind, Flow, Gap, GapKind, PacketLink, PacketRole
from ipctrace.link.tcp import TcpLinker, TcpSide
from ipctrace.model import Event, EventKey, Packet, Proto, SockAddr

__all__ = ["PacketResult", "tcp_packet_links", "udp_packet_links"]


@dataclass(frozen=True, slots=True)
class PacketResult:
    links: tuple[PacketLink, ...]
    problems: tuple[str, ...]
    gaps: tuple[Gap, ...]


def tcp_packet_links(packets: Sequence[Packet], channels: Sequence[Channel], linker: TcpLinker) -> PacketResult:
    """Tie segments to the calls behind them: offsets relative to each side's ISN give stream bytes."""
    sides: dict[tuple[SockAddr | None, SockAddr | None], TcpSide] = {}
    tcp = [ch for ch in channels if ch.kind is ChannelKind.TCP]
    for up, down in zip(tcp[::2], tcp[1::2], strict=True):  # each connection: client→server, then back
        sides[(normalize(up.src_addr), normalize(up.dst_addr))] = TcpSide(up, down, True)
        sides[(normalize(down.src_addr), normalize(down.dst_addr))] = TcpSide(down, up, False)
    for p in sorted(packets, key=lambda p: p.index):
        if p.proto is Proto.TCP:
            side = sides.get((normalize(p.src), normalize(p.dst)))
            if side is not None:
                linker.segment(p, side)
    return PacketResult(tuple(linker.links), tuple(linker.problems), tuple(linker.wire_gaps(tcp)))


# -- UDP --------------------------------------------------------------------------------------------

#: How many leading payload bytes index a datagram (content beyond is checked, not indexed).
_PREFIX = 16


class _DatagramIndex:
    """A channel's datagram flows by (length, leading bytes), each bucket in time order.

    A packet takes the earliest flow of its bucket whose recorded bytes agree
    and whose send began before the packet was seen; flows whose payload was
    recorded too short to index wait in a small list of their own.
    """

    def __init__(self, flows: Sequence[Flow], events: Mapping[EventKey, Event]) -> None:
        self.buckets: dict[tuple[int, bytes], deque[tuple[Flow, Event]]] = defaultdict(deque)
        self.short: list[tuple[Flow, Event]] = []
        timed = []
        for f in flows:
            key = f.send if f.send is not None else f.recv
            if key is not None:
                timed.append((time_key(events[key]), f, events[key]))
        timed.sort(key=lambda item: item[0])
        for _, f, event in timed:
            size, data = event.size or 0, event.data or b""
            if len(data) >= min(size, _PREFIX):
                self.buckets[(size, data[:_PREFIX])].append((f, event))
            else:
                self.short.append((f, event))

    def take(self, p: Packet) -> Flow | None:
        bucket = self.buckets.get((p.length, p.payload[:_PREFIX]))
        if bucket:
            for i, (f, event) in enumerate(bucket):
                if f.send is not None and event.t0 > p.ts:
                    break  # this send and every later one began after the packet was seen
                if agree(known(event.data, 0, event.size or 0), p.payload):
                    del bucket[i]
                    return f
        for i, (f, event) in enumerate(self.short):
            size = event.size or 0
            in_time = f.send is None or event.t0 <= p.ts
            if size == p.length and in_time and agree(known(event.data, 0, size), p.payload):
                return self.short.pop(i)[0]
        return None


def udp_packet_links(
    packets: Sequence[Packet], channels: Sequence[Channel], flows: Sequence[Flow], events: Mapping[EventKey, Event]
) -> PacketResult:
    """Each datagram packet to the send that made it and the receive that took it: addresses, content, order."""
    by_key = {(normalize(ch.src_addr), normalize(ch.dst_addr)): ch for ch in channels if ch.kind is ChannelKind.UDP}
    per_channel: dict[ChannelId, list[Flow]] = defaultdict(list)
    for f in flows:
        per_channel[f.channel].append(f)
    indexes: dict[ChannelId, _DatagramIndex] = {}
    links, gaps = [], []
    for p in sorted(packets, key=lambda p: p.index):
        if p.proto is not Proto.UDP:
            continue
        ch = by_key.get((normalize(p.src), normalize(p.dst)))
        if ch is None:
            continue
        index = indexes.get(ch.id)
        if index is None:
            index = indexes[ch.id] = _DatagramIndex(per_channel.get(ch.id, ()), events)
        hit = index.take(p)
        if hit is None:
            links.append(PacketLink(p.index, ch.id, PacketRole.DATAGRAM))
            text = f"{ch.id}: datagram packet #{p.index} ({p.length} bytes) matches no recorded send or receive."
            gaps.append(Gap(GapKind.UNSEEN, ch.id, p.length, None, text, (p.index,)))
            continue
        causes = (hit.send,) if hit.send else ()
        effects = (hit.recv,) if hit.recv else ()
        links.append(PacketLink(p.index, ch.id, PacketRole.DATAGRAM, causes, effects))
    return PacketResult(tuple(links), (), tuple(gaps))
