"""Arrows: messages, kernel legs, packets, fork, connect and EOF; the bytes a kernel lane holds.

Pure functions of the rows' `Context`. Every flow of the linked trace that has
both ends drawn is one message arrow (processes view) or one leg into and one
out of the kernel (other views); a datagram's arrow says where it went. Also
here: the spans a page break must not cut (a TCP handshake, a teardown).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence

from ipctrace.calls import RELEASES_FD, Call
from ipctrace.link import ChannelId, Flow, GroupId, PacketLink
from ipctrace.model import Event, EventKey, Packet, SockAddr, TcpFlags
from ipctrace.order import PacketNode
from ipctrace.render.i18n import tr
from ipctrace.render.labels import show_addr, show_flags, show_size, show_text
from ipctrace.render.layout.lanes import IP_KINDS
from ipctrace.render.layout.model import Arrow, ArrowId, ArrowKind, Bar, BarKind, LabelAt, LaneId, RowKind
from ipctrace.render.layout.rows import Context
from ipctrace.render.options import View


def _flow_label(flow: Flow, ctx: Context) -> str:
    return show_text(flow.data, ctx.density.payload, complete=flow.complete)


def _flow_title(flow: Flow) -> str:
    if flow.stream_offset is not None:
        return f"flow {flow.channel} {flow.stream_offset}-{flow.stream_offset + flow.length}"
    return f"flow {flow.channel} datagram {flow.length} B"


def _datagram_ends(flow: Flow, ctx: Context) -> tuple[SockAddr | None, SockAddr | None]:
    """Where a datagram came from and went to, as the calls saw it (the receiver knows the real sender)."""
    send = ctx.trace.event(flow.send) if flow.send is not None else None
    recv = ctx.trace.event(flow.recv) if flow.recv is not None else None
    src = (recv.peer if recv is not None else None) or (send.local if send is not None else None)
    dst = (send.peer if send is not None else None) or (recv.local if recv is not None else None)
    return src, dst


def _flow_detail(flow: Flow, ctx: Context) -> str:
    size = show_size(flow.length)
    if flow.stream_offset is not None:
        return "" if ctx.density.bare else size
    src, dst = _datagram_ends(flow, ctx)
    if src is None and dst is None:
        return size
    return f"{size} · {show_addr(src) or '?'} → {show_addr(dst) or '?'}"


def _reader_lane(flow: Flow, own: LaneId, ctx: Context) -> LaneId:
    """Where a lost or found message points: the other process on its channel, else the next lane."""
    ch = ctx.linked.channel(flow.channel)
    for key in (*ch.recvs, *ch.sends):
        lane = ctx.lanes.of_pid.get(key.pid)
        if lane is not None and lane != own:
            return lane
    order = ctx.lanes.order
    i = order.index(own)
    return order[i + 1] if i + 1 < len(order) else order[i - 1] if i > 0 else own


def _message(i: int, flow: Flow, ctx: Context, per_send: Counter[EventKey]) -> Arrow | None:
    send_ok, recv_ok = ctx.shown(flow.send), ctx.shown(flow.recv)
    arrow_id = ArrowId(ArrowKind.MSG, (i,))
    label, detail, title = _flow_label(flow, ctx), _flow_detail(flow, ctx), _flow_title(flow)
    lang = ctx.options.lang
    if flow.send is not None and flow.recv is not None:
        if not (send_ok and recv_ok):
            return None
        src, dst = ctx.row(flow.send), ctx.row(flow.recv)
        per_send[flow.send] += 1
        at = LabelAt.SRC if per_send[flow.send] == 1 else LabelAt.DST
        return Arrow(
            arrow_id, ArrowKind.MSG, src.lane, dst.lane, src.index, dst.index, label, detail, (i,), None, title, at
        )
    if send_ok and flow.send is not None:
        src = ctx.row(flow.send)
        lost = ArrowId(ArrowKind.LOST, (i,))
        detail = " · ".join(filter(None, (detail, tr("never_read", lang))))
        dst_lane = _reader_lane(flow, src.lane, ctx)
        return Arrow(lost, ArrowKind.LOST, src.lane, dst_lane, src.index, src.index, label, detail, (i,), None, title)
    if recv_ok and flow.recv is not None:
        dst = ctx.row(flow.recv)
        found = ArrowId(ArrowKind.FOUND, (i,))
        detail = " · ".join(filter(None, (detail, tr("unknown_sender", lang))))
        src_lane = _reader_lane(flow, dst.lane, ctx)
        return Arrow(found, ArrowKind.FOUND, src_lane, dst.lane, dst.index, dst.index, label, detail, (i,), None, title)
    return None


def message_arrows(ctx: Context) -> Iterator[Arrow]:
    """Processes view: one arrow per flow, from the send's row to the receive's row."""
    per_send: Counter[EventKey] = Counter()
    for i, flow in enumerate(ctx.linked.flows):
        arrow = _message(i, flow, ctx, per_send)
        if arrow is not None:
            yield arrow


def _kernel_lane(flow: Flow, side: str, ctx: Context) -> LaneId | None:
    ch = ctx.linked.channel(flow.channel)
    if ctx.options.view is View.PACKETS and ch.kind in IP_KINDS:
        ep = ch.src if side == "src" else ch.dst
        if ep is not None and ep.inode in ctx.lanes.socket_lane:
            return ctx.lanes.socket_lane[ep.inode]
    return ctx.lanes.group_lane.get(ch.group)


def _leg_detail(event: Event, size: int, kind: ArrowKind, ctx: Context) -> str:
    text = show_size(size)
    if event.endpoint is None or not event.endpoint.kind.is_datagram or event.peer is None:
        return text
    if ctx.options.view is View.PACKETS and event.endpoint.kind.is_ip:
        return text  # the datagram on the wire says where it went
    key = "to" if kind is ArrowKind.IN else "from"
    return f"{text} · {tr(key, ctx.options.lang, addr=show_addr(event.peer))}"


def kernel_arrows(ctx: Context) -> Iterator[Arrow]:
    """Kernel and packets views: a send puts bytes into the kernel, a receive takes them out."""
    legs: dict[tuple[ArrowKind, EventKey], list[int]] = defaultdict(list)
    for i, flow in enumerate(ctx.linked.flows):
        if flow.send is not None and ctx.shown(flow.send):
            legs[(ArrowKind.IN, flow.send)].append(i)
        if flow.recv is not None and ctx.shown(flow.recv):
            legs[(ArrowKind.OUT, flow.recv)].append(i)
    for (kind, key), flows in legs.items():
        event = ctx.trace.event(key)
        row = ctx.row(key)
        lane = _kernel_lane(ctx.linked.flows[flows[0]], "src" if kind is ArrowKind.IN else "dst", ctx)
        if lane is None:
            continue
        data = event.data or b""
        size = event.size if event.size is not None else len(data)
        text = show_text(data, ctx.density.payload, complete=size <= len(data))
        detail = _leg_detail(event, size, kind, ctx)
        if ctx.density.bare:  # a bare diagram says the bytes once, where they go in
            text, detail = ("", "") if kind is ArrowKind.OUT else (text, "" if detail == show_size(size) else detail)
        src, dst = (row.lane, lane) if kind is ArrowKind.IN else (lane, row.lane)
        titles = "; ".join(_flow_title(ctx.linked.flows[i]) for i in flows)
        yield Arrow(
            ArrowId(kind, (key.pid, key.seq)),
            kind,
            src,
            dst,
            row.index,
            row.index,
            text,
            detail,
            tuple(flows),
            None,
            f"{kind.value} {titles}",
        )


def _flows_by_channel(ctx: Context) -> dict[ChannelId, list[int]]:
    out: dict[ChannelId, list[int]] = defaultdict(list)
    for i, flow in enumerate(ctx.linked.flows):
        out[flow.channel].append(i)
    return out


def _flows_in_packet(packet: Packet, ctx: Context, by_channel: dict[ChannelId, list[int]]) -> tuple[int, ...]:
    plink = ctx.linked.packet_link(packet.index)
    if plink is None or plink.channel is None:
        return ()
    flows = ctx.linked.flows
    out = []
    for i in by_channel.get(plink.channel, ()):
        flow = flows[i]
        if flow.stream_offset is None:
            if flow.send in plink.causes:
                out.append(i)
        elif (
            plink.offset is not None
            and packet.payload
            and flow.stream_offset < plink.offset + packet.length
            and plink.offset < flow.stream_offset + flow.length
        ):
            out.append(i)
    return tuple(out)


def _isns(ctx: Context) -> dict[SockAddr, int]:
    """The initial sequence number of each TCP sender, for Wireshark-style relative numbers."""
    isn: dict[SockAddr, int] = {}
    for p in sorted(ctx.trace.packets, key=lambda p: p.index):
        if p.proto != "tcp" or p.seq is None:
            continue
        if TcpFlags.SYN in p.flags:
            isn[p.src] = p.seq
        else:
            isn.setdefault(p.src, p.seq - 1)
    return isn


def _seq_text(packet: Packet, isn: dict[SockAddr, int], level: int) -> str:
    """Wireshark's relative numbers; a terser diagram keeps fewer of them (the length always)."""
    parts = []
    if packet.seq is not None and packet.src in isn and level < 2:
        parts.append(f"seq={(packet.seq - isn[packet.src]) % (1 << 32)}")
    if TcpFlags.ACK in packet.flags and packet.ack is not None and packet.dst in isn and level < 1:
        parts.append(f"ack={(packet.ack - isn[packet.dst]) % (1 << 32)}")
    if packet.length:
        parts.append(f"len={packet.length}")
    return " ".join(parts)


