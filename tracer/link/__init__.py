"""Channels and flows: which bytes of which send came out of which receive, and through which packet.

Pure functions over a `Trace` (DESIGN.md, "link"); nothing here is stored in
the trace file. A *channel* is one direction of byte or datagram movement: a
pipe (one inode), each direction of a socketpair, Unix stream connection or
TCP connection, and each UDP src→dst address pair. A *flow* is a run of bytes
that left one send and arrived in one receive; a receive that got two writes,
or half of one, yields several flows. Payloads are compared wherever both
sides recorded them: a disagreement is reported in `LinkedTrace.problems` and
never linked.

`link()` below runs the stages in order; each lives in its own module:

- `model`: the results (Channel, Flow, PacketLink, ..., LinkedTrace); imports no other module here
- `helpers`: inode keys, call times, address normalisation, payload comparison
- `sockets`: each socket inode's addresses, from bind/listen/connect/accept
- `fds`: per-process fd tables: pipe ends, and when each end was released
- `channels`: pipes, socketpairs and connections paired up and numbered into groups
- `streams`: byte-stream flows per channel direction (`stream_flows`)
- `eof`: EOF reads tied to the release that caused them
- `datagrams`: UDP / unix-dgram / datagram socketpair channels and flows
- `packets`: TCP segments and UDP datagrams tied to sends and receives
"""

from __future__ import annotations

from collections import defaultdict

from ipctrace.display import show_bytes
from ipctrace.link.channels import (
    _connection_of,
    _endpoint_infos,
    _number,
    _pipe_groups,
    _socketpair_groups,
    _tcp_groups,
    _unix_groups,
)
from ipctrace.link.datagrams import _datagram_channels, _name_datagram_channels
from ipctrace.link.eof import _eofs
from ipctrace.link.fds import _fd_tables, _Release
from ipctrace.link.helpers import normalize
from ipctrace.link.model import (
    CONNECT_CALLS,
    DGRAM_KINDS,
    STREAM_KINDS,
    TCP_KINDS,
    UDP_KINDS,
    Channel,
    Connection,
    EndpointInfo,
    EofLink,
    Flow,
    Inode,
    LinkedTrace,
    PacketLink,
    describe_endpoint,
)
from ipctrace.link.packets import _tcp_packet_links, _udp_packet_links
from ipctrace.link.sockets import _collect_sockets
from ipctrace.link.streams import StreamResult, _stream_channel, _StreamCalls, _unplaced, stream_flows
from ipctrace.model import Trace

__all__ = [
    "CONNECT_CALLS",
    "DGRAM_KINDS",
    "STREAM_KINDS",
    "TCP_KINDS",
    "UDP_KINDS",
    "Channel",
    "Connection",
    "EndpointInfo",
    "EofLink",
    "Flow",
    "Inode",
    "LinkedTrace",
    "PacketLink",
    "StreamResult",
    "describe_endpoint",
    "link",
    "normalize",
    "stream_flows",
]


def link(trace: Trace) -> LinkedTrace:
    """Channels, flows, packet links and EOFs of a trace; problems as sentences, never exceptions."""
    # What goes through the pipes the session gave each role as stdin/stdout/stderr is the program's own
    # input and output, not IPC between traced processes: it has no channel.
    events = sorted(
        (e for e in trace.events if e.inode is None or e.inode not in trace.header.streams),
        key=lambda e: (e.t0, e.pid, e.seq),
    )
    socks = _collect_sockets(events)
    pipe_ends, release_list = _fd_tables(events)
    releases: dict[Inode, list[_Release]] = defaultdict(list)
    for rel in release_list:
        releases[rel.inode].append(rel)
    groups = _number([*_pipe_groups(events), *_socketpair_groups(events), *_tcp_groups(events), *_unix_groups(events)])
    calls = _StreamCalls.collect(events)
    infos = _endpoint_infos(groups, socks, events)
    connections = {name: _connection_of(name, g, infos) for name, g in groups if g.kind != "pipe"}
    pairs = {a: b for name, g in groups if g.kind == "socketpair" for (a, _), (b, _) in (g.sides, g.sides[::-1])}

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

    dchannels, dflows = _name_datagram_channels(_datagram_channels(events, socks, pairs), socks, dict(groups), infos)
    channels.extend(dchannels)
    flows.extend(dflows)
    traced_src = {ch.id for ch in dchannels if ch.src is not None}
    problems.extend(
        f"{f.channel}: {f.recv} got a datagram {show_bytes(f.data)} that no traced send explains."
        for f in dflows
        if f.send is None and f.channel in traced_src
    )
    for ino, sock in socks.items():
        infos.setdefault(ino, EndpointInfo(sock.endpoint, None, "", sock.local, sock.peer, sock.listening))

    tcp_links, tcp_problems = _tcp_packet_links(trace.packets, channels, flows, connections, releases, calls.eof_reads)
    udp_links = _udp_packet_links(trace.packets, channels, flows, {e.key: e for e in events})
    problems.extend(tcp_problems)
    packet_links = sorted([*tcp_links, *udp_links], key=lambda pl: pl.packet)
    return LinkedTrace(
        trace,
        tuple(channels),
        tuple(flows),
        tuple(packet_links),
        tuple(connections.values()),
        tuple(eofs),
        tuple(problems),
        infos,
        pipe_ends,
    )
