"""Packets: each captured TCP segment or UDP datagram tied to the calls that sent and received it.

TCP segments map to stream offsets through each side's initial sequence
number; UDP packets match datagram flows by address, content and order.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ipctrace.display import show_bytes
from ipctrace.link.eof import _release_before
from ipctrace.link.fds import _Release
from ipctrace.link.helpers import _agree, _done, _ino, _known, _time_key, normalize
from ipctrace.link.model import Channel, Connection, Flow, Inode, PacketLink
from ipctrace.model import Event, EventKey, Packet, SockAddr, TcpFlags

_SEQ_MOD = 1 << 32


# -- TCP --------------------------------------------------------------------------------------------


def _overlapping(flows: Sequence[Flow], ends: Sequence[int], lo: int, hi: int) -> Iterable[Flow]:
    """Flows (sorted by stream offset, `ends` their end offsets) that overlap [lo, hi)."""
    for i in range(bisect_right(ends, lo), len(flows)):
        f = flows[i]
        if f.stream_offset >= hi:  # type: ignore[operator]
            break
        yield f


@dataclass(frozen=True, slots=True)
class _TcpSide:
    channel: Channel
    back: Channel
    client: bool


def _tcp_packet_links(
    packets: Sequence[Packet],
    channels: Sequence[Channel],
    flows: Sequence[Flow],
    connections: Mapping[str, Connection],
    releases: Mapping[Inode, list[_Release]],
    eof_reads: Mapping[Inode, list[Event]],
) -> tuple[list[PacketLink], list[str]]:
    """Tie segments to the calls behind them: offsets relative to each side's ISN give stream bytes."""
    sides: dict[tuple[SockAddr | None, SockAddr | None], _TcpSide] = {}
    tcp = [ch for ch in channels if ch.kind == "tcp"]
    for up, down in zip(tcp[::2], tcp[1::2], strict=True):  # each connection: client→server, then back
        sides[(normalize(up.src_addr), normalize(up.dst_addr))] = _TcpSide(up, down, True)
        sides[(normalize(down.src_addr), normalize(down.dst_addr))] = _TcpSide(down, up, False)
    flows_by_channel: dict[str, list[Flow]] = defaultdict(list)
    for f in flows:
        if f.stream_offset is not None:
            flows_by_channel[f.channel].append(f)
    for fs in flows_by_channel.values():
        fs.sort(key=lambda f: f.stream_offset)  # type: ignore[arg-type, return-value]
    ends_by_channel = {
        cid: [f.stream_offset + f.length for f in fs]  # type: ignore[operator]
        for cid, fs in flows_by_channel.items()
    }
    isn: dict[str, int] = {}
    syn_of: dict[str, int] = {}
    seq_end: dict[tuple[str, int], int] = {}  # (channel, sequence number after a segment) → its packet
    handshake_done: set[str] = set()
    links: list[PacketLink] = []
    problems: list[str] = []
    warned: set[str] = set()

    def opened(ch: Channel, by: str) -> tuple[EventKey, ...]:
        conn = connections.get(ch.group)
        key = None if conn is None else conn.connect if by == "connect" else conn.accept
        return () if key is None else (key,)

    for p in sorted(packets, key=lambda p: p.index):
        if p.proto != "tcp":
            continue
        side = sides.get((normalize(p.src), normalize(p.dst)))
        if side is None:
            continue
        ch = side.channel
        flags = p.flags
        syn, fin = TcpFlags.SYN in flags, TcpFlags.FIN in flags
        seq_end[(ch.id, ((p.seq or 0) + p.length + syn + fin) % _SEQ_MOD)] = p.index
        if syn:
            isn[ch.id] = p.seq or 0
            if TcpFlags.ACK in flags:
                syn = syn_of.get(side.back.id)
                links.append(PacketLink(p.index, ch.id, "syn-ack", follows=(syn,) if syn is not None else ()))
            else:
                syn_of[ch.id] = p.index
                links.append(PacketLink(p.index, ch.id, "syn", opened(ch, "connect"), opened(ch, "accept")))
            continue
        if ch.id not in isn:
            if ch.id not in warned:
                warned.add(ch.id)
                problems.append(f"{ch.id}: no SYN was captured, so its segments are not tied to calls.")
            links.append(PacketLink(p.index, ch.id, "data" if p.payload else "ack"))
            continue
        offset = ((p.seq or 0) - isn[ch.id] - 1) % _SEQ_MOD
        causes: list[EventKey] = []
        effects: list[EventKey] = []
        if p.payload:
            covered = 0
            for f in _overlapping(
                flows_by_channel.get(ch.id, []), ends_by_channel.get(ch.id, []), offset, offset + p.length
            ):
                lo, hi = max(offset, f.stream_offset), min(offset + p.length, f.stream_offset + f.length)
                if f.send is not None:
                    covered += hi - lo
                    causes.append(f.send)
                    mine = p.payload[lo - offset : hi - offset]
                    theirs = _known(f.data, lo - f.stream_offset, hi - lo)
                    if not _agree(mine, theirs):
                        problems.append(
                            f"{ch.id}: packet #{p.index} carries {show_bytes(mine)} at stream offset {lo}, "
                            f"but {f.send} wrote {show_bytes(theirs)} there."
                        )
                if f.recv is not None:
                    effects.append(f.recv)
            if covered < p.length and ch.src is not None:
                problems.append(
                    f"{ch.id}: packet #{p.index} carries {p.length - covered} bytes at stream "
                    f"offset {offset} that no traced send wrote."
                )
        role = "data" if p.payload else "ack"
        follows: tuple[int, ...] = ()
        acked = seq_end.get((side.back.id, p.ack or 0)) if TcpFlags.ACK in flags and not p.payload else None
        if acked is not None:  # a pure ACK comes after the segment it acknowledges
            follows = (acked,)
            if side.client and ch.id not in handshake_done:  # the handshake's last step completes accept
                handshake_done.add(ch.id)
                effects.extend(opened(ch, "accept"))
        if flags & (TcpFlags.FIN | TcpFlags.RST):
            role = "fin" if TcpFlags.FIN in flags else "rst"
            src_ino = _ino(ch.src)
            rel = _release_before(releases, src_ino, p.ts, pipe=False) if src_ino else None
            if rel is not None:
                causes.append(rel.key)
            dst_ino = _ino(ch.dst)
            if TcpFlags.FIN in flags and dst_ino is not None:
                later = [e for e in eof_reads.get(dst_ino, []) if _done(e) >= p.ts]
                if later:
                    effects.append(later[0].key)
        links.append(
            PacketLink(
                p.index, ch.id, role, tuple(dict.fromkeys(causes)), tuple(dict.fromkeys(effects)), follows, offset
            )
        )
    return links, problems


