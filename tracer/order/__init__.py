"""The happens-before graph of a linked trace, and one order of all its events and packets.

The order is a topological order of a DAG of causes, with real time deciding
where the graph does not. `graph` builds that DAG over arrays of node numbers
and sorts it (its docstring says what the edges are and how real time places
what they leave unordered); this module holds what consumers read:
`OrderedTrace`, the order with the edges that explain it. The networkx graph
is built only when asked for (`OrderedTrace.graph`, or to name a cycle), and
so networkx is imported only then.

`analyse(trace)` is the one entry point for consumers: the linked and ordered
trace, computed once per trace.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ipctrace.errors import IpctraceError
from ipctrace.link import LinkedTrace, link
from ipctrace.link.memo import last_result
from ipctrace.model import Event, EventKey, Packet, Trace
from ipctrace.order.graph import (
    _KIND_CODE,
    EDGE_KINDS,
    PLACED_AT_RETURN,
    EdgeKind,
    Node,
    PacketNode,
    _Edges,
    _edges_of,
    _Nodes,
    _reaches,
    _topological,
    effect_time,
)
from ipctrace.perf import gc_paused

if TYPE_CHECKING:
    import networkx as nx


class OrderError(IpctraceError, ValueError):
    """The happens-before graph has a cycle: linking paired calls that cannot be causally related."""


@dataclass(frozen=True, eq=False)
class OrderedTrace:
    """A linked trace with its happens-before edges and a topological order of every node."""

    linked: LinkedTrace
    order: tuple[Node, ...]
    _nodes: _Nodes = field(repr=False)
    _edges: _Edges = field(repr=False)
    _sequence: Sequence[int] = field(repr=False)  # `order` as node numbers
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def trace(self) -> Trace:
        return self.linked.trace

    def rank(self, node: Node | Event | Packet) -> int:
        """Position of an event or packet in `order` (0 first)."""
        ranks = self._cache.get("rank")
        if ranks is None:
            ranks = self._cache["rank"] = {n: i for i, n in enumerate(self.order)}
        return int(ranks[as_node(node)])

    def events(self) -> tuple[Event, ...]:
        """The trace's events in order (packets left out)."""
        return tuple(self.trace.event(n) for n in self.order if isinstance(n, EventKey))

    def edges(self, kind: str) -> list[tuple[Node, Node]]:
        """Every edge that has `kind` among its kinds (each once, in the order they were found)."""
        code = _KIND_CODE[EdgeKind(kind)]
        found = dict.fromkeys(
            (u, v) for u, v, k in zip(self._edges.src, self._edges.dst, self._edges.kind, strict=True) if k == code
        )
        return [(self._nodes.node(u), self._nodes.node(v)) for u, v in found]

    def causes(self) -> Mapping[Node, tuple[Node, ...]]:
        """Every node's direct causes (the sources of the edges into it), built once from the edge arrays."""
        found = self._cache.get("causes")
        if found is None:
            numbered: dict[int, list[int]] = defaultdict(list)
            for u, v in zip(self._edges.src, self._edges.dst, strict=True):
                numbered[v].append(u)
            node = self._nodes.node
            found = self._cache["causes"] = {
                node(v): tuple(node(u) for u in dict.fromkeys(us)) for v, us in numbered.items()
            }
        return found

    @property
    def graph(self) -> nx.DiGraph:
        """The happens-before graph as a networkx DiGraph (built on first use): `kind` and `kinds` on each edge."""
        graph = self._cache.get("graph")
        if graph is None:
            graph = self._cache["graph"] = _as_networkx(self._nodes, self._edges)
        return graph

    def happens_before(self, a: Node | Event | Packet, b: Node | Event | Packet) -> bool:
        """True when the graph says `a` must come before `b` (a path from a to b)."""
        u, v = self._nodes.of(as_node(a)), self._nodes.of(as_node(b))
        return u is not None and v is not None and u != v and _reaches(self._edges, u, v, self._nodes.count)


def as_node(item: Node | Event | Packet) -> Node:
    if isinstance(item, Event):
        return item.key
    if isinstance(item, Packet):
        return PacketNode(item.index)
    return item


def _as_networkx(nodes: _Nodes, edges: _Edges) -> nx.DiGraph:
    import networkx as nx

    graph = nx.DiGraph()
    graph.add_nodes_from(nodes.node(i) for i in range(nodes.count))
    for u, v, code in zip(edges.src, edges.dst, edges.kind, strict=True):
        a, b, kind = nodes.node(u), nodes.node(v), EDGE_KINDS[code]
        if graph.has_edge(a, b):
            data = graph.edges[a, b]
            if kind not in data["kinds"]:
                data["kinds"] = (*data["kinds"], kind)
                data["kind"] = min(data["kinds"], key=EDGE_KINDS.index)
        else:
            graph.add_edge(a, b, kind=kind, kinds=(kind,))
    return graph


def _describe_cycle(linked: LinkedTrace, graph: nx.DiGraph, cycle: Iterable[tuple[Node, Node]]) -> str:
    steps, kinds = [], []
    for u, v in cycle:
        if isinstance(u, EventKey):
            e = linked.trace.event(u)
            where = linked.describe(e)
            steps.append(f"{u} {e.call}" + (f" ({where})" if where else ""))
        else:
            steps.append(str(u))
        kinds.append(graph.edges[u, v]["kind"])
    text = steps[0]
    for kind, step in zip(kinds, [*steps[1:], steps[0]], strict=True):
        text += f" -{kind}-> {step}"
    return text


@last_result
def order(linked: LinkedTrace) -> OrderedTrace:
    """Order every event and packet by the happens-before graph, then by when each took effect.

    Raises OrderError naming the cycle when the links contradict each other. Ordering the same
    linked trace object again returns the same result.
    """
    with gc_paused():
        nodes = _Nodes(linked.trace)
        edges = _edges_of(nodes, linked)
        sequence = _topological(nodes.count, edges, nodes.rank())
    if sequence is None:  # only now look for the cycle, to name it
        import networkx as nx

        graph = _as_networkx(nodes, edges)
        cycle = nx.find_cycle(graph)
        raise OrderError(
            "the happens-before graph has a cycle, so some link pairs calls that cannot be "
            f"causally related: {_describe_cycle(linked, graph, cycle)}"
        )
    with gc_paused():
        return OrderedTrace(linked, tuple(map(nodes.all_nodes().__getitem__, sequence)), nodes, edges, sequence)


def analyse(trace: Trace) -> OrderedTrace:
    """The trace linked and ordered: the derived view every consumer reads (render, summary, compare).

    Computed once per trace object: `link` and `order` keep their last result, so the timeline, the
    summary and the diagrams of one run share one linking and one ordering.
    """
    return order(link(trace))


def nodes_in_order(ordered: OrderedTrace) -> Iterator[Event | Packet]:
    """The events and packets of an ordered trace, in order."""
    items: list[Event | Packet] = [*ordered._nodes.events, *ordered._nodes.packets]  # by node number
    return map(items.__getitem__, ordered._sequence)


__all__ = [
    "EDGE_KINDS",
    "PLACED_AT_RETURN",
    "EdgeKind",
    "Node",
    "OrderError",
    "OrderedTrace",
    "PacketNode",
    "analyse",
    "as_node",
    "effect_time",
    "nodes_in_order",
    "order",
]
