"""The classroom page's facts about the run, the same for every view: each event and packet, each flow, the causes.

Nodes are numbered by their place in the causal order (`OrderedTrace.order`),
so the page's script can compare places with `<`, and walk the happens-before
graph (`causes`: each node's direct causes) back for the causal past and
forward for the future. Everything said about a node is here once: its call
with the arguments, the descriptor and what it refers to, the bytes, the
packets, the time and how long it waited, the source line, and the sentence
of its step.
"""

from __future__ import annotations

import base64
import linecache
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ipctrace.calls import BLOCKING, RECEIVES, SENDS, Call
from ipctrace.link import Flow, LinkedTrace, normalize
from ipctrace.model import Event, EventKey, Packet, Pid, SockAddr
from ipctrace.order import Node, OrderedTrace, PacketNode
from ipctrace.render.html.sentences import (
    Speaker,
    call_sentence,
    entry_sentence,
    exit_sentence,
    initial_numbers,
    output_sentence,
    packet_sentence,
    relative_numbers,
    start_sentence,
)
from ipctrace.render.i18n import group_title
from ipctrace.render.labels import show_addr, show_flags, show_text
from ipctrace.render.layout.descriptors import Descriptors, follow_descriptors
from ipctrace.render.layout.handlers import handler_calls
from ipctrace.render.layout.roles import process_names
from ipctrace.render.layout.steps import packet_shown
from ipctrace.render.options import Lang, PacketMode

HEX_CAP = 256  # bytes shown as hex in a details panel (the script makes the hex dump)
TEXT_CAP = 400  # characters shown as text


def _ms(nanos: int, start: int) -> float:
    return round((nanos - start) / 1e6, 3)


def _site(event: Event) -> dict[str, Any]:
    """The call's source file, line and function for the details panel; nothing when the recorder gave none."""
    site = event.site
    if site is None or not site.file or site.line <= 0:
        return {}
    file, line, func = site.file, site.line, site.function
    where = f"{Path(file).name}:{line}" + (f" in {func}" if func and func != "<module>" else "")
    code = linecache.getline(file, line).strip()
    return {"site": where, "path": file, **({"code": code} if code else {})}


def _args(event: Event) -> list[list[str]]:
    out = []
    for name, value in event.args.items():
        if name in ("cwd",):
            continue
        if name == "addr":
            value = show_addr(event.address)
        elif isinstance(value, list):
            value = " ".join(str(v) for v in value)
        out.append([name, str(value)])
    return out


def _result(event: Event) -> str:
    if event.blocked or event.t1 is None:
        return ""
    if event.reaped is not None:
        return "0" if event.reaped.nothing else f"{event.reaped.pid} ({event.reaped.status})"
    if event.fds:
        return ", ".join(str(fd) for fd in event.fds)
    if event.result is None:
        return ""
    if isinstance(event.result, list):
        return ", ".join(str(r) for r in event.result)
    return str(event.result)


def _bytes(data: bytes, size: int) -> dict[str, Any]:
    """Bytes as the details panel shows them: as text (escapes only where needed) and, for hex, the first few."""
    out: dict[str, Any] = {
        "size": size,
        "text": show_text(data, TEXT_CAP, complete=size <= len(data)),
        "b64": base64.b64encode(data[:HEX_CAP]).decode("ascii"),
    }
    if len(data) < size:
        out["kept"] = len(data)
    return out


@dataclass(frozen=True)
class Facts:
    """The JSON-ready facts and what the views need to refer to them."""

    rank: Mapping[Node, int]
    nodes: list[dict[str, Any]]
    causes: list[list[int]]
    flows: list[dict[str, Any]]
    names: Mapping[Pid, str]


def _addr_names(ordered: OrderedTrace, names: Mapping[Pid, str]) -> dict[SockAddr, str]:
    """Whose socket an address is, for the packets' sentences: `client`, `server`."""
    out: dict[SockAddr, str] = {}
    for event in ordered.trace.events:
        for addr in (event.local,):
            norm = normalize(addr)
            if norm is not None and norm.port:
                out.setdefault(norm, names.get(event.pid, str(event.pid)))
    return out