def _short(addr: SockAddr) -> str:
    """A loopback address by its port (`:8080`): the socket lanes' heads give the whole address."""
    return f":{addr.port}" if addr.host in ("127.0.0.1", "0.0.0.0", "") else show_addr(addr)


def packet_arrows(ctx: Context) -> Iterator[Arrow]:
    """Packets view: each drawn packet between its two socket lanes, at its own row."""
    packets = {p.index: p for p in ctx.trace.packets}
    by_channel = _flows_by_channel(ctx)
    isn = _isns(ctx)
    for row in ctx.rows:
        if row.kind is not RowKind.PACKET:
            continue
        node = row.keys[0]
        assert isinstance(node, PacketNode)
        packet = packets[node.index]
        ends = ctx.lanes.packet_lanes(packet)
        if ends is None:
            continue
        level = ctx.density.level
        if packet.proto == "tcp":
            label, detail = show_flags(packet.flags), _seq_text(packet, isn, level)
        else:
            where = _short if level else show_addr
            label, detail = "UDP", f"{where(packet.src)} → {where(packet.dst)} len={packet.length}"
        yield Arrow(
            ArrowId(ArrowKind.PACKET, (node.index,)),
            ArrowKind.PACKET,
            ends[0],
            ends[1],
            row.index,
            row.index,
            label,
            detail,
            _flows_in_packet(packet, ctx, by_channel),
            node.index,
            f"packet {node.index} {packet.src} → {packet.dst} {label} {detail}",
        )


