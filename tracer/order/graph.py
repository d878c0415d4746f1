"""The happens-before graph of a linked trace, as arrays of node numbers, and its topological order.

The nodes are the trace's events, in trace order, then its packets, in capture
order; the edges are causes (program order, fork, spawn, data, packets,
connect, wait, EOF), each with the kind that explains it. The order is a
topological order of this DAG. Where the graph leaves two nodes unordered (a
link is missing, or there is none), real time decides: events and packets
share one clock, and each node is placed by the moment it can have taken
effect — a send, connect or close by its entry (its bytes left then), a
receive, accept, wait or sleep by its return (what it waited for happened
before), a packet by its capture time. So whenever one call returned before
another began, or a packet was seen before a call began (or after it
returned), the order says so even without a link, and an unlinked receive
never comes before the send it got its bytes from, nor a segment before the
connect that opened its connection.

Everything is kept as arrays of node numbers, so ordering a million events
takes seconds and little memory; `ipctrace.order` turns the numbers back into
events and packets for its readers.
"""

from __future__ import annotations

import heapq
import itertools
import operator
from array import array
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ipctrace.calls import BLOCKING, CONNECTS, PROGRAM_STREAMS, Call
from ipctrace.link import LinkedTrace
from ipctrace.model import Event, EventKey, Nanos, Pid, Trace
from ipctrace.perf import sorted_by_first


class EdgeKind(StrEnum):
    """Why one node comes before another, most telling first."""

    DATA = "data"
    PACKET = "packet"
    EOF = "eof"
    CONNECT = "connect"  # connect → the accept that took it: orders a connection even without packets
    FORK = "fork"
    SPAWN = "spawn"
    WAIT = "wait"
    PROGRAM = "program"


#: Edge kinds, most telling first. A graph edge stores all its kinds in `kinds` and the most telling in
#: `kind` (a write read back by the next call of the same process is a `data` edge, not `program`).
EDGE_KINDS = tuple(EdgeKind)
_KIND_CODE = {kind: i for i, kind in enumerate(EDGE_KINDS)}

#: Calls placed by their return: what they wait for happened before they returned.
PLACED_AT_RETURN = (BLOCKING - CONNECTS) | (PROGRAM_STREAMS - {Call.STDOUT, Call.STDERR})


@dataclass(frozen=True, slots=True, order=True)
class PacketNode:
    """A captured packet as a graph node (`Packet.index`), distinct from any event."""

    index: int

    def __str__(self) -> str:
        return f"packet#{self.index}"


Node = EventKey | PacketNode


def effect_time(event: Event) -> Nanos:
    """When a call can have taken effect, for placing it where no link decides (see the module's docstring)."""
    if event.t1 is not None and event.call in PLACED_AT_RETURN:
        return event.t1
    return event.t0


# -- the graph, as arrays of node numbers ---------------------------------------------------------


class _Nodes:
    """Node numbers: the trace's events in trace order, then its packets in capture order."""

    def __init__(self, trace: Trace) -> None:
        self.events = trace.events
        self.packets = tuple(sorted(trace.packets, key=lambda p: p.index))
        self.count = len(self.events) + len(self.packets)
        #: Each thread's node numbers in program order, and each process's (its threads merged, by seq).
        self.threads = _threads(self.events)
        self.by_pid = _by_pid(self.events, self.threads)
        # Node numbers by (pid, seq): an array per process whose seqs are one after another (one machine
        # word an event, the usual case), a dict for a process whose seqs are not (a later event wins).
        self.dense: dict[Pid, tuple[int, array[int]]] = {}
        self.sparse: dict[Pid, dict[int, int]] = {}
        events = self.events
        for pid, nums in self.by_pid.items():
            seqs = [events[i].seq for i in nums]  # in order: one after another when they span no more
            if seqs[-1] - seqs[0] == len(seqs) - 1:
                self.dense[pid] = (seqs[0], array("q", nums))
            else:
                self.sparse[pid] = {events[i].seq: i for i in sorted(nums)}
        base = len(self.events)
        self.by_packet = {p.index: base + i for i, p in enumerate(self.packets)}

    def of(self, node: Node) -> int | None:
        if isinstance(node, PacketNode):
            return self.by_packet.get(node.index)
        dense = self.dense.get(node.pid)
        if dense is not None:
            k = node.seq - dense[0]
            return dense[1][k] if 0 <= k < len(dense[1]) else None
        return self.sparse.get(node.pid, {}).get(node.seq)

    def node(self, i: int) -> Node:
        if i < len(self.events):
            return self.events[i].key
        return PacketNode(self.packets[i - len(self.events)].index)

    def rank(self) -> list[int]:
        """Node numbers by when each took effect; at one moment events before packets, by (pid, seq) or index.

        Sorted by the moment alone, then each run of nodes of one moment by the whole key (few
        nodes share a nanosecond): no tuple made per node.
        """
        at_return = PLACED_AT_RETURN  # `effect_time`, inline: it runs once a node
        times = [e.t1 if e.t1 is not None and e.call in at_return else e.t0 for e in self.events]
        times.extend(p.ts for p in self.packets)
        events, packets, n = self.events, self.packets, len(self.events)

        def whole(i: int) -> tuple[Nanos, int, int, int]:
            if i < n:
                return (times[i], 0, events[i].pid, events[i].seq)
            return (times[i], 1, 0, packets[i - n].index)

        return sorted_by_first(range(self.count), times.__getitem__, whole)

    def all_nodes(self) -> list[Node]:
        """Every node, by number."""
        nodes: list[Node] = [e.key for e in self.events]
        nodes.extend(PacketNode(p.index) for p in self.packets)
        return nodes


