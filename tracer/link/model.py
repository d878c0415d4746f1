"""What linking produces: channels, flows, packet links, connections, EOF links and endpoint facts.

The frozen dataclasses every other module of `ipctrace.link` builds, and the
vocabulary they share (an inode key, the socket kinds). It imports nothing
from the rest of the package, so a reader can start here and a consumer of
`LinkedTrace` needs nothing else.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

from ipctrace.calls import CONNECTS
from ipctrace.model import Endpoint, Event, EventKey, SockAddr, Trace

Inode = tuple[int, int]  # (st_dev, st_ino): the identity of a pipe or socket in every process

STREAM_KINDS = frozenset({"pipe", "unix-stream", "tcp", "tcp6"})
DGRAM_KINDS = frozenset({"udp", "udp6", "unix-dgram", "unix-seqpacket"})
TCP_KINDS = frozenset({"tcp", "tcp6"})
UDP_KINDS = frozenset({"udp", "udp6"})
CONNECT_CALLS = CONNECTS


@dataclass(frozen=True, slots=True)
class Channel:
    """One direction of byte (stream) or datagram movement, with the calls on each side.

    `sends` are in the order their bytes entered the channel, `recvs` in the
    order they took bytes out. `src`/`dst` are None for an end no traced
    process held (a peer that ran untraced).
    """

    id: str  # "pipe#1", "socketpair#1 a→b", "tcp#1 127.0.0.1:54012→127.0.0.1:8080"
    group: str  # "pipe#1", "socketpair#1", "tcp#1": both directions of one pair or connection
    kind: str  # pipe, socketpair, unix, tcp, udp, unix-dgram
    stream: bool  # True: a byte stream; False: datagrams (message boundaries kept)
    src: Endpoint | None
    dst: Endpoint | None
    src_addr: SockAddr | None = None
    dst_addr: SockAddr | None = None
    sends: tuple[EventKey, ...] = ()
    recvs: tuple[EventKey, ...] = ()


@dataclass(frozen=True, slots=True)
class Flow:
    """A run of bytes that left one send and arrived in one receive.

    `send` is None for bytes a receive got that no traced send explains;
    `recv` is None for bytes never read (still in the channel at the end, or
    a datagram lost). Offsets say where the run sits inside each call's
    payload, and (streams only) inside the channel's byte stream.
    """

    channel: str
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
    channel: str | None
    role: str  # syn, syn-ack, ack, data, fin, rst, datagram
    causes: tuple[EventKey, ...] = ()
    effects: tuple[EventKey, ...] = ()
    follows: tuple[int, ...] = ()
    offset: int | None = None  # stream offset of the first payload byte (TCP)


@dataclass(frozen=True, slots=True)
class Connection:
    """A connected pair: a socketpair, or a connect paired with the accept that took it.

    Either side is None when it ran untraced (a client or server outside the run).
    """

    group: str  # "socketpair#1", "unix#1", "tcp#1"
    kind: str  # socketpair, unix, tcp
    client: Endpoint | None  # the connecting socket (end A of a socketpair)
    server: Endpoint | None  # the accepted socket (end B of a socketpair)
    connect: EventKey | None = None  # the connect (or the socketpair call)
    accept: EventKey | None = None
    client_addr: SockAddr | None = None
    server_addr: SockAddr | None = None


@dataclass(frozen=True, slots=True)
class EofLink:
    """A read that returned end-of-file, and the release of the last writing end that caused it.

    `release` is a close or shutdown, or a process's last event when the end
    was still open when that process ended (the kernel closed it).
    """

    channel: str
    release: EventKey
    read: EventKey


@dataclass(frozen=True, slots=True)
class EndpointInfo:
    """What is known about one pipe or socket inode: its group, role, and addresses."""

    endpoint: Endpoint
    group: str | None = None  # "pipe#1", "socketpair#1", "tcp#2", ...
    side: str = ""  # "A"/"B" for a socketpair, "client"/"server" for a connection
    local: SockAddr | None = None
    peer: SockAddr | None = None
    listening: bool = False


@dataclass(frozen=True, eq=False)
class LinkedTrace:
    """A trace with its channels, flows, packet links and the problems found on the way."""

    trace: Trace
    channels: tuple[Channel, ...]
    flows: tuple[Flow, ...]
    packet_links: tuple[PacketLink, ...]
    connections: tuple[Connection, ...]
    eofs: tuple[EofLink, ...]
    problems: tuple[str, ...]
    endpoints: Mapping[Inode, EndpointInfo]
    pipe_ends: Mapping[EventKey, str]  # "r" or "w": the end of a pipe an event's fd was
    _by_event: dict[EventKey, tuple[Flow, ...]] = field(init=False, repr=False)
    _packets_by_event: dict[EventKey, tuple[PacketLink, ...]] = field(init=False, repr=False)
    _events: dict[EventKey, Event] = field(init=False, repr=False)
    _channels: dict[str, Channel] = field(init=False, repr=False)
    _packet_links: dict[int, PacketLink] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_events", {e.key: e for e in self.trace.events})
        object.__setattr__(self, "_channels", {ch.id: ch for ch in self.channels})
        object.__setattr__(self, "_packet_links", {pl.packet: pl for pl in self.packet_links})
        by_event: dict[EventKey, list[Flow]] = defaultdict(list)
        for flow in self.flows:
            for key in (flow.send, flow.recv):
                if key is not None:
                    by_event[key].append(flow)
        object.__setattr__(self, "_by_event", {k: tuple(v) for k, v in by_event.items()})
        by_packet: dict[EventKey, list[PacketLink]] = defaultdict(list)
        for plink in self.packet_links:
            for key in dict.fromkeys((*plink.causes, *plink.effects)):
                by_packet[key].append(plink)
        object.__setattr__(self, "_packets_by_event", {k: tuple(v) for k, v in by_packet.items()})

    def event(self, key: EventKey) -> Event:
        return self._events[key]

    def channel(self, channel_id: str) -> Channel:
        return self._channels[channel_id]

    def flows_of(self, key: EventKey) -> tuple[Flow, ...]:
        """Flows in which this event is the send or the receive."""
        return self._by_event.get(key, ())

    def flows_in(self, channel_id: str) -> tuple[Flow, ...]:
        return tuple(f for f in self.flows if f.channel == channel_id)

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

    def describe(self, event: Event | EventKey) -> str:
        """A human name for what the event's fd refers to ("pipe#1 read end", "TCP a → b"), or ''."""
        if isinstance(event, EventKey):
            event = self._events[event]
        if event.endpoint is None:
            return ""
        return self.describe_endpoint(event.endpoint, self.pipe_ends.get(event.key, ""))

    def describe_endpoint(self, endpoint: Endpoint, end: str = "") -> str:
        """A human name for a pipe or socket; `end` is "r" or "w" for a pipe's read or write end."""
        info = self.endpoints.get((endpoint.dev, endpoint.ino), EndpointInfo(endpoint))
        return describe_endpoint(info, end)


def describe_endpoint(info: EndpointInfo, end: str = "") -> str:
    """The text of `LinkedTrace.describe_endpoint`, from what is known about the inode."""
    kind = info.endpoint.kind
    if kind == "pipe":
        name = info.group or "pipe"
        return {"r": f"{name} read end", "w": f"{name} write end"}.get(end, name)
    if info.group and info.group.startswith("socketpair"):
        return f"{info.group} end {info.side}" if info.side else info.group
    if kind in TCP_KINDS or kind in UDP_KINDS:
        proto = "TCP" if kind in TCP_KINDS else "UDP"
        if info.listening and info.local is not None:
            return f"{proto} {info.local} (listening)"
        if info.local is not None and info.peer is not None:
            return f"{proto} {info.local} → {info.peer}"
        if info.local is not None:
            return f"{proto} {info.local}"
        return f"{proto} socket"
    if kind.startswith("unix-"):
        path = next((a.host for a in (info.local, info.peer) if a is not None and a.host), "")
        text = f"{kind} {path}" if path else f"{kind} (unnamed)"
        return text + " (listening)" if info.listening else text
    return kind
