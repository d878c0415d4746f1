"""Channels and flows: which bytes of which send came out of which receive, and through which packet.

Pure functions over a `Trace` (DESIGN.md, "link"); nothing here is stored in
the trace file. A *channel* is one direction of byte or datagram movement: a
pipe (one inode), each direction of a socketpair, Unix stream connection or
TCP connection, and each UDP src→dst address pair. A *flow* is a run of bytes
that left one send and arrived in one receive; a receive that got two writes,
or half of one, yields several flows. Payloads are compared wherever both
sides recorded them: a disagreement is reported in `LinkedTrace.problems` and
never linked. Every byte the trace cannot account for is a `Gap`.

`link()` below runs the stages in order; each lives in its own module:

- `model`: the results (Channel, Flow, PacketLink, Gap, ..., LinkedTrace); imports no other module here
- `helpers`: call times, address normalisation, payload comparison
- `sockets`: each socket inode's addresses, from bind/listen/connect/accept
- `fds`: per-process fd tables: pipe ends, and when each end was released
- `channels`: pipes, socketpairs and connections paired up and numbered into groups
- `streams`: byte-stream flows per channel direction (`stream_flows`)
- `eof`: EOF reads tied to the release that caused them
- `datagrams`: UDP / unix-dgram / datagram socketpair channels and flows
- `tcp`, `packets`: TCP segments and UDP datagrams tied to sends and receives
- `memo`: the last result kept, so one run links its trace once
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Iterable, Sequence

from ipctrace.display import show_bytes
from ipctrace.link.channels import Group, connection_of, endpoint_infos, endpoints_of, find_groups
from ipctrace.link.datagrams import datagram_links
from ipctrace.link.eof import eofs_of
from ipctrace.link.fds import FdFacts, follow_fds
from ipctrace.link.helpers import normalize
from ipctrace.link.memo import last_result
from ipctrace.link.model import (
    Channel,
    ChannelId,
    ChannelKind,
    Connection,
    EndpointInfo,
    EofLink,
    Flow,
    Gap,
    GapKind,
    GroupId,
    LinkedTrace,
    PacketLink,
    PacketRole,
    PipeEnd,
    Side,
    describe_endpoint,
)
from ipctrace.link.packets import tcp_packet_links, udp_packet_links
from ipctrace.link.sockets import collect_sockets
from ipctrace.link.streams import StreamCalls, StreamResult, stream_channel, stream_flows, unplaced
from ipctrace.link.tcp import TcpLinker
from ipctrace.model import Event, Inode, Trace
from ipctrace.perf import gc_paused, sorted_by_first

__all__ = [
    "Channel",
    "ChannelId",
    "ChannelKind",
    "Connection",
    "EndpointInfo",
    "EofLink",
    "Flow",
    "Gap",
    "GapKind",
    "GroupId",
    "Inode",
    "LinkedTrace",
    "PacketLink",
    "PacketRole",
    "PipeEnd",
    "Side",
    "StreamResult",
    "describe_endpoint",
    "link",
    "normalize",
    "stream_flows",
]


_BY_ENTRY = operator.attrgetter("t0", "pid", "seq")  # calls in the order they began, in C
_T0 = operator.attrgetter("t0")


def _ipc_events(trace: Trace) -> list[Event]:
    """The events that can be IPC, in time order.

    What goes through the pipes the session gave each role as stdin/stdout/stderr is the program's own
    input and output, not IPC between traced processes: it has no channel.
    """
    streams = trace.header.streams
    if streams:
        events = [e for e in trace.events if e.endpoint is None or e.endpoint.inode not in streams]
    else:
        events = list(trace.events)
    t0s = [e.t0 for e in events]
    if any(map(operator.gt, t0s, itertools.islice(t0s, 1, None))):  # out of time order (in C, once a call)
        events = sorted_by_first(events, _T0, _BY_ENTRY)
    return events


def _stream_links(
    groups: Sequence[Group], calls: StreamCalls, infos: dict[Inode, EndpointInfo], fds: FdFacts
) -> tuple[list[Channel], list[Flow], list[str], list[Gap], list[EofLink]]:
    channels: list[Channel] = []
    flows: list[Flow] = []
    problems: list[str] = []
    gaps: list[Gap] = []
    eofs: list[EofLink] = []
    for g in groups:
        if g.kind is ChannelKind.SOCKETPAIR and infos[g.sides[0][0]].endpoint.kind.is_datagram:
            continue  # datagram socketpairs are matched with the other datagram channels
        for d in g.directions:
            cid = ChannelId(g.gid, d.label)
            channel, result = stream_channel(cid, d, calls, infos)
            channels.append(channel)
            flows.extend(result.flows)
            problems.extend(result.problems)
            gaps.extend(result.gaps)
            eofs.extend(eofs_of(cid, d, calls.eof_reads, fds.releases, pipe=g.kind is ChannelKind.PIPE))
    return channels, flows, problems, gaps, eofs


@last_result
def link(trace: Trace) -> LinkedTrace:
    """Channels, flows, packet links, EOFs and gaps of a trace; problems as sentences, never exceptions.

    Linking the same trace object again returns the same result (`memo`).
    """
    with gc_paused():
        return _link(trace)


def _link(trace: Trace) -> LinkedTrace:
    events = _ipc_events(trace)
    socks = collect_sockets(events)
    fds = follow_fds(events)
    groups = find_groups(events)
    calls = StreamCalls.collect(events)
    infos = endpoint_infos(groups, socks, endpoints_of(events))
    connections = {g.gid: connection_of(g, infos) for g in groups if g.kind is not ChannelKind.PIPE}

    channels, flows, problems, gaps, eofs = _stream_links(groups, calls, infos, fds)
    placed = {i for g in groups for d in g.directions for i in (d.src, d.dst) if i is not None}
    stray = unplaced(calls, placed)
    problems.extend(dict.fromkeys(g.text for g in stray))
    gaps.extend(stray)

    pair_sides = {ino: (g.gid, side) for g in groups if g.kind is ChannelKind.SOCKETPAIR for ino, side in g.sides}
    pairs = {a: b for g in groups if g.kind is ChannelKind.SOCKETPAIR for (a, _), (b, _) in (g.sides, g.sides[::-1])}
    dgrams = datagram_links(events, socks, pair_sides, pairs, infos)
    channels.extend(dgrams.channels)
    flows.extend(dgrams.flows)
    gaps.extend(dgrams.gaps)
    problems.extend(_datagram_problems(dgrams.channels, dgrams.flows))
    infos.update(dgrams.infos)
    for ino, sock in socks.items():
        infos.setdefault(ino, sock.info())

    tcp = tcp_packet_links(trace.packets, channels, TcpLinker(flows, connections, fds.releases, calls.eof_reads))
    dgram_events = {k: trace.event(k) for f in dgrams.flows for k in (f.send, f.recv) if k is not None}
    udp = udp_packet_links(trace.packets, channels, dgrams.flows, dgram_events)
    problems.extend(tcp.problems)
    gaps.extend((*tcp.gaps, *udp.gaps))
    packet_links = sorted([*tcp.links, *udp.links], key=lambda pl: pl.packet)
    return LinkedTrace(
        trace,
        tuple(channels),
        tuple(flows),
        tuple(packet_links),
        tuple(connections.values()),
        tuple(eofs),
        tuple(problems),
        infos,
        fds.pipe_ends,
        tuple(gaps),
    )


def _datagram_problems(channels: Iterable[Channel], flows: Iterable[Flow]) -> list[str]:
    traced_src = {ch.id for ch in channels if ch.src is not None}
    return [
        f"{f.channel}: {f.recv} got a datagram {show_bytes(f.data)} that no traced send explains."
        for f in flows
        if f.send is None and f.channel in traced_src
    ]
