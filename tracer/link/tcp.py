"""TCP segments to calls: the handshake, data by stream offset from each side's ISN, FIN/RST to releases.

One `TcpLinker` walks a run's segments in capture order. A data segment's
bytes are tied to the flows that cover its stream offsets; bytes the wire
carried past everything any recorded send or receive on that direction
moved are gaps nobody recorded (both ends missed).
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ipctrace.display import show_bytes
from ipctrace.link.eof import release_before
from ipctrace.link.fds import Release
from ipctrace.link.helpers import agree, done_at, known
from ipctrace.link.model import (
    Channel,
    ChannelId,
    ChannelKind,
    Connection,
    Flow,
    Gap,
    GapKind,
    GroupId,
    PacketLink,
    PacketRole,
)
from ipctrace.model import Event, EventKey, Inode, Packet, TcpFlags

_SEQ_MOD = 1 << 32


@dataclass(frozen=True, slots=True)
class TcpSide:
    channel: Channel
    back: Channel
    client: bool


class _Coverage:
    """A channel's stream flows sorted by offset, to find those that overlap a segment."""

    def __init__(self, flows: list[Flow]) -> None:
        flows.sort(key=lambda f: f.stream_offset or 0)
        self.flows = flows
        self.ends = [(f.stream_offset or 0) + f.length for f in flows]

    def overlapping(self, lo: int, hi: int) -> Iterable[Flow]:
        for i in range(bisect_right(self.ends, lo), len(self.flows)):
            f = self.flows[i]
            if (f.stream_offset or 0) >= hi:
                break
            yield f

    @property
    def extent(self) -> int:
        return max(self.ends, default=0)


