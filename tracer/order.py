"""The happens-before graph of a linked trace, and one order of all its events and packets.

Timestamps from different processes can disagree with causality by a few
microseconds, and a blocking call's entry says nothing about when its data
arrived. So the order is a topological order of a DAG of causes (program
order, fork, spawn, data, packets, wait, EOF), and timestamps only decide
among nodes the graph leaves unordered: a receive is never placed before its
send, whatever the clocks say.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import networkx as nx

from ipctrace.calls import WAITS_FOR_CHILD
from ipctrace.errors import IpctraceError
from ipctrace.link import LinkedTrace
from ipctrace.model import Event, EventKey, Nanos, Packet, Pid, Trace

#: Edge kinds, most telling first. An edge stores all its kinds in `kinds` and the most telling in
#: `kind` (a write read back by the next call of the same process is a `data` edge, not `program`).
#: `connect` (connect → the accept that took it) orders a connection even without captured packets.
EDGE_KINDS = ("data", "packet", "eof", "connect", "fork", "spawn", "wait", "program")
WAIT_CALLS = WAITS_FOR_CHILD


@dataclass(frozen=True, slots=True, order=True)
class PacketNode:
    """A captured packet as a graph node (`Packet.index`), distinct from any event."""

    index: int

    def __str__(self) -> str:
        return f"packet#{self.index}"


Node = EventKey | PacketNode


class OrderError(IpctraceError, ValueError):
    """The happens-before graph has a cycle: linking paired calls that cannot be causally related."""


@dataclass(frozen=True, eq=False)
class OrderedTrace:
    """A linked trace with its happens-before graph and a topological order of every node."""

    linked: LinkedTrace
    graph: nx.DiGraph
    order: tuple[Node, ...]
    _rank: Mapping[Node, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_rank", {node: i for i, node in enumerate(self.order)})

    @property
    def trace(self) -> Trace:
        return self.linked.trace

    def rank(self, node: Node | Event | Packet) -> int:
        """Position of an event or packet in `order` (0 first)."""
        return self._rank[as_node(node)]

    def events(self) -> tuple[Event, ...]:
        """The trace's events in order (packets left out)."""
        by_key = {e.key: e for e in self.trace.events}
        return tuple(by_key[n] for n in self.order if isinstance(n, EventKey))

    def edges(self, kind: str) -> list[tuple[Node, Node]]:
        """Every edge that has `kind` among its kinds."""
        return [(u, v) for u, v, kinds in self.graph.edges(data="kinds") if kind in kinds]

    def happens_before(self, a: Node | Event | Packet, b: Node | Event | Packet) -> bool:
        """True when the graph says `a` must come before `b` (a path from a to b)."""
        a, b = as_node(a), as_node(b)
        return a != b and nx.has_path(self.graph, a, b)


def as_node(item: Node | Event | Packet) -> Node:
    if isinstance(item, Event):
        return item.key
    if isinstance(item, Packet):
        return PacketNode(item.index)
    return item


# -- edges ----------------------------------------------------------------------------------------


def _add(graph: nx.DiGraph, u: Node, v: Node, kind: str) -> None:
    if u == v:
        return
    if graph.has_edge(u, v):
        data = graph.edges[u, v]
        if kind not in data["kinds"]:
            data["kinds"] = (*data["kinds"], kind)
            data["kind"] = min(data["kinds"], key=EDGE_KINDS.index)
        return
    graph.add_edge(u, v, kind=kind, kinds=(kind,))


def _program_edges(events: Iterable[Event]) -> Iterable[tuple[Node, Node, str]]:
    """Consecutive events of each thread; a thread's first event after its process's first."""
    threads: dict[tuple[Pid, int], list[Event]] = defaultdict(list)
    first: dict[Pid, Event] = {}
    for e in sorted(events, key=lambda e: (e.pid, e.seq)):
        threads[(e.pid, e.tid)].append(e)
        first.setdefault(e.pid, e)
    for (pid, _tid), evs in threads.items():
        if evs[0] is not first[pid]:
            yield first[pid].key, evs[0].key, "program"
        for a, b in zip(evs, evs[1:], strict=False):
            yield a.key, b.key, "program"


