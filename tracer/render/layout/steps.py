"""Steps: what gets a row, in `ipctrace.order`'s topological order (a receive never above its send).

A `Step` is a row to be: a call, the entry of a call that waited, merged
printed output, a packet, a lane's head or exit. Folding and the item builder
read these; nothing here knows about positions.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ipctrace.calls import BLOCKING, RECEIVES, SENDS, Call
from ipctrace.link import LinkedTrace
from ipctrace.model import Event, EventKey, Packet, TcpFlags, Trace
from ipctrace.order import Node, OrderedTrace, PacketNode
from ipctrace.render.layout.lanes import Lanes
from ipctrace.render.layout.model import LaneId, RowKind
from ipctrace.render.options import PacketMode, RenderOptions, View

SLOW_NANOS = 1_000_000  # any call slower than this (a send into a full buffer) gets a bar too


@dataclass(frozen=True, slots=True)
class Step:
    """One row to be: a call, the entry of a blocking call, printed output, a packet, a lane's head or end."""

    kind: RowKind
    lane: LaneId
    keys: tuple[Node, ...]
    sig: tuple[object, ...]  # what folding compares: equal signatures are the same kind of step
    time: int = 0


def _done(event: Event) -> int:
    return event.t1 if event.t1 is not None else event.t0


def packet_shown(packet: Packet, mode: PacketMode, linked: LinkedTrace) -> bool:
    """`data` drops pure ACKs, except the handshake's last one and the ACK of a FIN: both stay whole."""
    if mode is PacketMode.NONE:
        return False
    if mode is PacketMode.ALL or packet.proto != "tcp":
        return True
    if packet.payload or packet.flags & (TcpFlags.SYN | TcpFlags.FIN | TcpFlags.RST):
        return True
    plink = linked.packet_link(packet.index)
    for earlier in plink.follows if plink is not None else ():
        answered = linked.packet_link(earlier)
        if answered is not None and answered.role in ("syn-ack", "fin"):
            return True
    return False


def _packet_index(trace: Trace) -> dict[int, Packet]:
    return {p.index: p for p in trace.packets}


def _event_step(event: Event, node: EventKey, lane: LaneId, linked: LinkedTrace) -> Step:
    if event.call is Call.EXIT:
        return Step(RowKind.EXIT, lane, (node,), ("exit", lane), _done(event))
    flows = linked.flows_of(node)
    ch = linked.channel(flows[0].channel) if flows else None
    where = ch.group if ch is not None else (event.endpoint.kind if event.endpoint else "")
    direction = "out" if event.call in SENDS else "in" if event.call in RECEIVES else ""
    size = (event.size or 0).bit_length() if direction else 0  # a 4-byte DONE is not a 1 KiB chunk
    sig = ("call", lane, event.call, where, direction, size, event.error or "", event.blocked)
    return Step(RowKind.CALL, lane, (node,), sig, _done(event))


def build_steps(ordered: OrderedTrace, lanes: Lanes, options: RenderOptions) -> list[Step]:
    """The rows to draw, in the topological order: blocking calls get an entry row, printed lines merge."""
    trace, linked = ordered.trace, ordered.linked
    packets = _packet_index(trace)
    forked = {e.result for e in trace.events if e.call is Call.FORK and not e.failed and isinstance(e.result, int)}
    steps: list[Step] = []
    for node in ordered.order:
        if isinstance(node, PacketNode):
            if options.view is View.PACKETS and node.index in packets:
                step = _packet_step_of(packets[node.index], node, ordered, lanes, options.packets)
                if step is not None:
                    steps.append(step)
            continue
        event = trace.event(node)
        lane = lanes.of_pid.get(event.pid)
        if lane is None:
            continue
        if event.call is Call.START:
            if event.pid not in forked or event.args.get("how") != "fork":  # a child's head is at its parent's fork
                steps.append(Step(RowKind.HEAD, lane, (node,), ("head", lane), _done(event)))
        elif trace.stream_of(event) is not None:  # the program's own input and output: notes
            last = steps[-1] if steps else None
            if last is not None and last.kind is RowKind.OUTPUT and last.lane == lane:
                steps[-1] = Step(RowKind.OUTPUT, lane, (*last.keys, node), last.sig, last.time)
            else:
                steps.append(Step(RowKind.OUTPUT, lane, (node,), ("output", lane), _done(event)))
        else:
            steps.append(_event_step(event, node, lane, linked))
    steps = _pull_receives(steps, ordered)
    waits_for_wire = _connects_answered(ordered, steps) if options.view is View.PACKETS else {}
    return _insert_entries(_move_connects(steps, waits_for_wire), trace, set(waits_for_wire))


_PULLED = frozenset({RowKind.CALL, RowKind.OUTPUT, RowKind.EXIT})