class _Edges:
    """Edges as three parallel arrays (from, to, kind code); duplicates allowed, self-loops dropped."""

    def __init__(self) -> None:
        self.src = array("q")
        self.dst = array("q")
        self.kind = array("B")

    def add(self, u: int | None, v: int | None, kind: EdgeKind) -> None:
        if u is None or v is None or u == v:
            return
        self.src.append(u)
        self.dst.append(v)
        self.kind.append(_KIND_CODE[kind])

    def chain(self, nums: Sequence[int], kind: EdgeKind) -> None:
        """An edge from each of `nums` to the next (distinct node numbers), added in C."""
        if len(nums) > 1:
            self.src.extend(nums[:-1])
            self.dst.extend(nums[1:])
            self.kind.extend(itertools.repeat(_KIND_CODE[kind], len(nums) - 1))

    def __len__(self) -> int:
        return len(self.src)


_THREAD_OF = operator.attrgetter("pid", "tid")


def _in_seq_order(events: Sequence[Event], nums: list[int]) -> None:
    """Sort node numbers by their events' seq, unless they are in that order already."""
    seqs = [events[i].seq for i in nums]
    if any(map(operator.gt, seqs, itertools.islice(seqs, 1, None))):
        nums.sort(key=lambda i: events[i].seq)


def _threads(events: Sequence[Event]) -> dict[tuple[Pid, int], list[int]]:
    """Node numbers of each thread's events, in program order."""
    threads: dict[tuple[Pid, int], list[int]] = defaultdict(list)
    for i, thread in enumerate(map(_THREAD_OF, events)):
        threads[thread].append(i)
    for nums in threads.values():
        _in_seq_order(events, nums)
    return threads


def _by_pid(events: Sequence[Event], threads: Mapping[tuple[Pid, int], list[int]]) -> dict[Pid, list[int]]:
    """Node numbers of each process's events, its threads merged, in seq order."""
    by_pid: dict[Pid, list[int]] = defaultdict(list)
    for (pid, _tid), nums in threads.items():
        by_pid[pid].extend(nums)
    for nums in by_pid.values():
        _in_seq_order(events, nums)
    return by_pid


_CALL, _REAPED = operator.attrgetter("call"), operator.attrgetter("reaped")


def _numbers_of(events: Sequence[Event], field: Callable[[Event], Any], value: Any, same: bool) -> Iterator[int]:
    """The node numbers of the events whose `field` is `value` (`same`) or is not (looked at in C)."""
    test = operator.is_ if same else operator.is_not
    return itertools.compress(itertools.count(), map(test, map(field, events), itertools.repeat(value)))


def _program_edges(nodes: _Nodes, edges: _Edges) -> dict[Pid, list[int]]:
    """Consecutive events of each thread; a thread's first event after its process's first."""
    events = nodes.events
    threads = nodes.threads
    first: dict[Pid, int] = {}
    for (pid, _tid), nums in threads.items():
        if pid not in first or events[nums[0]].seq < events[first[pid]].seq:
            first[pid] = nums[0]
    for (pid, _tid), nums in threads.items():
        if nums[0] != first[pid]:
            edges.add(first[pid], nums[0], EdgeKind.PROGRAM)
        edges.chain(nums, EdgeKind.PROGRAM)
    return nodes.by_pid