class TcpLinker:
    """The state of a walk over a run's TCP segments."""

    def __init__(
        self,
        flows: Iterable[Flow],
        connections: Mapping[GroupId, Connection],
        releases: Mapping[Inode, Sequence[Release]],
        eof_reads: Mapping[Inode, Sequence[Event]],
    ) -> None:
        by_channel: dict[ChannelId, list[Flow]] = defaultdict(list)
        channel, tcp = None, False  # a channel's flows come one after another: its kind is asked once
        for f in flows:
            if f.channel is not channel:
                channel = f.channel
                tcp = channel.group.kind is ChannelKind.TCP
            if tcp and f.stream_offset is not None:
                by_channel[f.channel].append(f)
        self.coverage = {cid: _Coverage(fs) for cid, fs in by_channel.items()}
        self.connections = connections
        self.releases = releases
        self.eof_reads = eof_reads
        self.isn: dict[ChannelId, int] = {}
        self.syn_of: dict[ChannelId, int] = {}
        self.seq_end: dict[tuple[ChannelId, int], int] = {}  # (channel, sequence number after a segment) → packet
        self.handshake_done: set[ChannelId] = set()
        self.wire: dict[ChannelId, list[tuple[int, int, int]]] = defaultdict(list)  # (offset, end, packet)
        self.links: list[PacketLink] = []
        self.problems: list[str] = []
        self.warned: set[ChannelId] = set()

    def opened(self, ch: Channel, by_connect: bool) -> tuple[EventKey, ...]:
        conn = self.connections.get(ch.group)
        key = None if conn is None else conn.connect if by_connect else conn.accept
        return () if key is None else (key,)

    def segment(self, p: Packet, side: TcpSide) -> None:
        ch = side.channel
        syn, fin = TcpFlags.SYN in p.flags, TcpFlags.FIN in p.flags
        self.seq_end[(ch.id, ((p.seq or 0) + p.length + syn + fin) % _SEQ_MOD)] = p.index
        if syn:
            self._syn(p, side)
        elif ch.id not in self.isn:
            if ch.id not in self.warned:
                self.warned.add(ch.id)
                self.problems.append(f"{ch.id}: no SYN was captured, so its segments are not tied to calls.")
            self.links.append(PacketLink(p.index, ch.id, PacketRole.DATA if p.payload else PacketRole.ACK))
        else:
            self._after_handshake(p, side)

    def _syn(self, p: Packet, side: TcpSide) -> None:
        ch = side.channel
        self.isn[ch.id] = p.seq or 0
        if TcpFlags.ACK in p.flags:
            first = self.syn_of.get(side.back.id)
            follows = (first,) if first is not None else ()
            self.links.append(PacketLink(p.index, ch.id, PacketRole.SYN_ACK, follows=follows))
        else:
            self.syn_of[ch.id] = p.index
            causes, effects = self.opened(ch, True), self.opened(ch, False)
            self.links.append(PacketLink(p.index, ch.id, PacketRole.SYN, causes, effects))

    def _after_handshake(self, p: Packet, side: TcpSide) -> None:
        ch = side.channel
        offset = ((p.seq or 0) - self.isn[ch.id] - 1) % _SEQ_MOD
        causes: list[EventKey] = []
        effects: list[EventKey] = []
        if p.payload:
            self.wire[ch.id].append((offset, offset + p.length, p.index))
            self._data(p, ch, offset, causes, effects)
        role = PacketRole.DATA if p.payload else PacketRole.ACK
        follows: tuple[int, ...] = ()
        acked = self.seq_end.get((side.back.id, p.ack or 0)) if TcpFlags.ACK in p.flags and not p.payload else None
        if acked is not None:  # a pure ACK comes after the segment it acknowledges
            follows = (acked,)
            if side.client and ch.id not in self.handshake_done:  # the handshake's last step completes accept
                self.handshake_done.add(ch.id)
                effects.extend(self.opened(ch, False))
        if p.flags & (TcpFlags.FIN | TcpFlags.RST):
            role = PacketRole.FIN if TcpFlags.FIN in p.flags else PacketRole.RST
            self._release(p, ch, causes, effects)
        self.links.append(
            PacketLink(
                p.index, ch.id, role, tuple(dict.fromkeys(causes)), tuple(dict.fromkeys(effects)), follows, offset
            )
        )

    def _data(self, p: Packet, ch: Channel, offset: int, causes: list[EventKey], effects: list[EventKey]) -> None:
        coverage = self.coverage.get(ch.id)
        covered = 0
        for f in coverage.overlapping(offset, offset + p.length) if coverage else ():
            start = f.stream_offset or 0
            lo, hi = max(offset, start), min(offset + p.length, start + f.length)
            if f.send is not None:
                covered += hi - lo
                causes.append(f.send)
                mine, theirs = p.payload[lo - offset : hi - offset], known(f.data, lo - start, hi - lo)
                if not agree(mine, theirs):
                    self.problems.append(
                        f"{ch.id}: packet #{p.index} carries {show_bytes(mine)} at stream offset {lo}, "
                        f"but {f.send} wrote {show_bytes(theirs)} there."
                    )
            if f.recv is not None:
                effects.append(f.recv)
        if covered < p.length and ch.src is not None:
            self.problems.append(
                f"{ch.id}: packet #{p.index} carries {p.length - covered} bytes at stream "
                f"offset {offset} that no traced send wrote."
            )

    def _release(self, p: Packet, ch: Channel, causes: list[EventKey], effects: list[EventKey]) -> None:
        if ch.src is not None:
            rel = release_before(self.releases, ch.src.inode, p.ts, pipe=False)
            if rel is not None:
                causes.append(rel.key)
        if TcpFlags.FIN in p.flags and ch.dst is not None:
            later = next((e for e in self.eof_reads.get(ch.dst.inode, ()) if done_at(e) >= p.ts), None)
            if later is not None:
                effects.append(later.key)

    def wire_gaps(self, channels: Iterable[Channel]) -> list[Gap]:
        """Bytes each direction carried on the wire beyond every byte a recorded send or receive moved."""
        gaps = []
        for ch in channels:
            segments = self.wire.get(ch.id)
            if not segments:
                continue
            coverage = self.coverage.get(ch.id)
            extent = coverage.extent if coverage is not None else 0
            beyond = sorted((max(lo, extent), hi, index) for lo, hi, index in segments if hi > extent)
            length, reach = 0, extent
            for lo, hi, _index in beyond:  # retransmitted bytes count once
                if hi > reach:
                    length += hi - max(lo, reach)
                    reach = hi
            if length:
                text = (
                    f"{ch.id}: the wire carried {length} bytes past stream offset {extent} "
                    "that no recorded send or receive explains."
                )
                packets = tuple(sorted(index for _, _, index in beyond))
                gaps.append(Gap(GapKind.UNSEEN, ch.id, length, None, text, packets))
        return gaps