# -- UDP --------------------------------------------------------------------------------------------


def _udp_packet_links(
    packets: Sequence[Packet], channels: Sequence[Channel], flows: Sequence[Flow], events: Mapping[EventKey, Event]
) -> list[PacketLink]:
    """Each datagram packet to the sendto that made it and the receive that took it: addresses, content, order."""
    by_key = {(normalize(ch.src_addr), normalize(ch.dst_addr)): ch for ch in channels if ch.kind == "udp"}
    queue: dict[str, list[Flow]] = defaultdict(list)
    for f in flows:
        queue[f.channel].append(f)
    for fs in queue.values():
        fs.sort(key=lambda f: _time_key(events[f.send]) if f.send else _time_key(events[f.recv]))  # type: ignore
    links = []
    for p in sorted(packets, key=lambda p: p.index):
        if p.proto != "udp":
            continue
        ch = by_key.get((normalize(p.src), normalize(p.dst)))
        if ch is None:
            continue
        hit = None
        for i, f in enumerate(queue[ch.id]):
            event = events[f.send] if f.send is not None else events[f.recv]  # type: ignore[index]
            size = event.size or 0
            if (
                size == p.length
                and _agree(_known(event.data, 0, size), p.payload)
                and (f.send is None or event.t0 <= p.ts)
            ):
                hit = queue[ch.id].pop(i)
                break
        if hit is None:
            links.append(PacketLink(p.index, ch.id, "datagram"))
            continue
        links.append(
            PacketLink(p.index, ch.id, "datagram", (hit.send,) if hit.send else (), (hit.recv,) if hit.recv else ())
        )
    return links
