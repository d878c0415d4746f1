"""What linking produces: channels, flows, packet links, connections, EOF links, gaps and endpoint facts.

The frozen records every other module of `ipctrace.link` builds, and the
closed sets they share (channel kinds, sides, pipe ends, packet roles). It
imports nothing from the rest of `ipctrace.link`, so a reader can start here
and a consumer of `LinkedTrace` needs nothing else.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple

from ipctrace.model import Endpoint, Event, EventKey, Inode, SockAddr, Trace
from ipctrace.perf import gc_paused


class ChannelKind(StrEnum):
    """What a channel (and its group) is: a vocabulary of connections, not of descriptors (EndpointKind)."""

    PIPE = "pipe"
    SOCKETPAIR = "socketpair"
    UNIX = "unix"  # a Unix stream connection (connect + accept)
    TCP = "tcp"
    UDP = "udp"
    UNIX_DGRAM = "unix-dgram"
    UNIX_SEQPACKET = "unix-seqpacket"

    @property
    def is_ip(self) -> bool:
        return self in (ChannelKind.TCP, ChannelKind.UDP)


class Side(StrEnum):
    """Which end of a group an endpoint is: A/B of a socketpair, client/server of a connection."""

    NONE = ""
    A = "A"
    B = "B"
    CLIENT = "client"
    SERVER = "server"


class PipeEnd(StrEnum):
    READ = "r"
    WRITE = "w"


class PacketRole(StrEnum):
    """What a captured packet is in its connection's story."""

    SYN = "syn"
    SYN_ACK = "syn-ack"
    ACK = "ack"
    DATA = "data"
    FIN = "fin"
    RST = "rst"
    DATAGRAM = "datagram"


class GapKind(StrEnum):
    """Bytes the trace cannot account for."""

    UNEXPLAINED = "unexplained"  # received, but no recorded send explains them
    UNREAD = "unread"  # sent, but no recorded receive took them (still in the channel, or lost)
    SKIPPED = "skipped"  # sent, and taken by a read nobody recorded: a later recorded read skipped past them
    UNSEEN = "unseen"  # seen on the wire, but no recorded send or receive explains them


class GroupId(NamedTuple):
    """Both directions of one pipe, socketpair or connection: `tcp#2` is the second TCP connection.

    A tuple underneath (as `EventKey`): flows and channels are looked up by their ids once a flow,
    and a tuple's hash and equality run in C.
    """

    kind: ChannelKind
    number: int

    def __str__(self) -> str:
        return f"{self.kind}#{self.number}"


class ChannelId(NamedTuple):
    """One direction of a group: `pipe#1`, `socketpair#1 a→b`, `tcp#1 127.0.0.1:54012→127.0.0.1:8080`.

    A tuple underneath, as `GroupId`.
    """

    group: GroupId
    direction: str = ""  # a label for people; never read back

    def __str__(self) -> str:
        return f"{self.group} {self.direction}" if self.direction else str(self.group)


@dataclass(frozen=True, slots=True)
class Channel:
    """One direction of byte (stream) or datagram movement, with the calls on each side.

    `sends` are in the order their bytes entered the channel, `recvs` in the
    order they took bytes out. `src`/`dst` are None for an end no traced
    process held (a peer that ran untraced).
    """

    id: ChannelId
    stream: bool  # True: a byte stream; False: datagrams (message boundaries kept)
    src: Endpoint | None
    dst: Endpoint | None
    src_addr: SockAddr | None = None
    dst_addr: SockAddr | None = None
    sends: tuple[EventKey, ...] = ()
    recvs: tuple[EventKey, ...] = ()

    @property
    def group(self) -> GroupId:
        return self.id.group

    @property
    def kind(self) -> ChannelKind:
        return self.id.group.kind


class Flow(NamedTuple):
    """A run of bytes that left one send and arrived in one receive.

    `send` is None for bytes a receive got that no traced send explains;
    `recv` is None for bytes never read (still in the channel at the end, a
    datagram lost, or taken by a read nobody recorded). Offsets say where the
    run sits inside each call's payload, and (streams only) inside the
    channel's byte stream.

    A tuple underneath (as `EventKey`): a trace has about one flow a receive, and a frozen dataclass
    of eight fields took 2 µs to make (a tuple 0.2 µs).
    """

    channel: ChannelId
    send: EventKey | None
    recv: EventKey | None
    length: int
    send_offset: int = 0
    recv_offset: int = 0
    stream_offset: int | None = None  # None for datagrams
    data: bytes = b""  # the bytes as far as either side recorded them (payloads may be capped)

    @property
    def complete(self) -> bool:
        """True when `data` holds every byte of the run."""
        return len(self.data) == self.length