def fork_arrows(ctx: Context) -> Iterator[Arrow]:
    for row in ctx.rows:
        if row.kind is not RowKind.CALL:
            continue
        event = ctx.event(row)
        if event.call is not Call.FORK or not isinstance(event.result, int) or event.result <= 0:
            continue
        child = ctx.lanes.of_pid.get(event.result)
        if child is None:
            continue
        yield Arrow(
            ArrowId(ArrowKind.FORK, (event.result,)),
            ArrowKind.FORK,
            row.lane,
            child,
            row.index,
            row.index,
            "fork()" if ctx.density.bare else f"fork() → {event.result}",
            title=f"fork {event.pid} → {event.result}",
        )


def connect_and_eof_arrows(ctx: Context) -> Iterator[Arrow]:
    """Processes and kernel views: connect → accept, and the close that a read saw as end of file."""
    for n, conn in enumerate(ctx.linked.connections):
        if conn.connect is None or conn.accept is None:
            continue
        if not (ctx.shown(conn.connect) and ctx.shown(conn.accept)):
            continue
        a, b = ctx.row(conn.connect), ctx.row(conn.accept)
        if b.index >= a.index and a.lane != b.lane:
            label = "connect" if ctx.density.bare else tr("connect", ctx.options.lang)
            yield Arrow(
                ArrowId(ArrowKind.CONNECT, (n,)),
                ArrowKind.CONNECT,
                a.lane,
                b.lane,
                a.index,
                b.index,
                label,
                title=f"connect {conn.group}",
            )
    for n, eof in enumerate(ctx.linked.eofs):
        if not (ctx.shown(eof.release) and ctx.shown(eof.read)):
            continue
        a, b = ctx.row(eof.release), ctx.row(eof.read)
        if b.index > a.index and a.lane != b.lane and ctx.trace.event(eof.release).call in RELEASES_FD:
            yield Arrow(
                ArrowId(ArrowKind.EOF, (n,)),
                ArrowKind.EOF,
                a.lane,
                b.lane,
                a.index,
                b.index,
                tr("eof", ctx.options.lang),
                title=f"eof {eof.channel}",
            )


