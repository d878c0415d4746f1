"""Groups: pipes, socketpairs and connections, numbered in order of appearance, and what each end is.

A group is both directions of one pipe, socketpair or connection; a TCP
connect is paired with its accept by address, a Unix one by the listener's
accept queue. Each group's id (`tcp#1`) is the first part of its channels' ids.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ipctrace.calls import CONNECTS, RECEIVES, SENDS, Call
from ipctrace.link.helpers import normalize, time_key
from ipctrace.link.model import ChannelKind, Connection, EndpointInfo, GroupId, Side
from ipctrace.link.sockets import SocketFacts
from ipctrace.model import Endpoint, EndpointKind, Event, EventKey, Inode, Nanos, SockAddr


@dataclass(frozen=True, slots=True)
class Direction:
    """One direction of a group: from which inode to which, and the label of its channel id."""

    label: str  # "", "a→b", "127.0.0.1:54012→127.0.0.1:8080"
    src: Inode | None
    dst: Inode | None
    src_addr: SockAddr | None = None
    dst_addr: SockAddr | None = None


@dataclass(frozen=True, slots=True)
class Group:
    """A pipe, socketpair or connection before numbering (`id` is None) or after."""

    kind: ChannelKind
    first: Nanos
    directions: tuple[Direction, ...]
    sides: tuple[tuple[Inode, Side], ...] = ()
    connect: EventKey | None = None
    accept: EventKey | None = None
    id: GroupId | None = None

    @property
    def gid(self) -> GroupId:
        assert self.id is not None, "groups are numbered before use"
        return self.id

    def ends(self) -> tuple[tuple[Inode, Side], ...]:
        """Each inode of the group with its side (a pipe's one inode has none)."""
        return self.sides or tuple((d.src, Side.NONE) for d in self.directions if d.src is not None)


#: Calls that move bytes: most of a large trace, and none of them makes a socketpair or a connection.
_MOVES_DATA = SENDS | RECEIVES


def _pipe_groups(events: Iterable[Event]) -> list[Group]:
    first: dict[Inode, Nanos] = {}
    seen: set[int] = set()
    for e in events:
        ep = e.endpoint
        if ep is not None and id(ep) not in seen:
            seen.add(id(ep))  # endpoints are shared objects: each is looked at once
            if ep.kind.is_pipe:
                first.setdefault(ep.inode, e.t0)
    return [Group(ChannelKind.PIPE, t, (Direction("", ino, ino),)) for ino, t in first.items()]


def _socketpair_groups(events: Iterable[Event]) -> list[Group]:
    groups = []
    for e in events:
        if e.call is not Call.SOCKETPAIR or e.failed or e.endpoint is None or e.peer_endpoint is None:
            continue
        a, b = e.endpoint.inode, e.peer_endpoint.inode
        directions = (Direction("a→b", a, b), Direction("b→a", b, a))
        groups.append(Group(ChannelKind.SOCKETPAIR, e.t0, directions, ((a, Side.A), (b, Side.B)), e.key))
    return groups


def _connection(
    kind: ChannelKind, connect: Event | None, accept: Event | None, caddr: SockAddr | None, saddr: SockAddr | None
) -> Group:
    first = min(e.t0 for e in (connect, accept) if e is not None)
    client = connect.inode if connect is not None else None
    server = accept.peer_endpoint.inode if accept is not None and accept.peer_endpoint is not None else None
    if kind is ChannelKind.TCP:
        up, down = f"{caddr}→{saddr}", f"{saddr}→{caddr}"
    else:
        up, down = "client→server", "server→client"
    sides = tuple((ino, side) for ino, side in ((client, Side.CLIENT), (server, Side.SERVER)) if ino is not None)
    return Group(
        kind,
        first,
        (Direction(up, client, server, caddr, saddr), Direction(down, server, client, saddr, caddr)),
        sides,
        connect.key if connect else None,
        accept.key if accept else None,
    )


def _connects(events: Iterable[Event], tcp: bool) -> list[Event]:
    """Connects that started a connection (TCP: also a non-blocking one still in progress)."""
    out = []
    for e in events:
        if e.call not in CONNECTS or e.endpoint is None:
            continue
        if tcp and e.endpoint.kind.is_tcp and (not e.failed or e.error == "EINPROGRESS"):
            out.append(e)
        elif not tcp and e.endpoint.kind is EndpointKind.UNIX_STREAM and not e.failed:
            out.append(e)
    return sorted(out, key=time_key)


def _accepts(events: Iterable[Event], tcp: bool) -> list[Event]:
    def fits(ep: Endpoint) -> bool:
        return ep.kind.is_tcp if tcp else ep.kind is EndpointKind.UNIX_STREAM

    accepts = [
        e for e in events if e.call is Call.ACCEPT and not e.failed and e.peer_endpoint and fits(e.peer_endpoint)
    ]
    return sorted(accepts, key=time_key)


def _tcp_groups(events: Sequence[Event]) -> list[Group]:
    """Pair each connect with the accept that saw the same 4-tuple the other way round."""
    waiting: dict[tuple[SockAddr | None, SockAddr | None], deque[Event]] = defaultdict(deque)
    for a in _accepts(events, tcp=True):
        waiting[(normalize(a.peer), normalize(a.local))].append(a)
    groups = []
    for c in _connects(events, tcp=True):
        peer = c.peer or c.address
        queue = waiting.get((normalize(c.local), normalize(peer)))
        accept = queue.popleft() if queue else None
        groups.append(_connection(ChannelKind.TCP, c, accept, c.local, peer))
    for queue in waiting.values():
        for a in queue:  # accepted from a client that ran untraced
            groups.append(_connection(ChannelKind.TCP, None, a, a.peer, a.local))
    return groups


class _Listeners:
    """Which Unix stream socket was bound to a path at a given time (the latest bind by then)."""

    def __init__(self, events: Iterable[Event]) -> None:
        self.by_path: dict[str, tuple[list[Nanos], list[Inode]]] = defaultdict(lambda: ([], []))
        binds = (
            e
            for e in events
            if e.call is Call.BIND and not e.failed and e.endpoint and e.endpoint.kind is EndpointKind.UNIX_STREAM
        )
        for b in sorted(binds, key=lambda e: e.t0):
            addr = b.local or b.address
            if addr is not None and b.endpoint is not None:
                times, inodes = self.by_path[addr.host]
                times.append(b.t0)
                inodes.append(b.endpoint.inode)

    def at(self, path: str, t: Nanos) -> Inode | None:
        entry = self.by_path.get(path)
        if entry is None:
            return None
        i = bisect_right(entry[0], t)
        return entry[1][i - 1] if i else None


def _unix_groups(events: Sequence[Event]) -> list[Group]:
    """Pair the k-th connect to a listener's path with the k-th accept on that listener.

    A Unix stream connection carries no address that names the client, so the
    kernel's FIFO accept queue is what pairs them.
    """
    listeners = _Listeners(events)
    by_listener: dict[Inode | None, list[Event]] = defaultdict(list)
    for c in _connects(events, tcp=False):
        path = (c.peer or c.address or SockAddr("")).host
        by_listener[listeners.at(path, c.t0)].append(c)
    accepted: dict[Inode | None, list[Event]] = defaultdict(list)
    for a in _accepts(events, tcp=False):
        accepted[a.inode].append(a)
    groups = []
    for listener in dict.fromkeys([*by_listener, *accepted]):
        cs, accs = by_listener.get(listener, []), accepted.get(listener, []) if listener else []
        for k in range(max(len(cs), len(accs))):
            connect = cs[k] if k < len(cs) else None
            accept = accs[k] if k < len(accs) else None
            where = connect.peer if connect is not None else accept.local if accept is not None else None
            groups.append(_connection(ChannelKind.UNIX, connect, accept, None, where))
    return groups


def find_groups(events: Sequence[Event]) -> list[Group]:
    """Every pipe, socketpair, TCP and Unix connection, numbered `kind#k` in order of first appearance."""
    setup = [e for e in events if e.call not in _MOVES_DATA]  # what makes the other groups: no read or write
    found = [*_pipe_groups(events), *_socketpair_groups(setup), *_tcp_groups(setup), *_unix_groups(setup)]
    counts: dict[ChannelKind, int] = defaultdict(int)
    numbered = []
    for g in sorted(found, key=lambda g: g.first):
        counts[g.kind] += 1
        numbered.append(
            Group(g.kind, g.first, g.directions, g.sides, g.connect, g.accept, GroupId(g.kind, counts[g.kind]))
        )
    return numbered


# -- what each end of a group is --------------------------------------------------------------------


def endpoint_infos(
    groups: Iterable[Group], socks: Mapping[Inode, SocketFacts], endpoints: Mapping[Inode, Endpoint]
) -> dict[Inode, EndpointInfo]:
    """Each grouped inode's group, side and addresses (`endpoints`: every endpoint the trace names)."""
    infos: dict[Inode, EndpointInfo] = {}
    for g in groups:
        for ino, side in g.ends():
            s = socks.get(ino)
            if s is None:
                ep = endpoints.get(ino) or Endpoint(ino.dev, ino.ino, EndpointKind.OTHER)
                infos[ino] = EndpointInfo(ep, g.id, side)
            else:
                infos[ino] = EndpointInfo(s.endpoint, g.id, side, s.local, s.peer, s.listening)
    return infos


def connection_of(g: Group, infos: Mapping[Inode, EndpointInfo]) -> Connection:
    up = g.directions[0]
    client = infos[up.src].endpoint if up.src is not None and up.src in infos else None
    server = infos[up.dst].endpoint if up.dst is not None and up.dst in infos else None
    return Connection(g.gid, client, server, g.connect, g.accept, up.src_addr, up.dst_addr)


def endpoints_of(events: Iterable[Event]) -> dict[Inode, Endpoint]:
    """Every endpoint the trace names, by inode (the first event that named it)."""
    out: dict[Inode, Endpoint] = {}
    seen: set[int] = set()
    for e in events:
        ep = e.endpoint
        if ep is not None and id(ep) not in seen:
            seen.add(id(ep))
            out.setdefault(ep.inode, ep)
        ep = e.peer_endpoint
        if ep is not None and id(ep) not in seen:
            seen.add(id(ep))
            out.setdefault(ep.inode, ep)
    return out
