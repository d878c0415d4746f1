"""Steps: what gets a row, in `ipctrace.order`'s topological order (a receive never above its send).

A `Step` is a row to be: a call, the entry of a call that waited, merged
printed output, a packet, a lane's head or exit. Folding and the item builder
read these; nothing here knows about positions.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from ipctrace.calls import BLOCKING, PROGRAM_STREAMS
from ipctrace.link import Channel, LinkedTrace
from ipctrace.model import RECV_CALLS, SEND_CALLS, Event, EventKey, Packet, TcpFlags
from ipctrace.order import Node, OrderedTrace, PacketNode
from ipctrace.render.base import RenderOptions
from ipctrace.render.layout.lanes import Lanes, _packet_lanes

OUTPUT_CALLS = PROGRAM_STREAMS
#: Calls that can wait for another process; their wait is drawn as an activation bar.
BLOCKING_CALLS = BLOCKING
SLOW_NANOS = 1_000_000  # any call slower than this (a send into a full buffer) gets a bar too


@dataclass(frozen=True)
class Step:
    """One row to be: a call, the entry of a blocking call, printed output, a packet, a lane's head or end."""

    kind: str  # head, call, enter, output, exit, packet
    lane: str
    keys: tuple[Node, ...]
    sig: tuple[object, ...]
    time: int = 0


def _channel_of(linked: LinkedTrace, key: EventKey) -> Channel | None:
    flows = linked.flows_of(key)
    if flows:
        return linked.channel(flows[0].channel)
    return None


def _packet_shown(packet: Packet, mode: str) -> bool:
    if mode == "none":
        return False
    if mode == "all" or packet.proto != "tcp":
        return True
    return bool(packet.payload) or bool(packet.flags & (TcpFlags.SYN | TcpFlags.FIN | TcpFlags.RST))


def _done(event: Event) -> int:
    return event.t1 if event.t1 is not None else event.t0


def build_steps(ordered: OrderedTrace, lanes: Lanes, options: RenderOptions) -> list[Step]:
    """The rows to draw, in the topological order: blocking calls get an entry row, printed lines merge."""
    trace, linked = ordered.trace, ordered.linked
    events = {e.key: e for e in trace.events}
    packets = {p.index: p for p in trace.packets}
    forked = {e.result for e in trace.events if e.call == "fork" and not e.failed and isinstance(e.result, int)}
    steps: list[Step] = []
    for node in ordered.order:
        if isinstance(node, PacketNode):
            if options.view != "packets" or node.index not in packets:
                continue
            packet = packets[node.index]
            ends = _packet_lanes(packet, lanes)
            if ends is None or not _packet_shown(packet, options.packets):
                continue
            plink = linked.packet_link(node.index)
            role = plink.role if plink is not None else packet.flags.letters
            sig = ("packet", ends[0], ends[1], role, packet.flags, packet.length.bit_length())
            steps.append(Step("packet", ends[0], (node,), sig, packet.ts))
            continue
        event = events[node]
        lane = lanes.of_pid.get(event.pid)
        if lane is None:
            continue
        if event.call == "start":
            if event.pid in forked and event.args.get("how") == "fork":
                continue  # the child's head is drawn at its parent's fork()
            steps.append(Step("head", lane, (node,), ("head", lane), _done(event)))
        elif trace.stream_of(event) is not None:  # the program's own input and output: notes
            last = steps[-1] if steps else None
            if last is not None and last.kind == "output" and last.lane == lane:
                steps[-1] = Step("output", lane, (*last.keys, node), last.sig, last.time)
            else:
                steps.append(Step("output", lane, (node,), ("output", lane), _done(event)))
        elif event.call == "exit":
            steps.append(Step("exit", lane, (node,), ("exit", lane), _done(event)))
        else:
            ch = _channel_of(linked, node)
            where = ch.group if ch is not None else (event.endpoint.kind if event.endpoint else "")
            direction = "out" if event.call in SEND_CALLS else "in" if event.call in RECV_CALLS else ""
            size = (event.size or 0).bit_length() if direction else 0  # a 4-byte DONE is not a 1 KiB chunk
            sig = ("call", lane, event.call, where, direction, size, event.error or "", event.blocked)
            steps.append(Step("call", lane, (node,), sig, _done(event)))
    return _insert_entries(steps, events)


def _insert_entries(steps: list[Step], events: Mapping[EventKey, Event]) -> list[Step]:
    """Give each call that waited an entry row at the moment it was called, so its wait is a bar."""
    head_at: dict[str, int] = {}
    insert_before: dict[int, list[Step]] = defaultdict(list)
    moved: set[int] = set()
    for i, step in enumerate(steps):
        if step.kind == "head":
            head_at[step.lane] = i
        if step.kind != "call":
            continue
        event = events[step.keys[0]]  # type: ignore[index]
        if event.blocked or event.t1 is None:
            # never returned: draw it where it was called, its bar open to the end
            j = i
            floor = head_at.get(step.lane, -1)
            while j - 1 > floor and steps[j - 1].lane != step.lane and steps[j - 1].time > event.t0:
                j -= 1
            if j < i:
                insert_before[j].append(step)
                moved.add(i)
            continue
        slow = event.t1 - event.t0 >= SLOW_NANOS
        if event.call not in BLOCKING_CALLS and not slow:
            continue
        j = i
        floor = head_at.get(step.lane, -1)
        while j - 1 > floor and steps[j - 1].lane != step.lane and steps[j - 1].time > event.t0:
            j -= 1
        if j < i or event.call == "sleep":
            insert_before[j].append(Step("enter", step.lane, step.keys, ("enter", *step.sig[1:]), event.t0))
    out: list[Step] = []
    for i, step in enumerate(steps):
        out.extend(insert_before.get(i, ()))
        if i not in moved:
            out.append(step)
    return out