def _process_edges(events: Iterable[Event]) -> Iterable[tuple[Node, Node, str]]:
    """fork → child's start, parent → a Python child it started, child's end → the wait that reaped it."""
    by_pid: dict[Pid, list[Event]] = defaultdict(list)
    for e in sorted(events, key=lambda e: (e.pid, e.seq)):
        by_pid[e.pid].append(e)
    forks = {
        e.result: e
        for evs in by_pid.values()
        for e in evs
        if e.call == "fork" and not e.failed and isinstance(e.result, int) and e.result > 0
    }
    for pid, evs in by_pid.items():
        start = evs[0]
        if pid in forks:
            yield forks[pid].key, start.key, "fork"
        elif start.call == "start" and start.ppid in by_pid:
            before = [e for e in by_pid[start.ppid] if e.t1 is not None and e.t1 <= start.t0]
            if before:
                yield before[-1].key, start.key, "spawn"
    for evs in by_pid.values():
        for e in evs:
            if (
                e.call in WAIT_CALLS
                and not e.failed
                and isinstance(e.result, list)
                and e.result
                and isinstance(e.result[0], int)
                and e.result[0] in by_pid
            ):
                yield by_pid[e.result[0]][-1].key, e.key, "wait"


def _link_edges(linked: LinkedTrace) -> Iterable[tuple[Node, Node, str]]:
    """Sends → receives, connect → accept, calls → packets → calls, releases → EOF reads."""
    for conn in linked.connections:
        if conn.connect is not None and conn.accept is not None:
            yield conn.connect, conn.accept, "connect"
    for flow in linked.flows:
        if flow.send is not None and flow.recv is not None:
            yield flow.send, flow.recv, "data"
    for plink in linked.packet_links:
        node = PacketNode(plink.packet)
        for cause in plink.causes:
            yield cause, node, "packet"
        for effect in plink.effects:
            yield node, effect, "packet"
        for earlier in plink.follows:
            yield PacketNode(earlier), node, "packet"
    for eof in linked.eofs:
        yield eof.release, eof.read, "eof"


def happens_before(linked: LinkedTrace) -> nx.DiGraph:
    """The graph: every event and packet a node, every known cause an edge labelled with its kind."""
    graph = nx.DiGraph()
    for e in linked.trace.events:
        graph.add_node(e.key)
    for p in linked.trace.packets:
        graph.add_node(PacketNode(p.index))
    for u, v, kind in (
        *_program_edges(linked.trace.events),
        *_process_edges(linked.trace.events),
        *_link_edges(linked),
    ):
        _add(graph, u, v, kind)
    return graph


# -- order ----------------------------------------------------------------------------------------


def _times(trace: Trace) -> dict[Node, tuple[Nanos, int, int, int]]:
    """Sort keys: when each call took effect (its return; its entry if it never returned), packets by capture time."""
    keys: dict[Node, tuple[Nanos, int, int, int]] = {}
    for e in trace.events:
        keys[e.key] = (e.t1 if e.t1 is not None else e.t0, 0, e.pid, e.seq)
    for p in trace.packets:
        keys[PacketNode(p.index)] = (p.ts, 1, 0, p.index)
    return keys


def _describe_cycle(linked: LinkedTrace, graph: nx.DiGraph, cycle: list[tuple[Node, Node]]) -> str:
    by_key = {e.key: e for e in linked.trace.events}
    steps = []
    for u, _v in cycle:
        if isinstance(u, EventKey) and u in by_key:
            e = by_key[u]
            where = linked.describe(e)
            steps.append(f"{u} {e.call}" + (f" ({where})" if where else ""))
        else:
            steps.append(str(u))
    kinds = [graph.edges[u, v]["kind"] for u, v in cycle]
    text = steps[0]
    for kind, step in zip(kinds, [*steps[1:], steps[0]], strict=True):
        text += f" -{kind}-> {step}"
    return text


def order(linked: LinkedTrace) -> OrderedTrace:
    """Build the happens-before graph, check it is a DAG, and order every node by it and then by time."""
    graph = happens_before(linked)
    keys = _times(linked.trace)
    try:
        nodes = tuple(nx.lexicographical_topological_sort(graph, key=keys.__getitem__))
    except nx.NetworkXUnfeasible:  # only now look for the cycle, to name it
        cycle = nx.find_cycle(graph)
        raise OrderError(
            "the happens-before graph has a cycle, so some link pairs calls that cannot be "
            f"causally related: {_describe_cycle(linked, graph, cycle)}"
        ) from None
    return OrderedTrace(linked, graph, nodes)
