"""Channels and flows: which bytes of which send came out of which receive, and through which packet.

Pure functions over a `Trace` (DESIGN.md, "link"); nothing here is stored in
the trace file. A *channel* is one direction of byte or datagram movement: a
pipe (one inode), each direction of a socketpair, Unix stream connection or
TCP connection, and each UDP src→dst address pair. A *flow* is a run of bytes
that left one send and arrived in one receive; a receive that got two writes,
or half of one, yields several flows. Payloads are compared wherever both
sides recorded them: a disagreement is reported in `LinkedTrace.problems` and
never linked.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tracer.display import show_bytes
from tracer.model import RECV_CALLS, Endpoint, Event, EventKey, Nanos, Packet, Pid, SockAddr, Trace
from tracer.tracefile import addr_from_json

Inode = tuple[int, int]  # (st_dev, st_ino): the identity of a pipe or socket in every process

STREAM_KINDS = frozenset({"pipe", "unix-stream", "tcp", "tcp6"})
DGRAM_KINDS = frozenset({"udp", "udp6", "unix-dgram", "unix-seqpacket"})
TCP_KINDS = frozenset({"tcp", "tcp6"})
UDP_KINDS = frozenset({"udp", "udp6"})
CONNECT_CALLS = frozenset({"connect", "connect_ex"})
_SEQ_MOD = 1 << 32


# -- outputs ----------------------------------------------------------------------------------------

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


# -- small helpers ----------------------------------------------------------------------------------

def _ino(endpoint: Endpoint | None) -> Inode | None:
    return None if endpoint is None else (endpoint.dev, endpoint.ino)


def _done(event: Event) -> Nanos:
    """When a call took effect as far as anyone can tell: its return, or its entry if it never returned."""
    return event.t1 if event.t1 is not None else event.t0


def _time_key(event: Event) -> tuple[int, int, int, int]:
    return (_done(event), event.t0, event.pid, event.seq)


def _addr(value: Any) -> SockAddr | None:
    try:
        return addr_from_json(value)
    except (TypeError, ValueError, IndexError):
        return None


_WILDCARD_V4 = frozenset({"", "0.0.0.0", "localhost"})
_WILDCARD_V6 = frozenset({"::", "::0", "localhost6", "ip6-localhost"})


def normalize(addr: SockAddr | None) -> SockAddr | None:
    """An IP address as the loopback wire shows it: wildcards and `localhost` become loopback.

    A datagram sent from a socket bound to 0.0.0.0, or sent to 0.0.0.0, travels
    127.0.0.1 → 127.0.0.1 on `lo`; both sides of one flow must get one key.
    """
    if addr is None or addr.port is None:
        return addr
    host = addr.host
    if host.startswith("::ffff:"):
        host = host[7:]
    if host in _WILDCARD_V4:
        host = "127.0.0.1"
    elif host in _WILDCARD_V6:
        host = "::1"
    return SockAddr(host, addr.port)


def _is_wildcard(addr: SockAddr) -> bool:
    return addr.host in _WILDCARD_V4 or addr.host in _WILDCARD_V6


def _known(data: bytes | None, start: int, length: int) -> bytes:
    """The recorded part of `length` payload bytes from `start` (payloads may be capped)."""
    if data is None or start >= len(data):
        return b""
    return data[start:start + length]


def _agree(a: bytes, b: bytes) -> bool:
    """Two recordings of the same bytes agree where both were kept."""
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def _is_eof_read(event: Event) -> bool:
    """A read that returned no bytes because the other side is gone (not a zero-length request)."""
    if event.call not in RECV_CALLS or event.failed or event.blocked or event.t1 is None:
        return False
    asked = event.args.get("n") if isinstance(event.args, Mapping) else None
    got = event.size if event.size is not None else event.result
    return got == 0 and asked != 0


# -- sockets: what each inode is bound and connected to --------------------------------------------

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
        if _has_port(addr) and (s.local is None or not _has_port(s.local) or
                                (addr is not None and _is_wildcard(s.local) and not _is_wildcard(addr))):
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


# -- fd tables: which end of a pipe an fd is, and when each end was let go -------------------------

@dataclass(frozen=True, slots=True)
class _Release:
    inode: Inode
    end: str  # "r"/"w" for a pipe, "" for a socket; "shut" for shutdown(SHUT_WR/RDWR)
    key: EventKey
    time: Nanos


def _fd_tables(events: Sequence[Event]) -> tuple[dict[EventKey, str], list[_Release]]:
    """Follow every process's fd table through pipe, socket, dup, fork, close and exit.

    Returns the pipe end ("r"/"w") of each pipe event's fd, and every release
    of a pipe end or socket: a close of one fd, a shutdown for writing, or a
    process ending with the fd still open (fork copied fds are closed by the
    kernel then, even after `os._exit`).
    """
    tables: dict[Pid, dict[int, tuple[Inode, str]]] = {}
    at_fork: dict[Pid, dict[int, tuple[Inode, str]]] = {}
    last: dict[Pid, Event] = {}
    ends: dict[EventKey, str] = {}
    releases: list[_Release] = []
    for e in events:
        if e.pid not in tables:
            forked = e.call == "start" and e.args.get("how") == "fork"
            tables[e.pid] = dict(at_fork.get(e.pid, {})) if forked else {}
        table = tables[e.pid]
        last[e.pid] = e
        ino = _ino(e.endpoint)
        res = e.result
        if e.failed:
            pass
        elif e.call in ("pipe", "pipe2") and ino and isinstance(res, list):
            table[res[0]], table[res[1]] = (ino, "r"), (ino, "w")
        elif e.call == "socketpair" and ino and isinstance(res, list):
            table[res[0]] = (ino, "")
            if e.peer_endpoint is not None:
                table[res[1]] = (_ino(e.peer_endpoint), "")  # type: ignore[assignment]
        elif e.call in ("socket", "fromfd") and ino and isinstance(res, int):
            table[res] = (ino, "")
        elif e.call == "accept" and e.peer_endpoint is not None and isinstance(res, int):
            table[res] = (_ino(e.peer_endpoint), "")  # type: ignore[assignment]
        elif e.call == "dup" and isinstance(res, int) and e.fd in table:
            table[res] = table[e.fd]
        elif e.call == "dup2" and isinstance(res, int) and e.fd in table:
            if res in table and res != e.fd:
                old_ino, old_end = table[res]
                releases.append(_Release(old_ino, old_end, e.key, e.t0))
            table[res] = table[e.fd]
        elif e.call == "fork" and isinstance(res, int) and res > 0:
            at_fork[res] = dict(table)
        elif e.call == "close" and e.fd is not None:
            entry = table.pop(e.fd, None)
            if entry is None and ino is not None:
                entry = (ino, "" if e.endpoint and e.endpoint.kind != "pipe" else "?")
            if entry is not None:
                releases.append(_Release(entry[0], entry[1], e.key, e.t0))
        elif e.call == "shutdown" and ino and e.args.get("how") in (1, 2):
            releases.append(_Release(ino, "shut", e.key, e.t0))
        if e.fd is not None and ino is not None and e.endpoint and e.endpoint.kind == "pipe":
            entry = table.get(e.fd)
            if entry is None and e.call != "close":  # an fd inherited from outside: learn it from its use
                end = "r" if e.call in RECV_CALLS else "w" if e.moves_data_out or e.call == "write" else ""
                if end:
                    table[e.fd] = entry = (ino, end)
            if entry is not None and entry[1] in ("r", "w"):
                ends[e.key] = entry[1]
            elif e.call == "close" and releases and releases[-1].key == e.key and releases[-1].end in ("r", "w"):
                ends[e.key] = releases[-1].end
    for pid, table in tables.items():
        end_event = last[pid]
        for inode, end in table.values():
            releases.append(_Release(inode, end, end_event.key, _done(end_event)))
    return ends, releases


# -- groups: pipes, socketpairs and connections, numbered in order of appearance --------------------

@dataclass(frozen=True, slots=True)
class _Direction:
    suffix: str  # "", "a→b", "127.0.0.1:54012→127.0.0.1:8080"
    src: Inode | None
    dst: Inode | None
    src_addr: SockAddr | None = None
    dst_addr: SockAddr | None = None


@dataclass(frozen=True, slots=True)
class _Group:
    kind: str  # pipe, socketpair, unix, tcp
    first: Nanos
    directions: tuple[_Direction, ...]
    sides: tuple[tuple[Inode, str], ...] = ()  # (inode, "A"/"B"/"client"/"server")
    connect: EventKey | None = None
    accept: EventKey | None = None


def _pipe_groups(events: Sequence[Event]) -> list[_Group]:
    first: dict[Inode, Nanos] = {}
    for e in events:
        ino = _ino(e.endpoint)
        if ino is not None and e.endpoint and e.endpoint.kind == "pipe" and ino not in first:
            first[ino] = e.t0
    return [_Group("pipe", t, (_Direction("", ino, ino),)) for ino, t in first.items()]


def _socketpair_groups(events: Sequence[Event]) -> list[_Group]:
    groups = []
    for e in events:
        if e.call != "socketpair" or e.failed or e.endpoint is None or e.peer_endpoint is None:
            continue
        a, b = _ino(e.endpoint), _ino(e.peer_endpoint)
        groups.append(_Group("socketpair", e.t0, (_Direction("a→b", a, b), _Direction("b→a", b, a)),
                             ((a, "A"), (b, "B")), e.key))  # type: ignore[arg-type]
    return groups


def _connection(kind: str, connect: Event | None, accept: Event | None,
                caddr: SockAddr | None, saddr: SockAddr | None) -> _Group:
    first = min(e.t0 for e in (connect, accept) if e is not None)
    client = _ino(connect.endpoint) if connect is not None else None
    server = _ino(accept.peer_endpoint) if accept is not None else None
    if kind == "tcp":
        up, down = f"{caddr}→{saddr}", f"{saddr}→{caddr}"
    else:
        up, down = "client→server", "server→client"
    sides = tuple((ino, side) for ino, side in ((client, "client"), (server, "server")) if ino is not None)
    return _Group(kind, first, (_Direction(up, client, server, caddr, saddr),
                                _Direction(down, server, client, saddr, caddr)), sides,
                  connect.key if connect else None, accept.key if accept else None)


def _tcp_groups(events: Sequence[Event]) -> list[_Group]:
    """Pair each connect with the accept that saw the same 4-tuple the other way round."""
    connects = [e for e in events if e.call in CONNECT_CALLS and e.endpoint and e.endpoint.kind in TCP_KINDS
                and (not e.failed or e.error == "EINPROGRESS")]
    accepts = [e for e in events if e.call == "accept" and not e.failed and e.peer_endpoint is not None
               and e.peer_endpoint.kind in TCP_KINDS]
    waiting: dict[tuple[SockAddr | None, SockAddr | None], list[Event]] = defaultdict(list)
    for a in sorted(accepts, key=_time_key):
        waiting[(normalize(a.peer), normalize(a.local))].append(a)
    groups = []
    for c in sorted(connects, key=_time_key):
        peer = c.peer or _addr(c.args.get("addr"))
        queue = waiting.get((normalize(c.local), normalize(peer)), [])
        a = queue.pop(0) if queue else None
        groups.append(_connection("tcp", c, a, c.local, peer))
    for queue in waiting.values():
        for a in queue:  # accepted from a client that ran untraced
            groups.append(_connection("tcp", None, a, a.peer, a.local))
    return groups


def _unix_groups(events: Sequence[Event]) -> list[_Group]:
    """Pair the k-th connect to a listener's path with the k-th accept on that listener.

    A Unix stream connection carries no address that names the client, so the
    kernel's FIFO accept queue is what pairs them.
    """
    binds = sorted((e for e in events if e.call == "bind" and not e.failed and e.endpoint
                    and e.endpoint.kind == "unix-stream"), key=lambda e: e.t0)
    connects = [e for e in events if e.call in CONNECT_CALLS and not e.failed and e.endpoint
                and e.endpoint.kind == "unix-stream"]
    accepts = [e for e in events if e.call == "accept" and not e.failed and e.peer_endpoint is not None
               and e.peer_endpoint.kind == "unix-stream"]

    def listener_for(path: str, t: Nanos) -> Inode | None:
        found = None
        for b in binds:
            addr = b.local or _addr(b.args.get("addr"))
            if b.t0 <= t and addr is not None and addr.host == path:
                found = _ino(b.endpoint)
        return found

    by_listener: dict[Inode | None, list[Event]] = defaultdict(list)
    for c in sorted(connects, key=_time_key):
        path = (c.peer or _addr(c.args.get("addr")) or SockAddr("")).host
        by_listener[listener_for(path, c.t0)].append(c)
    accepted: dict[Inode | None, list[Event]] = defaultdict(list)
    for a in sorted(accepts, key=_time_key):
        accepted[_ino(a.endpoint)].append(a)
    groups = []
    for listener in dict.fromkeys([*by_listener, *accepted]):
        cs, accs = by_listener.get(listener, []), accepted.get(listener, []) if listener else []
        for k in range(max(len(cs), len(accs))):
            c = cs[k] if k < len(cs) else None
            a = accs[k] if k < len(accs) else None
            path = c.peer if c is not None else a.local if a is not None else None
            groups.append(_connection("unix", c, a, None, path))
    return groups


def _number(groups: Iterable[_Group]) -> list[tuple[str, _Group]]:
    """`kind#k`, k counting per kind in order of first appearance."""
    counts: dict[str, int] = defaultdict(int)
    named = []
    for g in sorted(groups, key=lambda g: g.first):
        counts[g.kind] += 1
        named.append((f"{g.kind}#{counts[g.kind]}", g))
    return named


# -- byte streams ---------------------------------------------------------------------------------

@dataclass
class _Piece:
    """A write being taken apart by reads: how much of it is consumed, where it started in the stream."""

    event: Event
    taken: int = 0
    start: int | None = None

    @property
    def left(self) -> int:
        return (self.event.size or 0) - self.taken


@dataclass(frozen=True, slots=True)
class StreamResult:
    flows: tuple[Flow, ...]
    problems: tuple[str, ...]
    sends: tuple[EventKey, ...]
    recvs: tuple[EventKey, ...]


class _Writes:
    """The writes not yet read, one queue per writing thread.

    A thread's writes never overlap in time, so only the first pending write
    of each thread can be the next one into the channel: the choice among
    concurrent writers stays small however long the stream.
    """

    def __init__(self, writes: Iterable[Event]) -> None:
        self.queues: dict[tuple[Pid, int], deque[_Piece]] = defaultdict(deque)
        for w in sorted(writes, key=_time_key):
            self.queues[(w.pid, w.tid)].append(_Piece(w))

    def next_for(self, read: Event, want: bytes) -> _Piece | None:
        """Take the write whose bytes `read` meets next.

        Writes go in by the time they returned; one that began before the
        earliest pending write returned may have gone in first, so among those
        the one whose recorded bytes agree with what the read got wins. A
        write that began after the read returned cannot be in it.
        """
        heads = sorted((q[0] for q in self.queues.values() if q), key=lambda p: _time_key(p.event))
        if not heads:
            return None
        limit = min(_done(heads[0].event), _done(read))
        candidates = [p for p in heads if p.event.t0 <= limit]
        if not candidates:
            return None
        chosen = next((p for p in candidates if _agree(_known(p.event.data, 0, len(want)), want)), candidates[0])
        self.queues[(chosen.event.pid, chosen.event.tid)].popleft()
        return chosen

    def rest(self) -> list[_Piece]:
        return sorted((p for q in self.queues.values() for p in q), key=lambda p: _time_key(p.event))


def stream_flows(channel_id: str, writes: Sequence[Event], reads: Sequence[Event],
                 sender_traced: bool = True) -> StreamResult:
    """Match a channel's byte stream: all writes in the order they went in, all reads in the order they took.

    Several writers or readers (fork copies fds) are fine; a process reading
    its own write back is a flow from itself to itself. Bytes read that no
    write explains are a problem when the sending side was traced.
    """
    pending = _Writes(writes)
    flows: list[Flow] = []
    problems: list[str] = []
    order: list[EventKey] = []
    offset = 0
    cur: _Piece | None = None
    for r in sorted(reads, key=_time_key):
        size, roff = r.size or 0, 0
        while roff < size:
            if cur is None or cur.left == 0:
                cur = pending.next_for(r, _known(r.data, roff, size - roff))
                if cur is None:
                    got = _known(r.data, roff, size - roff)
                    flows.append(Flow(channel_id, None, r.key, size - roff, 0, roff, offset, got))
                    if sender_traced:
                        problems.append(f"{channel_id}: {r.call} {r.key} got {size - roff} bytes {show_bytes(got)} "
                                        f"at stream offset {offset} that no traced send wrote.")
                    offset += size - roff
                    break
                cur.start = offset
                order.append(cur.event.key)
            n = min(size - roff, cur.left)
            got, sent = _known(r.data, roff, n), _known(cur.event.data, cur.taken, n)
            if _agree(got, sent):
                flows.append(Flow(channel_id, cur.event.key, r.key, n, cur.taken, roff, offset,
                                  got if len(got) > len(sent) else sent))
            else:
                problems.append(
                    f"{channel_id}: {r.call} {r.key} got {show_bytes(got)} at stream offset {offset}, "
                    f"but {cur.event.call} {cur.event.key} wrote {show_bytes(sent)} there; not linked.")
                flows.append(Flow(channel_id, cur.event.key, None, n, cur.taken, 0, offset, sent))
                flows.append(Flow(channel_id, None, r.key, n, 0, roff, offset, got))
            cur.taken += n
            roff += n
            offset += n
    rest = ([cur] if cur is not None and cur.left > 0 else []) + pending.rest()
    for p in rest:
        if p.start is None:
            order.append(p.event.key)
        flows.append(Flow(channel_id, p.event.key, None, p.left, p.taken, 0, offset,
                          _known(p.event.data, p.taken, p.left)))
        offset += p.left
    return StreamResult(tuple(flows), tuple(problems), tuple(order),
                        tuple(r.key for r in sorted(reads, key=_time_key)))


# -- datagrams ------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Dgram:
    """A datagram send: where it came from, where it went, which traced socket could read it."""

    event: Event
    src: tuple[Any, ...]  # ("addr", SockAddr) or ("ino", Inode)
    dst: tuple[Any, ...]
    receiver: Inode | None


def _udp_receiver(dst: SockAddr | None, t: Nanos, socks: Mapping[Inode, _Sock],
                  by_port: Mapping[int | None, list[Inode]]) -> Inode | None:
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


def _dgram_ends(e: Event, socks: Mapping[Inode, _Sock], pairs: Mapping[Inode, Inode],
                by_port: Mapping[int | None, list[Inode]], sending: bool
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


def _dgram_matches(sends: Sequence[_Dgram], recvs: Sequence[tuple[Event, tuple[Any, ...] | None]]
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


def _datagram_channels(events: Sequence[Event], socks: Mapping[Inode, _Sock],
                       pairs: Mapping[Inode, Inode]) -> list[_DgramChannel]:
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
        elif e.moves_data_in:
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


# -- packets --------------------------------------------------------------------------------------

def _release_before(releases: Mapping[Inode, list[_Release]], inode: Inode, t: Nanos,
                    pipe: bool) -> _Release | None:
    """The last release of a writing end of `inode` at or before `t`: the one that made the EOF."""
    best = None
    for rel in releases.get(inode, ()):
        if rel.time > t:
            continue
        if pipe and rel.end != "w":
            continue
        if not pipe and rel.end not in ("", "shut"):
            continue
        if best is None or rel.time >= best.time:
            best = rel
    return best


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


def _tcp_packet_links(packets: Sequence[Packet], channels: Sequence[Channel], flows: Sequence[Flow],
                      connections: Mapping[str, Connection], releases: Mapping[Inode, list[_Release]],
                      eof_reads: Mapping[Inode, list[Event]]) -> tuple[list[PacketLink], list[str]]:
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
    ends_by_channel = {cid: [f.stream_offset + f.length for f in fs]  # type: ignore[operator]
                       for cid, fs in flows_by_channel.items()}
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
        seq_end[(ch.id, ((p.seq or 0) + p.length + ("S" in flags) + ("F" in flags)) % _SEQ_MOD)] = p.index
        if "S" in flags:
            isn[ch.id] = p.seq or 0
            if "A" in flags:
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
            for f in _overlapping(flows_by_channel.get(ch.id, []), ends_by_channel.get(ch.id, []),
                                  offset, offset + p.length):
                lo, hi = max(offset, f.stream_offset), min(offset + p.length, f.stream_offset + f.length)
                if f.send is not None:
                    covered += hi - lo
                    causes.append(f.send)
                    mine = p.payload[lo - offset:hi - offset]
                    theirs = _known(f.data, lo - f.stream_offset, hi - lo)
                    if not _agree(mine, theirs):
                        problems.append(f"{ch.id}: packet #{p.index} carries {show_bytes(mine)} at stream offset {lo}, "
                                        f"but {f.send} wrote {show_bytes(theirs)} there.")
                if f.recv is not None:
                    effects.append(f.recv)
            if covered < p.length and ch.src is not None:
                problems.append(f"{ch.id}: packet #{p.index} carries {p.length - covered} bytes at stream "
                                f"offset {offset} that no traced send wrote.")
        role = "data" if p.payload else "ack"
        follows: tuple[int, ...] = ()
        acked = seq_end.get((side.back.id, p.ack or 0)) if "A" in flags and not p.payload else None
        if acked is not None:  # a pure ACK comes after the segment it acknowledges
            follows = (acked,)
            if side.client and ch.id not in handshake_done:  # the handshake's last step completes accept
                handshake_done.add(ch.id)
                effects.extend(opened(ch, "accept"))
        if "F" in flags or "R" in flags:
            role = "fin" if "F" in flags else "rst"
            src_ino = _ino(ch.src)
            rel = _release_before(releases, src_ino, p.ts, pipe=False) if src_ino else None
            if rel is not None:
                causes.append(rel.key)
            dst_ino = _ino(ch.dst)
            if "F" in flags and dst_ino is not None:
                later = [e for e in eof_reads.get(dst_ino, []) if _done(e) >= p.ts]
                if later:
                    effects.append(later[0].key)
        links.append(PacketLink(p.index, ch.id, role, tuple(dict.fromkeys(causes)),
                                tuple(dict.fromkeys(effects)), follows, offset))
    return links, problems


def _udp_packet_links(packets: Sequence[Packet], channels: Sequence[Channel], flows: Sequence[Flow],
                      events: Mapping[EventKey, Event]) -> list[PacketLink]:
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
            if size == p.length and _agree(_known(event.data, 0, size), p.payload) and \
                    (f.send is None or event.t0 <= p.ts):
                hit = queue[ch.id].pop(i)
                break
        if hit is None:
            links.append(PacketLink(p.index, ch.id, "datagram"))
            continue
        links.append(PacketLink(p.index, ch.id, "datagram", (hit.send,) if hit.send else (),
                                (hit.recv,) if hit.recv else ()))
    return links


# -- link -----------------------------------------------------------------------------------------

def link(trace: Trace) -> LinkedTrace:
    """Channels, flows, packet links and EOFs of a trace; problems as sentences, never exceptions."""
    events = sorted(trace.events, key=lambda e: (e.t0, e.pid, e.seq))
    socks = _collect_sockets(events)
    pipe_ends, release_list = _fd_tables(events)
    releases: dict[Inode, list[_Release]] = defaultdict(list)
    for rel in release_list:
        releases[rel.inode].append(rel)
    groups = _number([*_pipe_groups(events), *_socketpair_groups(events), *_tcp_groups(events),
                      *_unix_groups(events)])
    calls = _StreamCalls.collect(events)
    infos = _endpoint_infos(groups, socks, events)
    connections = {name: _connection_of(name, g, infos) for name, g in groups if g.kind != "pipe"}
    pairs = {a: b for name, g in groups if g.kind == "socketpair" for (a, _), (b, _) in
             (g.sides, g.sides[::-1])}

    channels: list[Channel] = []
    flows: list[Flow] = []
    problems: list[str] = []
    eofs: list[EofLink] = []
    for name, g in groups:
        if g.kind == "socketpair" and infos[g.sides[0][0]].endpoint.kind in DGRAM_KINDS:
            continue  # datagram socketpairs are matched with the other datagram channels
        for d in g.directions:
            channel, result = _stream_channel(name, g.kind, d, calls, infos)
            channels.append(channel)
            flows.extend(result.flows)
            problems.extend(result.problems)
            eofs.extend(_eofs(channel.id, d, calls.eof_reads, releases, pipe=g.kind == "pipe"))
    problems.extend(_unplaced(calls, {i for _, g in groups for d in g.directions for i in (d.src, d.dst)}))

    dchannels, dflows = _name_datagram_channels(
        _datagram_channels(events, socks, pairs), socks, dict(groups), infos)
    channels.extend(dchannels)
    flows.extend(dflows)
    traced_src = {ch.id for ch in dchannels if ch.src is not None}
    problems.extend(f"{f.channel}: {f.recv} got a datagram {show_bytes(f.data)} that no traced send explains."
                    for f in dflows if f.send is None and f.channel in traced_src)
    for ino, sock in socks.items():
        infos.setdefault(ino, EndpointInfo(sock.endpoint, None, "", sock.local, sock.peer, sock.listening))

    tcp_links, tcp_problems = _tcp_packet_links(trace.packets, channels, flows, connections, releases,
                                                calls.eof_reads)
    udp_links = _udp_packet_links(trace.packets, channels, flows, {e.key: e for e in events})
    problems.extend(tcp_problems)
    packet_links = sorted([*tcp_links, *udp_links], key=lambda pl: pl.packet)
    return LinkedTrace(trace, tuple(channels), tuple(flows), tuple(packet_links), tuple(connections.values()),
                       tuple(eofs), tuple(problems), infos, pipe_ends)


@dataclass(frozen=True, slots=True)
class _StreamCalls:
    """The calls that move stream bytes, per inode: sends, receives, and reads that saw EOF."""

    sends: Mapping[Inode, list[Event]]
    recvs: Mapping[Inode, list[Event]]
    eof_reads: Mapping[Inode, list[Event]]

    @staticmethod
    def collect(events: Iterable[Event]) -> _StreamCalls:
        sends: dict[Inode, list[Event]] = defaultdict(list)
        recvs: dict[Inode, list[Event]] = defaultdict(list)
        eof_reads: dict[Inode, list[Event]] = defaultdict(list)
        for e in events:
            ino = _ino(e.endpoint)
            if ino is None or e.endpoint is None or e.endpoint.kind not in STREAM_KINDS:
                continue
            if e.moves_data_out:
                sends[ino].append(e)
            elif e.moves_data_in:
                recvs[ino].append(e)
            elif _is_eof_read(e):
                eof_reads[ino].append(e)
        for reads in eof_reads.values():
            reads.sort(key=_time_key)
        return _StreamCalls(dict(sends), dict(recvs), dict(eof_reads))


def _endpoint_infos(groups: Sequence[tuple[str, _Group]], socks: Mapping[Inode, _Sock],
                    events: Sequence[Event]) -> dict[Inode, EndpointInfo]:
    infos: dict[Inode, EndpointInfo] = {}
    for name, g in groups:
        for ino, side in g.sides or tuple((d.src, "") for d in g.directions if d.src is not None):
            s = socks.get(ino)  # type: ignore[arg-type]
            ep = s.endpoint if s else _endpoint_of(events, ino)  # type: ignore[arg-type]
            infos[ino] = EndpointInfo(ep, name, side, s.local if s else None,  # type: ignore[index]
                                      s.peer if s else None, s.listening if s else False)
    return infos


def _connection_of(name: str, g: _Group, infos: Mapping[Inode, EndpointInfo]) -> Connection:
    up = g.directions[0]
    client = infos[up.src].endpoint if up.src in infos else None  # type: ignore[index]
    server = infos[up.dst].endpoint if up.dst in infos else None  # type: ignore[index]
    return Connection(name, g.kind, client, server, g.connect, g.accept, up.src_addr, up.dst_addr)


def _stream_channel(name: str, kind: str, d: _Direction, calls: _StreamCalls,
                    infos: Mapping[Inode, EndpointInfo]) -> tuple[Channel, StreamResult]:
    cid = f"{name} {d.suffix}" if d.suffix else name
    writes = calls.sends.get(d.src, []) if d.src else []
    reads = calls.recvs.get(d.dst, []) if d.dst else []
    result = stream_flows(cid, writes, reads, sender_traced=d.src is not None)
    if d.src is None and any(f.send is None for f in result.flows):
        untraced = sum(f.length for f in result.flows if f.send is None)
        result = StreamResult(result.flows, (*result.problems, f"{cid}: the sending side ran untraced; "
                              f"{untraced} received bytes have no send to link to."), result.sends, result.recvs)
    src = infos[d.src].endpoint if d.src else None
    dst = infos[d.dst].endpoint if d.dst else None
    return Channel(cid, name, kind, True, src, dst, d.src_addr, d.dst_addr, result.sends, result.recvs), result


def _unplaced(calls: _StreamCalls, placed: set[Inode | None]) -> list[str]:
    """Stream sockets that moved bytes on a connection nobody recorded opening (inherited from outside)."""
    problems = []
    for ino in calls.sends.keys() | calls.recvs.keys():
        if ino in placed:
            continue
        evs = [*calls.sends.get(ino, []), *calls.recvs.get(ino, [])]
        problems.append(f"a {evs[0].endpoint.kind} socket (inode {ino[1]}) moved "  # type: ignore[union-attr]
                        f"{sum(e.size or 0 for e in evs)} bytes but its connection was not recorded "
                        "(no connect, accept or socketpair); those bytes are not linked.")
    return sorted(problems)


def _endpoint_of(events: Sequence[Event], ino: Inode) -> Endpoint:
    for e in events:
        for ep in (e.endpoint, e.peer_endpoint):
            if ep is not None and (ep.dev, ep.ino) == ino:
                return ep
    return Endpoint(ino[0], ino[1], "other")


def _eofs(cid: str, d: _Direction, eof_reads: Mapping[Inode, list[Event]],
          releases: Mapping[Inode, list[_Release]], pipe: bool) -> list[EofLink]:
    """Each EOF read on the channel's reading end, tied to the last release of its writing end before it."""
    if d.src is None or d.dst is None:
        return []
    out = []
    for r in eof_reads.get(d.dst, []):
        rel = _release_before(releases, d.src, _done(r), pipe)
        if rel is not None:
            out.append(EofLink(cid, rel.key, r.key))
    return out


def _name_datagram_channels(dchannels: Sequence[_DgramChannel], socks: Mapping[Inode, _Sock],
                            groups: Mapping[str, _Group], infos: dict[Inode, EndpointInfo]
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
    return Flow(cid, send.key if send else None, recv.key if recv else None, length, 0, 0, None,
                max(known, key=len, default=b""))


def _first_endpoint(events: Iterable[Event | None]) -> Endpoint | None:
    return next((e.endpoint for e in events if e is not None), None)
