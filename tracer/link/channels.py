"""Groups: pipes, socketpairs and connections, numbered in order of appearance, and what each end is.

A group is both directions of one pipe, socketpair or connection; a TCP
connect is paired with its accept by address, a Unix one by the listener's
accept queue. Each group's name ("tcp#1") prefixes the ids of its channels.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ipctrace.link.helpers import _addr, _ino, _time_key, normalize
from ipctrace.link.model import CONNECT_CALLS, TCP_KINDS, Connection, EndpointInfo, Inode
from ipctrace.link.sockets import _Sock
from ipctrace.model import Endpoint, Event, EventKey, Nanos, SockAddr


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
        groups.append(
            _Group("socketpair", e.t0, (_Direction("a→b", a, b), _Direction("b→a", b, a)), ((a, "A"), (b, "B")), e.key)
        )  # type: ignore[arg-type]
    return groups


def _connection(
    kind: str, connect: Event | None, accept: Event | None, caddr: SockAddr | None, saddr: SockAddr | None
) -> _Group:
    first = min(e.t0 for e in (connect, accept) if e is not None)
    client = _ino(connect.endpoint) if connect is not None else None
    server = _ino(accept.peer_endpoint) if accept is not None else None
    if kind == "tcp":
        up, down = f"{caddr}→{saddr}", f"{saddr}→{caddr}"
    else:
        up, down = "client→server", "server→client"
    sides = tuple((ino, side) for ino, side in ((client, "client"), (server, "server")) if ino is not None)
    return _Group(
        kind,
        first,
        (_Direction(up, client, server, caddr, saddr), _Direction(down, server, client, saddr, caddr)),
        sides,
        connect.key if connect else None,
        accept.key if accept else None,
    )


def _tcp_groups(events: Sequence[Event]) -> list[_Group]:
    """Pair each connect with the accept that saw the same 4-tuple the other way round."""
    connects = [
        e
        for e in events
        if e.call in CONNECT_CALLS
        and e.endpoint
        and e.endpoint.kind in TCP_KINDS
        and (not e.failed or e.error == "EINPROGRESS")
    ]
    accepts = [
        e
        for e in events
        if e.call == "accept" and not e.failed and e.peer_endpoint is not None and e.peer_endpoint.kind in TCP_KINDS
    ]
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
    binds = sorted(
        (e for e in events if e.call == "bind" and not e.failed and e.endpoint and e.endpoint.kind == "unix-stream"),
        key=lambda e: e.t0,
    )
    connects = [
        e
        for e in events
        if e.call in CONNECT_CALLS and not e.failed and e.endpoint and e.endpoint.kind == "unix-stream"
    ]
    accepts = [
        e
        for e in events
        if e.call == "accept" and not e.failed and e.peer_endpoint is not None and e.peer_endpoint.kind == "unix-stream"
    ]

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


# -- what each end of a group is --------------------------------------------------------------------


def _endpoint_infos(
    groups: Sequence[tuple[str, _Group]], socks: Mapping[Inode, _Sock], events: Sequence[Event]
) -> dict[Inode, EndpointInfo]:
    infos: dict[Inode, EndpointInfo] = {}
    for name, g in groups:
        for ino, side in g.sides or tuple((d.src, "") for d in g.directions if d.src is not None):
            s = socks.get(ino)  # type: ignore[arg-type]
            ep = s.endpoint if s else _endpoint_of(events, ino)  # type: ignore[arg-type]
            infos[ino] = EndpointInfo(
                ep,
                name,
                side,
                s.local if s else None,  # type: ignore[index]
                s.peer if s else None,
                s.listening if s else False,
            )
    return infos


def _connection_of(name: str, g: _Group, infos: Mapping[Inode, EndpointInfo]) -> Connection:
    up = g.directions[0]
    client = infos[up.src].endpoint if up.src in infos else None  # type: ignore[index]
    server = infos[up.dst].endpoint if up.dst in infos else None  # type: ignore[index]
    return Connection(name, g.kind, client, server, g.connect, g.accept, up.src_addr, up.dst_addr)


def _endpoint_of(events: Sequence[Event], ino: Inode) -> Endpoint:
    for e in events:
        for ep in (e.endpoint, e.peer_endpoint):
            if ep is not None and (ep.dev, ep.ino) == ino:
                return ep
    return Endpoint(ino[0], ino[1], "other")