@dataclass(frozen=True, slots=True)
class PacketLink:
    """What one captured packet carried and which calls it ties together.

    `causes` put it on the wire (send, connect, close/shutdown, sendto);
    `effects` are calls it completed (recv, accept, the read that saw EOF,
    recvfrom). `follows` names the packets it answers (SYN-ACK follows SYN).
    """

    packet: int  # Packet.index
    channel: ChannelId | None
    role: PacketRole
    causes: tuple[EventKey, ...] = ()
    effects: tuple[EventKey, ...] = ()
    follows: tuple[int, ...] = ()
    offset: int | None = None  # stream offset of the first payload byte (TCP)


@dataclass(frozen=True, slots=True)
class Connection:
    """A connected pair: a socketpair, or a connect paired with the accept that took it.

    Either side is None when it ran untraced (a client or server outside the run).
    """

    group: GroupId
    client: Endpoint | None  # the connecting socket (end A of a socketpair)
    server: Endpoint | None  # the accepted socket (end B of a socketpair)
    connect: EventKey | None = None  # the connect (or the socketpair call)
    accept: EventKey | None = None
    client_addr: SockAddr | None = None
    server_addr: SockAddr | None = None

    @property
    def kind(self) -> ChannelKind:
        return self.group.kind


@dataclass(frozen=True, slots=True)
class EofLink:
    """A read that returned end-of-file, and the release of the last writing end that caused it.

    `release` is a close or shutdown, or a process's last event when the end
    was still open when that process ended (the kernel closed it).
    """

    channel: ChannelId
    release: EventKey
    read: EventKey


@dataclass(frozen=True, slots=True)
class Gap:
    """Bytes the trace cannot account for, with the call (or packets) where they show and one sentence.

    For UNEXPLAINED `event` is the receive that got them, for UNREAD the send
    that sent them, for SKIPPED the read that skipped past them; UNSEEN bytes
    have no recorded call at either end (`event` is None) and `packets` are
    the segments or datagrams that carried them.
    """

    kind: GapKind
    channel: ChannelId | None
    length: int
    event: EventKey | None
    text: str
    packets: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class EndpointInfo:
    """What is known about one pipe or socket inode: its group, side, and addresses."""

    endpoint: Endpoint
    group: GroupId | None = None
    side: Side = Side.NONE
    local: SockAddr | None = None
    peer: SockAddr | None = None
    listening: bool = False