def _flow_packets(linked: LinkedTrace, rank: Mapping[Node, int]) -> dict[int, list[int]]:
    """Flow index → the packets (node numbers) that carried its bytes."""
    by_channel: dict[object, list[int]] = defaultdict(list)
    for i, flow in enumerate(linked.flows):
        by_channel[flow.channel].append(i)
    packets = {p.index: p for p in linked.trace.packets}
    out: dict[int, list[int]] = defaultdict(list)
    for plink in linked.packet_links:
        packet = packets.get(plink.packet)
        node = rank.get(PacketNode(plink.packet))
        if packet is None or node is None or plink.channel is None or not packet.payload:
            continue
        for i in by_channel.get(plink.channel, ()):
            flow = linked.flows[i]
            if flow.stream_offset is None:
                hit = flow.send is not None and flow.send in plink.causes
            else:
                hit = plink.offset is not None and (
                    flow.stream_offset < plink.offset + packet.length
                    and plink.offset < flow.stream_offset + flow.length
                )
            if hit:
                out[i].append(node)
    return out


def _flow(i: int, flow: Flow, sp: Speaker, rank: Mapping[Node, int], carried: Mapping[int, list[int]]) -> dict:
    channel = sp.linked.channel(flow.channel)
    return {
        "ch": group_title(flow.channel.group, sp.lang),
        "s": rank.get(flow.send, -1) if flow.send is not None else -1,
        "r": rank.get(flow.recv, -1) if flow.recv is not None else -1,
        "dgram": not channel.stream,
        **({"off": flow.stream_offset} if flow.stream_offset is not None else {}),
        **({"pk": carried[i]} if i in carried else {}),
        **_bytes(flow.data, flow.length),
    }


def _event_node(event: Event, sp: Speaker, start: int, handlers: Mapping[EventKey, str], end: int) -> dict:
    d: Descriptors = sp.descriptors
    node: dict[str, Any] = {"k": "e", "pid": event.pid, "call": str(event.call)}
    node["t"] = _ms(event.t0, start)
    if event.t1 is None or event.blocked:
        node["open"] = True
        node["dur"] = round(max(end - event.t0, 0) / 1e6, 3)
    else:
        node["dur"] = round((event.t1 - event.t0) / 1e6, 3)
    if event.call in BLOCKING:
        node["waits"] = True
    args = _args(event)
    if args:
        node["args"] = args
    result = _result(event)
    if result:
        node["res"] = result
    if event.error:
        node["err"] = event.error
    if event.fd is not None and event.fd >= 0:
        node["fd"] = event.fd
        if event.key in d.expr:
            node["expr"] = d.expr[event.key]
        refers = d.meaning.get(event.key) or (sp.linked.describe(event) if event.endpoint else "")
        if refers:
            node["refers"] = refers
    if event.key in d.created:
        node["made"] = d.created[event.key]
    if event.data is not None and not sp.linked.flows_of(event.key):  # else its flows' bytes are shown
        if event.call in SENDS or event.call in RECEIVES or sp.linked.trace.stream_of(event):
            node["bytes"] = _bytes(event.data, event.size if event.size is not None else len(event.data))
    if (
        event.peer is not None
        and event.call in (SENDS | RECEIVES)
        and event.endpoint
        and event.endpoint.kind.is_datagram
    ):
        node["addr"] = show_addr(event.peer)
        node["addr_is"] = "to" if event.call in SENDS else "from"
    handler = handlers.get(event.key)
    if handler is not None:
        node["handler"] = handler or "signal"
    node.update(_site(event))
    return node


