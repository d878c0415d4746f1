"""A run as a Chrome JSON trace (the Trace Event Format) that Perfetto UI and chrome://tracing open.

For runs too long for a sequence diagram: one track per process and thread
(pid/tid metadata with the lane's name, `server`, `handler for client1`), each
call a complete slice (`ph: X`) from its entry to its return, each message a
flow (`ph: s` inside the sending slice, `ph: f` with `bp: e` inside the
receiving one) so the viewer draws an arrow between them, and the packets on
one track per connection of a "loopback wire" process. Timestamps are
microseconds from the run's start, to the nanosecond; events are written
track by track in time order.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from ipctrace.calls import RECEIVES, SENDS
from ipctrace.link import GroupId
from ipctrace.model import Event, EventKey, Pid
from ipctrace.order import OrderedTrace
from ipctrace.render.base import Parts, Renderer
from ipctrace.render.labels import show_addr, show_call, show_flags, show_text
from ipctrace.render.layout.model import Diagram
from ipctrace.render.layout.roles import process_names
from ipctrace.render.options import Lang, RenderError

#: The wire's process id: above Linux's largest pid (2**22), so it never names a real process.
WIRE_PID = (1 << 22) + 1
CATEGORY_CALL = "call"
CATEGORY_MESSAGE = "message"
CATEGORY_PACKET = "packet"
#: How long a packet's slice lasts on the wire's track: long enough to click, not a real duration.
PACKET_US = 1.0


def _us(nanos: int, start: int) -> float:
    return round((nanos - start) / 1000, 3)


def _metadata(pid: int, tid: int | None, name: str, value: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "ph": "M",
        "name": name,
        "pid": pid,
        "args": {"name": value} if isinstance(value, str) else value,
    }
    if tid is not None:
        event["tid"] = tid
    else:
        event["tid"] = pid
    return event


def _args(event: Event, ordered: OrderedTrace) -> dict[str, Any]:
    args: dict[str, Any] = {"pid": event.pid, "seq": event.seq}
    if event.fd is not None:
        args["fd"] = event.fd
        where = ordered.linked.describe(event)
        if where:
            args["refers to"] = where
    for name, value in event.args.items():
        if name != "cwd":
            args[name] = value if isinstance(value, int | float | str) else str(value)
    if event.error is not None:
        args["error"] = event.error
    elif event.result is not None:
        args["result"] = event.result if isinstance(event.result, int | str) else str(event.result)
    if event.data is not None:
        size = event.size if event.size is not None else len(event.data)
        args["bytes"] = size
        args["data"] = show_text(event.data, 200, complete=size <= len(event.data))
    if event.peer is not None:
        args["peer"] = show_addr(event.peer)
    if event.blocked:
        args["still blocked"] = True
    return args


def _slices(
    ordered: OrderedTrace, start: int, end: int
) -> tuple[list[dict[str, Any]], dict[EventKey, tuple[float, float]]]:
    """Every call as a complete slice; where each one lies (its ts and dur), for the flows."""
    out: list[dict[str, Any]] = []
    where: dict[EventKey, tuple[float, float]] = {}
    for event in ordered.trace.events:
        t1 = event.t1 if event.t1 is not None else max(end, event.t0)
        ts, dur = _us(event.t0, start), round(max(t1 - event.t0, 0) / 1000, 3)
        out.append(
            {
                "ph": "X",
                "cat": CATEGORY_CALL,
                "name": show_call(event) if event.call in SENDS | RECEIVES else str(event.call),
                "pid": event.pid,
                "tid": event.tid,
                "ts": ts,
                "dur": dur,
                "args": _args(event, ordered),
            }
        )
        where[event.key] = (ts, dur)
    return out, where


def _binding(send: tuple[float, float], recv: tuple[float, float]) -> tuple[float, float] | None:
    """Where a flow binds: a moment strictly inside the sending slice and a later one inside the receiving one.

    A receive that waited began before the send; the two moments are then taken where both slices overlap,
    so the arrow never points back in time. None when a slice has no length to bind inside.
    """
    (a0, a_dur), (b0, b_dur) = send, recv
    a1, b1 = a0 + a_dur, b0 + b_dur
    if a_dur <= 0.002 or b_dur <= 0.002:
        return None
    lo, hi = max(a0, b0), min(a1, b1)
    if hi - lo > 0.003:  # overlapping: both inside the overlap, the start first
        return round(lo + (hi - lo) / 3, 3), round(lo + 2 * (hi - lo) / 3, 3)
    start, finish = round(a0 + a_dur / 2, 3), round(b0 + b_dur / 2, 3)
    return (start, finish) if finish >= start else None


def _flows(ordered: OrderedTrace, where: dict[EventKey, tuple[float, float]]) -> list[dict[str, Any]]:
    """Each message (a flow with both ends recorded): a start in the sending slice, a finish in the receiving one."""
    trace = ordered.trace
    out: list[dict[str, Any]] = []
    for n, flow in enumerate(ordered.linked.flows):
        if flow.send is None or flow.recv is None or flow.send == flow.recv:
            continue
        a, b = where.get(flow.send), where.get(flow.recv)
        if a is None or b is None:
            continue
        moments = _binding(a, b)
        if moments is None:
            continue
        ts_a, ts_b = moments
        send, recv = trace.event(flow.send), trace.event(flow.recv)
        name = f"{flow.length} B {flow.channel.group}"
        common = {"cat": CATEGORY_MESSAGE, "name": name, "id": n + 1}
        out.append({"ph": "s", **common, "pid": send.pid, "tid": send.tid, "ts": ts_a})
        out.append({"ph": "f", "bp": "e", **common, "pid": recv.pid, "tid": recv.tid, "ts": ts_b})
    return out


def _wire(ordered: OrderedTrace, start: int) -> tuple[list[dict[str, Any]], dict[int, str]]:
    """The packets, one track per connection (or UDP flow) of the wire process."""
    linked = ordered.linked
    tracks: dict[GroupId | str, int] = {}
    names: dict[int, str] = {}
    out: list[dict[str, Any]] = []
    for packet in sorted(ordered.trace.packets, key=lambda p: (p.ts, p.index)):
        plink = linked.packet_link(packet.index)
        group: GroupId | str = (
            linked.channel(plink.channel).group if plink is not None and plink.channel is not None else "other"
        )
        if group not in tracks:
            tracks[group] = len(tracks) + 1
            names[tracks[group]] = str(group)
        label = show_flags(packet.flags) if packet.proto == "tcp" else "UDP"
        args: dict[str, Any] = {"src": show_addr(packet.src), "dst": show_addr(packet.dst), "len": packet.length}
        if packet.seq is not None:
            args["seq"] = packet.seq
        if packet.ack is not None:
            args["ack"] = packet.ack
        if packet.payload:
            args["data"] = show_text(packet.payload, 200)
        out.append(
            {
                "ph": "X",
                "cat": CATEGORY_PACKET,
                "name": f"{label} {packet.length} B" if packet.length else label,
                "pid": WIRE_PID,
                "tid": tracks[group],
                "ts": _us(packet.ts, start),
                "dur": PACKET_US,
                "args": args,
            }
        )
    _shorten_to_the_next(out)
    return out, names


def _shorten_to_the_next(packets: list[dict[str, Any]]) -> None:
    """A packet's slice ends where the next one on its track starts (two segments can be 0.2 µs apart).

    Slices on one track must nest; two packets closer than PACKET_US would overlap instead.
    """
    last: dict[int, dict[str, Any]] = {}
    for slice_ in packets:  # in time order
        before = last.get(slice_["tid"])
        if before is not None and before["ts"] + before["dur"] > slice_["ts"]:
            before["dur"] = round(max(slice_["ts"] - before["ts"], 0.0), 3)
        last[slice_["tid"]] = slice_


def _names(
    ordered: OrderedTrace, threads: Iterable[tuple[Pid, int]], wire: dict[int, str], lang: Lang
) -> list[dict[str, Any]]:
    trace = ordered.trace
    titles = process_names(trace, ordered.linked, lang, False)
    out: list[dict[str, Any]] = []
    order = {p.pid: i for i, p in enumerate(sorted(trace.processes, key=lambda p: p.start))}
    for proc in trace.processes:
        title = titles[proc.pid].title if proc.pid in titles else proc.role
        out.append(_metadata(proc.pid, None, "process_name", f"{title} ({proc.role})"))
        out.append(_metadata(proc.pid, None, "process_sort_index", {"sort_index": order[proc.pid]}))
    for pid, tid in threads:
        title = titles[pid].title if pid in titles else str(pid)
        out.append(_metadata(pid, tid, "thread_name", title if tid == pid else f"{title} thread {tid}"))
    if wire:
        out.append(_metadata(WIRE_PID, None, "process_name", "loopback wire (lo)"))
        out.append(_metadata(WIRE_PID, None, "process_sort_index", {"sort_index": len(order)}))
        for tid, name in wire.items():
            out.append(_metadata(WIRE_PID, tid, "thread_name", name))
    return out


def trace_events(ordered: OrderedTrace, lang: Lang = Lang.EN) -> dict[str, Any]:
    """The whole trace as a Trace Event Format document."""
    trace = ordered.trace
    start = trace.header.started or min((e.t0 for e in trace.events), default=0)
    end = trace.header.ended or max((e.t1 or e.t0 for e in trace.events), default=start)
    slices, where = _slices(ordered, start, end)
    packets, wire = _wire(ordered, start)
    flows = _flows(ordered, where)
    by_track: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
    for item in (*slices, *packets, *flows):
        by_track[(item["pid"], item["tid"])].append(item)
    threads = sorted({(e.pid, e.tid) for e in trace.events})
    events = _names(ordered, threads, wire, lang)
    for track in sorted(by_track):
        # slices before the flow events at the same moment, and longer (enclosing) slices first
        events.extend(sorted(by_track[track], key=lambda e: (e["ts"], e["ph"] != "X", -e.get("dur", 0))))
    return {
        "traceEvents": events,
        "displayTimeUnit": "ms",
        "otherData": {
            "scenario": trace.header.scenario or "",
            "title": trace.header.title,
            "command": " ".join(trace.header.command),
        },
    }


class PerfettoRenderer(Renderer):
    """`sequence.perfetto.json`: open it in Perfetto UI (ui.perfetto.dev, offline too) or chrome://tracing."""

    name = "perfetto"
    output_file_extension = "perfetto.json"
    whole_trace = True

    def render(self, diagram: Diagram) -> Parts:
        raise RenderError("a Perfetto trace is made from the whole trace: use render_outputs() or render().")

    def render_ordered(self, ordered: OrderedTrace, diagram: Diagram | None = None) -> Parts:
        return (json.dumps(trace_events(ordered, self.options.lang), ensure_ascii=False, separators=(",", ":")) + "\n",)