@dataclass(frozen=True, eq=False)
class LinkedTrace:
    """A trace with its channels, flows, packet links, gaps and the problems found on the way."""

    trace: Trace
    channels: tuple[Channel, ...]
    flows: tuple[Flow, ...]
    packet_links: tuple[PacketLink, ...]
    connections: tuple[Connection, ...]
    eofs: tuple[EofLink, ...]
    problems: tuple[str, ...]
    endpoints: Mapping[Inode, EndpointInfo]
    pipe_ends: Mapping[EventKey, PipeEnd]  # the end of a pipe an event's fd was
    gaps: tuple[Gap, ...] = ()
    _by_event: dict[EventKey, Flow | tuple[Flow, ...]] | None = field(init=False, repr=False)
    _by_channel: dict[ChannelId, tuple[Flow, ...]] | None = field(init=False, repr=False)
    _packets_by_event: dict[EventKey, tuple[PacketLink, ...]] = field(init=False, repr=False)
    _channels: dict[ChannelId | str, Channel] = field(init=False, repr=False)
    _packet_links: dict[int, PacketLink] = field(init=False, repr=False)
    _names: dict[tuple[int, PipeEnd | None], str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_names", {})  # what `describe` said of each endpoint and end: said again
        channels: dict[ChannelId | str, Channel] = {ch.id: ch for ch in self.channels}
        channels.update({str(ch.id): ch for ch in self.channels})
        object.__setattr__(self, "_channels", channels)
        object.__setattr__(self, "_packet_links", {pl.packet: pl for pl in self.packet_links})
        object.__setattr__(self, "_by_event", None)  # made when first asked for (`_flow_indexes`)
        object.__setattr__(self, "_by_channel", None)
        by_packet: dict[EventKey, list[PacketLink]] = defaultdict(list)
        for plink in self.packet_links:
            for key in dict.fromkeys((*plink.causes, *plink.effects)):
                by_packet[key].append(plink)
        object.__setattr__(self, "_packets_by_event", {k: tuple(v) for k, v in by_packet.items()})

    @gc_paused()
    def _flow_indexes(self) -> None:
        """Flows by event and by channel, made once when first asked for (`ipctrace show` asks for neither)."""
        # An event's one flow (most events have one) is kept as itself, several as a tuple: a million
        # 1-tuples would be 48 MB, and a list for each while building twice that.
        by_event: dict[EventKey, Any] = {}
        by_channel: dict[ChannelId, list[Flow]] = defaultdict(list)
        channel, in_channel = None, []  # flows of one channel come one after another: look it up once
        for flow in self.flows:
            if flow.channel is not channel:
                channel = flow.channel
                in_channel = by_channel[channel]
            in_channel.append(flow)
            send, recv = flow.send, flow.recv
            for key in (send,) if recv == send else (send, recv):
                if key is None:
                    continue
                got = by_event.get(key)
                if got is None:
                    by_event[key] = flow
                elif type(got) is list:
                    got.append(flow)
                else:
                    by_event[key] = [got, flow]
        for key, got in by_event.items():
            if type(got) is list:
                by_event[key] = tuple(got)
        object.__setattr__(self, "_by_event", by_event)
        object.__setattr__(self, "_by_channel", {k: tuple(v) for k, v in by_channel.items()})

    def event(self, key: EventKey) -> Event:
        return self.trace.event(key)

    def channel(self, channel_id: ChannelId | str) -> Channel:
        """The channel with this id (or the text of one, `"pipe#1"`)."""
        return self._channels[channel_id]

    def flows_of(self, key: EventKey) -> tuple[Flow, ...]:
        """Flows in which this event is the send or the receive."""
        if self._by_event is None:
            self._flow_indexes()
        flows = self._by_event.get(key, ())  # type: ignore[union-attr]
        return flows if type(flows) is tuple else (flows,)

    def flows_in(self, channel_id: ChannelId | str) -> tuple[Flow, ...]:
        channel = self._channels.get(channel_id)
        if self._by_channel is None:
            self._flow_indexes()
        return () if channel is None else self._by_channel.get(channel.id, ())  # type: ignore[union-attr]

    def packets_of(self, key: EventKey) -> tuple[PacketLink, ...]:
        """Packets this event caused or that completed it."""
        return self._packets_by_event.get(key, ())

    def packet_link(self, index: int) -> PacketLink | None:
        return self._packet_links.get(index)

    @property
    def unexplained(self) -> tuple[Flow, ...]:
        """Received bytes that no traced send explains."""
        return tuple(f for f in self.flows if f.send is None)

    @property
    def unread(self) -> tuple[Flow, ...]:
        """Sent bytes (or datagrams) that no traced receive took."""
        return tuple(f for f in self.flows if f.recv is None)

    @property
    def unexplained_bytes(self) -> int:
        return sum(f.length for f in self.unexplained)

    @property
    def unread_bytes(self) -> int:
        return sum(f.length for f in self.unread)

    @property
    def unseen_bytes(self) -> int:
        """Bytes that crossed a channel with neither end recorded (seen on the wire, or skipped by a reader)."""
        return sum(g.length for g in self.gaps if g.kind is GapKind.UNSEEN)

    def gaps_of(self, kind: GapKind) -> tuple[Gap, ...]:
        return tuple(g for g in self.gaps if g.kind is kind)

    def describe(self, event: Event | EventKey) -> str:
        """A human name for what the event's fd refers to ("pipe#1 read end", "TCP a → b"), or ''.

        It is the event's endpoint's and pipe end's (`pipe_ends`) alone: the text timeline says a line
        again for an event with the same endpoint object and end.
        """
        if isinstance(event, EventKey):
            event = self.trace.event(event)
        endpoint = event.endpoint
        if endpoint is None:
            return ""
        end = self.pipe_ends.get(event.key)
        name_key = (id(endpoint), end)  # the trace, which holds its endpoints, outlives this table
        name = self._names.get(name_key)
        if name is None:
            name = self._names[name_key] = self.describe_endpoint(endpoint, end)
        return name

    def describe_endpoint(self, endpoint: Endpoint, end: PipeEnd | None = None) -> str:
        """A human name for a pipe or socket; `end` says which end of a pipe."""
        info = self.endpoints.get(endpoint.inode) or EndpointInfo(endpoint)
        return describe_endpoint(info, end)


def describe_endpoint(info: EndpointInfo, end: PipeEnd | None = None) -> str:
    """The text of `LinkedTrace.describe_endpoint`, from what is known about the inode."""
    kind = info.endpoint.kind
    if kind.is_pipe:
        name = str(info.group) if info.group else "pipe"
        if end is None:
            return name
        return f"{name} {'read' if end is PipeEnd.READ else 'write'} end"
    if info.group is not None and info.group.kind is ChannelKind.SOCKETPAIR:
        return f"{info.group} end {info.side}" if info.side else str(info.group)
    if kind.is_ip:
        return _describe_ip(info, "TCP" if kind.is_tcp else "UDP")
    if kind.is_unix:
        path = next((a.host for a in (info.local, info.peer) if a is not None and a.host), "")
        text = f"{kind} {path}" if path else f"{kind} (unnamed)"
        return text + " (listening)" if info.listening else text
    return str(kind)


def _describe_ip(info: EndpointInfo, proto: str) -> str:
    if info.listening and info.local is not None:
        return f"{proto} {info.local} (listening)"
    if info.local is not None and info.peer is not None:
        return f"{proto} {info.local} → {info.peer}"
    if info.local is not None:
        return f"{proto} {info.local}"
    return f"{proto} socket"