def _sentences(event: Event, node: dict[str, Any], sp: Speaker, trace_stream: object, ends: Mapping[Pid, str]) -> None:
    handler = node.get("handler", "")
    if event.call is Call.START:
        node["say"] = start_sentence(event, sp)
    elif event.call is Call.EXIT:
        node["say"] = exit_sentence(event.pid, ends.get(event.pid, str(event.call)), sp)
    elif trace_stream is not None:
        node["say"] = output_sentence([event], trace_stream, sp)  # type: ignore[arg-type]
        node["out"] = True
        if not (event.data or b"").strip():
            node["blank"] = True  # print()'s own newline, written apart: the step's sentence leaves it out
    else:
        node["say"] = call_sentence(event, sp, handler)
        if event.call in BLOCKING or event.blocked:
            node["enter"] = entry_sentence(event, sp)


def _packet_node(packet: Packet, sp: Speaker, start: int, addr_names: Mapping[SockAddr, str]) -> dict:
    linked = sp.linked
    plink = linked.packet_link(packet.index)
    role = plink.role.value if plink is not None else ""
    handshake = False
    if plink is not None:
        answered = [linked.packet_link(p) for p in plink.follows]
        handshake = any(a is not None and a.role.value == "syn-ack" for a in answered)
    node: dict[str, Any] = {
        "k": "p",
        "index": packet.index,
        "proto": packet.proto.value,
        "src": show_addr(packet.src),
        "dst": show_addr(packet.dst),
        "t": _ms(packet.ts, start),
        "len": packet.length,
        "role": role,
    }
    if packet.proto == "tcp":
        seq, ack = relative_numbers(packet, sp.isn)
        node["flags"] = show_flags(packet.flags)
        node.update({k: v for k, v in (("seq", seq), ("ack", ack)) if v is not None})
        node["pure_ack"] = not packet_shown(packet, PacketMode.DATA, linked)
    if packet.payload:
        node["bytes"] = _bytes(packet.payload, packet.length)
    node["say"] = packet_sentence(packet, "handshake" if handshake else role, sp, addr_names)
    return node


def collect(ordered: OrderedTrace, lang: Lang, ends: Mapping[Pid, str]) -> Facts:
    """Every node's facts and sentence, every flow, every node's direct causes (`ends`: each pid's ending)."""
    trace, linked = ordered.trace, ordered.linked
    rank = {node: i for i, node in enumerate(ordered.order)}
    names = {pid: n.title for pid, n in process_names(trace, linked, lang, False).items()}
    speaker = Speaker(linked, names, follow_descriptors(trace, linked, lang), initial_numbers(trace.packets), lang)
    start = trace.header.started or min((e.t0 for e in trace.events), default=0)
    end = trace.header.ended or max((e.t1 or e.t0 for e in trace.events), default=start)
    handlers = handler_calls(trace)
    addr_names = _addr_names(ordered, names)
    packets = {p.index: p for p in trace.packets}
    nodes: list[dict[str, Any]] = []
    for node in ordered.order:
        if isinstance(node, PacketNode):
            nodes.append(_packet_node(packets[node.index], speaker, start, addr_names))
            continue
        event = trace.event(node)
        facts = _event_node(event, speaker, start, handlers, end)
        _sentences(event, facts, speaker, trace.stream_of(event), ends)
        nodes.append(facts)
    for i, flow in enumerate(linked.flows):
        for key in (flow.send, flow.recv):
            if key is not None and key in rank:
                nodes[rank[key]].setdefault("flows", []).append(i)
    for key_node, i in rank.items():
        if isinstance(key_node, EventKey):
            carried = [rank[PacketNode(p.packet)] for p in linked.packets_of(key_node) if PacketNode(p.packet) in rank]
            if carried:
                nodes[i]["pk"] = sorted(set(carried))
    causes_of = ordered.causes()
    causes = [sorted(rank[c] for c in causes_of.get(node, ()) if c in rank) for node in ordered.order]
    carried_by = _flow_packets(linked, rank)
    flows = [_flow(i, flow, speaker, rank, carried_by) for i, flow in enumerate(linked.flows)]
    return Facts(rank, nodes, causes, flows, names)
