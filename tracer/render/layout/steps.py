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
    lane_last: dict[LaneId, int] = {}  # each lane's last row so far
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
                lane_last[lane] = len(steps) - 1
        elif trace.stream_of(event) is not None:  # the program's own input and output: notes
            at = len(steps) - 1
            if not (event.data or b"").strip() and lane in lane_last:
                # print()'s own newline, written apart: it joins its line even when another lane's row came between
                at = lane_last[lane]
            last = steps[at] if steps else None
            if last is not None and last.kind is RowKind.OUTPUT and last.lane == lane:
                steps[at] = Step(RowKind.OUTPUT, lane, (*last.keys, node), last.sig, last.time)
            else:
                steps.append(Step(RowKind.OUTPUT, lane, (node,), ("output", lane), _done(event)))
                lane_last[lane] = len(steps) - 1
        else:
            steps.append(_event_step(event, node, lane, linked))
            lane_last[lane] = len(steps) - 1
    steps = _pull_receives(steps, ordered)
    waits_for_wire = _connects_answered(ordered, steps) if options.view is View.PACKETS else {}
    return _insert_entries(_move_connects(steps, waits_for_wire), trace, set(waits_for_wire), lanes)


_PULLED = frozenset({RowKind.CALL, RowKind.OUTPUT, RowKind.EXIT})


def _pull_receives(steps: list[Step], ordered: OrderedTrace) -> list[Step]:
    """Each call as early as causality and its own lane allow: a receive right after what it waited for.

    Any topological order is true to the trace; this one keeps a message's two ends close, so arrows
    are short and never cross the labels of later sends (five datagrams sent before the first is read).
    Steps are walked in the graph's order; a call's new place is just after the latest place of
    anything it happens after (its own lane's previous step included). A lane's head and the packets
    keep their places: nothing records why a program started when it did. Only receives move above
    what another lane did earlier in real time (that is what keeps a message short); any other call,
    output or exit stays below it, so a parent's `exit` after `sleep(3)` is never drawn before the
    child's read of 8 µs.
    """
    earlier = _previous_earlier(steps)
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
            if not (step.kind is RowKind.CALL and step.sig[4] == "in") and (j := earlier[own]) >= 0:
                at_j = place[j]
                base = max(base, float(j) if at_j is None else at_j)
            if base < own - 1:  # among steps pulled to the same place, receives first: messages stay short
                tier = 0.0 if step.kind is RowKind.CALL and step.sig[4] == "in" else 0.5
                place[own] = base + (tier + (own + 1) / (2 * (n + 1))) * 1e-4
        lane_last[step.lane] = place[own] or 0.0
    keys = [p if p is not None else float(i) for i, p in enumerate(place)]
    return [steps[i] for i in sorted(range(n), key=keys.__getitem__)]


def _previous_earlier(steps: Sequence[Step]) -> list[int]:
    """For each step, the last step before it in the list that ended earlier in real time (-1: none).

    The previous-smaller-element scan with a stack: linear in the number of steps.
    """
    found = [-1] * len(steps)
    stack: list[int] = []
    for i, step in enumerate(steps):
        while stack and steps[stack[-1]].time >= step.time:
            stack.pop()
        found[i] = stack[-1] if stack else -1
        stack.append(i)
    return found


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


def _connects_answered(ordered: OrderedTrace, steps: Sequence[Step]) -> dict[EventKey, tuple[PacketNode, PacketNode]]:
    """Each connect whose SYN was captured → (its SYN, the SYN-ACK it waited for), both drawn as rows."""
    linked = ordered.linked
    drawn = {s.keys[0] for s in steps if s.kind is RowKind.PACKET}
    syn_of: dict[int, EventKey] = {}
    for plink in linked.packet_links:
        if plink.role == "syn":
            for cause in plink.causes:
                syn_of[plink.packet] = cause
    answered: dict[EventKey, tuple[PacketNode, PacketNode]] = {}
    for plink in linked.packet_links:
        if plink.role != "syn-ack" or PacketNode(plink.packet) not in drawn:
            continue
        for syn in plink.follows:
            if syn in syn_of and PacketNode(syn) in drawn:
                answered[syn_of[syn]] = (PacketNode(syn), PacketNode(plink.packet))
    return answered


def _move_connect(steps: list[Step], connect: EventKey, syn: PacketNode, syn_ack: PacketNode) -> list[Step]:
    """A connect is entered where it was called and returns right after the SYN-ACK it waited for.

    When the process did more before the SYN-ACK was captured (a fork right after connect returned),
    the SYN-ACK moves up to just after its SYN instead, so the process's own calls keep their order.
    """
    where = {s.keys[0]: i for i, s in enumerate(steps) if s.kind in (RowKind.CALL, RowKind.PACKET)}
    i_c, i_syn, i_sa = where.get(connect), where.get(syn), where.get(syn_ack)
    if i_c is None or i_syn is None or i_sa is None or not i_c < i_syn < i_sa:
        return steps
    call = steps[i_c]
    enter = Step(RowKind.ENTER, call.lane, call.keys, ("enter", *call.sig[1:]), call.time)
    busy = [j for j in range(i_c + 1, i_sa) if steps[j].lane == call.lane]
    if not busy:
        return [*steps[:i_c], enter, *steps[i_c + 1 : i_sa + 1], call, *steps[i_sa + 1 :]]
    if busy[0] < i_syn:
        return steps  # the process went on before its SYN was even seen: leave connect as one call
    answer = steps[i_sa]
    rest = [s for j, s in enumerate(steps[i_syn + 1 :], start=i_syn + 1) if j != i_sa]
    return [*steps[:i_c], enter, *steps[i_c + 1 : i_syn + 1], answer, call, *rest]


def _move_connects(steps: list[Step], answered: Mapping[EventKey, tuple[PacketNode, PacketNode]]) -> list[Step]:
    """Packets view: every connect whose handshake is drawn waits, as a bar, for its SYN-ACK."""
    for connect, (syn, syn_ack) in answered.items():
        steps = _move_connect(steps, connect, syn, syn_ack)
    return steps


def _entry_position(steps: Sequence[Step], i: int, t0: int, floor: int) -> int:
    """How far up a call's entry goes: above the other lanes' rows that happened after it was called."""
    j = i
    lane = steps[i].lane
    while j - 1 > floor and steps[j - 1].lane != lane and steps[j - 1].time > t0:
        j -= 1
    return j


def _insert_entries(steps: list[Step], trace: Trace, already: set[EventKey], lanes: Lanes) -> list[Step]:
    """Give each call that waited an entry row at the moment it was called, so its wait is a bar.

    No entry goes above its lane's head, and a forked child's head is its parent's fork: a child that
    called read before the parent's fork() returned still begins below the fork.
    """
    head_at: dict[LaneId, int] = {}
    insert_before: dict[int, list[Step]] = defaultdict(list)
    moved: set[int] = set()
    for i, step in enumerate(steps):
        if step.kind is RowKind.HEAD:
            head_at[step.lane] = i
        if step.kind is not RowKind.CALL or step.keys[0] in already:
            continue
        event = trace.event(step.keys[0])  # type: ignore[arg-type]
        if event.call is Call.FORK and isinstance(event.result, int) and (child := lanes.of_pid.get(event.result)):
            head_at[child] = i
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