def _pull_receives(steps: list[Step], ordered: OrderedTrace) -> list[Step]:
    """Each call as early as causality and its own lane allow: a receive right after what it waited for.

    Any topological order is true to the trace; this one keeps a message's two ends close, so arrows
    are short and never cross the labels of later sends (five datagrams sent before the first is read).
    Steps are walked in the graph's order; a call's new place is just after the latest place of
    anything it happens after (its own lane's previous step included). A lane's head and the packets
    keep their places: nothing records why a program started when it did.
    """
    step_of: dict[Node, int] = {}
    for i, step in enumerate(steps):
        for key in step.keys:
            step_of[key] = i
    n = len(steps)
    place: list[float | None] = [None] * n
    floor: dict[Node, float] = {}
    lane_last: dict[LaneId, float] = {}
    causes = ordered.causes()
    for node in ordered.order:
        own = step_of.get(node)
        best = -1.0
        for pred in causes.get(node, ()):
            at = step_of.get(pred)
            placed = place[at] if at is not None and at != own else None
            best = max(best, placed if placed is not None else floor.get(pred, -1.0))
        floor[node] = best
        if own is None or place[own] is not None:
            continue
        step = steps[own]
        place[own] = float(own)
        if step.kind in _PULLED and not (step.kind is RowKind.CALL and step.sig[4] == "out"):  # sends wait their turn
            base = max(best, lane_last.get(step.lane, -1.0))
            if base < own - 1:  # among steps pulled to the same place, receives first: messages stay short
                tier = 0.0 if step.kind is RowKind.CALL and step.sig[4] == "in" else 0.5
                place[own] = base + (tier + (own + 1) / (2 * (n + 1))) * 1e-4
        lane_last[step.lane] = place[own] or 0.0
    keys = [p if p is not None else float(i) for i, p in enumerate(place)]
    return [steps[i] for i in sorted(range(n), key=keys.__getitem__)]


def _packet_step_of(
    packet: Packet, node: PacketNode, ordered: OrderedTrace, lanes: Lanes, mode: PacketMode
) -> Step | None:
    ends = lanes.packet_lanes(packet)
    if ends is None or not packet_shown(packet, mode, ordered.linked):
        return None
    plink = ordered.linked.packet_link(node.index)
    role = plink.role if plink is not None else packet.flags.letters
    sig = ("packet", ends[0], ends[1], role, packet.flags, packet.length.bit_length())
    return Step(RowKind.PACKET, ends[0], (node,), sig, packet.ts)


def _connects_answered(ordered: OrderedTrace, steps: Sequence[Step]) -> dict[EventKey, PacketNode]:
    """Each connect whose SYN was captured → the SYN-ACK packet it waited for (drawn as a row)."""
    linked = ordered.linked
    drawn = {s.keys[0] for s in steps if s.kind is RowKind.PACKET}
    syn_of: dict[int, EventKey] = {}
    for plink in linked.packet_links:
        if plink.role == "syn":
            for cause in plink.causes:
                syn_of[plink.packet] = cause
    answered: dict[EventKey, PacketNode] = {}
    for plink in linked.packet_links:
        if plink.role != "syn-ack" or PacketNode(plink.packet) not in drawn:
            continue
        for syn in plink.follows:
            if syn in syn_of:
                answered[syn_of[syn]] = PacketNode(plink.packet)
    return answered


def _move_connects(steps: list[Step], answered: Mapping[EventKey, PacketNode]) -> list[Step]:
    """Packets view: a connect returns after the SYN-ACK it waited for; where it was called, it is entered."""
    if not answered:
        return steps
    after = {packet: key for key, packet in answered.items()}
    moved = {s.keys[0]: s for s in steps if s.kind is RowKind.CALL and s.keys[0] in answered}
    out: list[Step] = []
    for step in steps:
        key = step.keys[0]
        if step.kind is RowKind.CALL and key in moved:
            out.append(Step(RowKind.ENTER, step.lane, step.keys, ("enter", *step.sig[1:]), step.time))
            continue
        out.append(step)
        if isinstance(key, PacketNode) and key in after and after[key] in moved:
            out.append(moved[after[key]])
    return out


def _entry_position(steps: Sequence[Step], i: int, t0: int, floor: int) -> int:
    """How far up a call's entry goes: above the other lanes' rows that happened after it was called."""
    j = i
    lane = steps[i].lane
    while j - 1 > floor and steps[j - 1].lane != lane and steps[j - 1].time > t0:
        j -= 1
    return j


def _insert_entries(steps: list[Step], trace: Trace, already: set[EventKey]) -> list[Step]:
    """Give each call that waited an entry row at the moment it was called, so its wait is a bar."""
    head_at: dict[LaneId, int] = {}
    insert_before: dict[int, list[Step]] = defaultdict(list)
    moved: set[int] = set()
    for i, step in enumerate(steps):
        if step.kind is RowKind.HEAD:
            head_at[step.lane] = i
        if step.kind is not RowKind.CALL or step.keys[0] in already:
            continue
        event = trace.event(step.keys[0])  # type: ignore[arg-type]
        j = _entry_position(steps, i, event.t0, head_at.get(step.lane, -1))
        if event.blocked or event.t1 is None:  # never returned: drawn where it was called, its bar open to the end
            if j < i:
                insert_before[j].append(step)
                moved.add(i)
            continue
        if event.call not in BLOCKING and event.t1 - event.t0 < SLOW_NANOS:
            continue
        if j < i or event.call is Call.SLEEP:
            insert_before[j].append(Step(RowKind.ENTER, step.lane, step.keys, ("enter", *step.sig[1:]), event.t0))
    out: list[Step] = []
    for i, step in enumerate(steps):
        out.extend(insert_before.get(i, ()))
        if i not in moved:
            out.append(step)
    return out