def held_bars(ctx: Context) -> list[Bar]:
    """Kernel lanes: bytes written and not yet read are visibly held by the kernel."""
    if ctx.options.view is View.PROCESSES:
        return []
    spans: dict[LaneId, list[tuple[int, int]]] = defaultdict(list)
    last = len(ctx.rows) - 1
    for flow in ctx.linked.flows:
        if flow.send is None or not ctx.shown(flow.send):
            continue
        if flow.recv is not None and not ctx.shown(flow.recv):
            continue
        ch = ctx.linked.channel(flow.channel)
        lane = _kernel_lane(flow, "src", ctx)
        if lane is None or (ctx.options.view is View.PACKETS and ch.kind in IP_KINDS):
            continue  # on the wire, packets show where the bytes are
        start = ctx.numbered.row_of[flow.send]
        end = ctx.numbered.row_of[flow.recv] if flow.recv is not None else last
        if end > start:
            spans[lane].append((start, end))
    bars = []
    for lane, items in spans.items():
        for a, b in _merged(sorted(items)):
            bars.append(Bar(lane, a, b, BarKind.HELD))
    return bars


def _merged(spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    merged = [spans[0]]
    for a, b in spans[1:]:
        if a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


_TOGETHER_ROWS = 8


def _steps_of_packet(row_index: int, plink: PacketLink, ctx: Context) -> list[tuple[tuple[GroupId, str], int]]:
    """Which handshake or FIN/ACK pair a packet row belongs to: (group, what) → its row."""
    assert plink.channel is not None
    group = ctx.linked.channel(plink.channel).group
    answered = {p: link.role for p in plink.follows if (link := ctx.linked.packet_link(p)) is not None}
    out = []
    if plink.role in ("syn", "syn-ack") or (plink.role == "ack" and "syn-ack" in answered.values()):
        out.append(((group, "open"), row_index))
    elif plink.role in ("fin", "rst"):
        out.append(((group, f"fin-{plink.packet}"), row_index))
    for packet, role in answered.items():  # a FIN and the ACK of it stay together
        if role == "fin" and plink.role != "syn-ack":
            out.append(((group, f"fin-{packet}"), row_index))
    return out


def kept_together(ctx: Context) -> list[tuple[int, int]]:
    """Row spans a page break must not cut: each TCP handshake (SYN … the ACK, connect's return) and teardown."""
    if ctx.options.view is not View.PACKETS:
        return []
    rows_by: dict[tuple[GroupId, str], list[int]] = defaultdict(list)
    for row in ctx.rows:
        node = row.keys[0]
        plink = ctx.linked.packet_link(node.index) if isinstance(node, PacketNode) else None
        if row.kind is RowKind.PACKET and plink is not None and plink.channel is not None:
            for key, index in _steps_of_packet(row.index, plink, ctx):
                rows_by[key].append(index)
    for conn in ctx.linked.connections:
        if conn.connect is not None and ctx.shown(conn.connect) and (conn.group, "open") in rows_by:
            rows_by[(conn.group, "open")].append(ctx.numbered.row_of[conn.connect])
    spans = [(min(rows), max(rows)) for rows in rows_by.values() if len(rows) > 1]
    return [(lo, hi) for lo, hi in spans if hi - lo <= _TOGETHER_ROWS]  # an ACK long after its FIN is not one step