def _process_edges(nodes: _Nodes, by_pid: Mapping[Pid, list[int]], edges: _Edges) -> None:
    """fork → child's start, parent → a Python child it started, child's end → the wait that reaped it."""
    events = nodes.events
    forks = {
        e.result: i
        for i in _numbers_of(events, _CALL, Call.FORK, same=True)
        if not (e := events[i]).failed and isinstance(e.result, int) and e.result > 0
    }
    returned: dict[Pid, tuple[list[Nanos], list[int]]] = {}
    for pid, nums in by_pid.items():
        start = events[nums[0]]
        if pid in forks:
            edges.add(forks[pid], nums[0], EdgeKind.FORK)
        elif start.call is Call.START and start.ppid in by_pid:
            if start.ppid not in returned:
                done = [i for i in by_pid[start.ppid] if events[i].t1 is not None]
                returned[start.ppid] = ([events[i].t1 or 0 for i in done], done)
            times, nums_done = returned[start.ppid]
            k = bisect_right(times, start.t0)  # the parent's last call that returned before the child began
            if k:
                edges.add(nums_done[k - 1], nums[0], EdgeKind.SPAWN)
    for i in _numbers_of(events, _REAPED, None, same=False):
        e = events[i]
        if e.reaped is not None and not e.failed and e.reaped.pid in by_pid:
            edges.add(by_pid[e.reaped.pid][-1], i, EdgeKind.WAIT)


def _link_edges(nodes: _Nodes, linked: LinkedTrace, edges: _Edges) -> None:
    """Sends → receives, connect → accept, calls → packets → calls, releases → EOF reads."""
    of = nodes.of
    for conn in linked.connections:
        if conn.connect is not None and conn.accept is not None:
            edges.add(of(conn.connect), of(conn.accept), EdgeKind.CONNECT)
    dense, src, dst, kinds, data = nodes.dense, edges.src, edges.dst, edges.kind, _KIND_CODE[EdgeKind.DATA]
    for flow in linked.flows:  # about one a receive: `of` and `add` inline for the usual (dense) case
        send, recv = flow.send, flow.recv
        if send is None or recv is None:
            continue
        ds, dr = dense.get(send.pid), dense.get(recv.pid)
        if ds is None or dr is None:
            edges.add(of(send), of(recv), EdgeKind.DATA)
            continue
        u, v = send.seq - ds[0], recv.seq - dr[0]
        if 0 <= u < len(ds[1]) and 0 <= v < len(dr[1]):
            u, v = ds[1][u], dr[1][v]
            if u != v:
                src.append(u)
                dst.append(v)
                kinds.append(data)
    for plink in linked.packet_links:
        node = nodes.by_packet.get(plink.packet)
        for cause in plink.causes:
            edges.add(of(cause), node, EdgeKind.PACKET)
        for effect in plink.effects:
            edges.add(node, of(effect), EdgeKind.PACKET)
        for earlier in plink.follows:
            edges.add(nodes.by_packet.get(earlier), node, EdgeKind.PACKET)
    for eof in linked.eofs:
        edges.add(of(eof.release), of(eof.read), EdgeKind.EOF)


def _edges_of(nodes: _Nodes, linked: LinkedTrace) -> _Edges:
    edges = _Edges()
    by_pid = _program_edges(nodes, edges)
    _process_edges(nodes, by_pid, edges)
    _link_edges(nodes, linked, edges)
    return edges


def _topological(count: int, edges: _Edges, rank: list[int]) -> list[int] | None:
    """Kahn's algorithm, always taking the ready node first in `rank`; None when there is a cycle.

    When every edge already goes from a node earlier in `rank` to a later one (the usual case: the
    rank is by the moments calls took effect, and causes take effect first), Kahn's algorithm would
    take the nodes in rank order, so that order is the answer, found by one look at each edge in C.
    """
    position = array("q", bytes(8 * count))
    for pos, i in enumerate(rank):
        position[i] = pos
    at = position.__getitem__
    if all(map(operator.lt, map(at, edges.src), map(at, edges.dst))):
        return rank
    indegree = array("q", bytes(8 * count))
    starts = array("q", bytes(8 * (count + 1)))  # successors of i: targets[starts[i]:starts[i + 1]]
    for u, v in zip(edges.src, edges.dst, strict=True):
        indegree[v] += 1
        starts[u + 1] += 1
    for i in range(count):
        starts[i + 1] += starts[i]
    fill = array("q", starts)
    targets = array("q", bytes(8 * len(edges)))
    for u, v in zip(edges.src, edges.dst, strict=True):
        targets[fill[u]] = v
        fill[u] += 1
    ready = [position[i] for i in range(count) if indegree[i] == 0]
    heapq.heapify(ready)
    out: list[int] = []
    pop, push = heapq.heappop, heapq.heappush
    while ready:
        u = rank[pop(ready)]
        out.append(u)
        for j in range(starts[u], starts[u + 1]):
            v = targets[j]
            indegree[v] -= 1
            if indegree[v] == 0:
                push(ready, position[v])
    return out if len(out) == count else None


def _reaches(edges: _Edges, u: int, v: int, count: int) -> bool:
    succ: dict[int, list[int]] = defaultdict(list)
    for a, b in zip(edges.src, edges.dst, strict=True):
        succ[a].append(b)
    seen, stack = {u}, [u]
    while stack:
        for w in succ.get(stack.pop(), ()):
            if w == v:
                return True
            if w not in seen:
                seen.add(w)
                stack.append(w)
    return False
