"""Items: (possibly folded) steps become rows and what is drawn at them.

`_Builder` numbers the rows, then adds per row the call labels, notes,
arrows (messages, kernel legs, packets, fork, connect, EOF), activation bars
and fold boxes, and finally each lane's first and last row. Sizes and
coordinates are left to `geometry`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence

from ipctrace.link import Flow
from ipctrace.model import Event, EventKey, Packet, Stream, TcpFlags
from ipctrace.order import Node, OrderedTrace, PacketNode
from ipctrace.render.base import RenderOptions
from ipctrace.render.i18n import duration, tr
from ipctrace.render.labels import show_bytes, show_call, show_flags, show_size, show_text_line
from ipctrace.render.layout.folding import FoldedSteps
from ipctrace.render.layout.lanes import IP_KINDS, Lanes, _addr_key, _packet_lanes
from ipctrace.render.layout.model import Arrow, Bar, CallLabel, Fold, Lane, Note, NoteLine, Row, _replace
from ipctrace.render.layout.steps import Step

NOTE_LINES = 6  # printed lines shown in one note before "…"


_NOTE_KIND = {Stream.STDOUT: "out", Stream.STDERR: "err", Stream.STDIN: "in"}


class _Builder:
    """Turns (possibly folded) steps into rows and items; `geometry` and `build_diagram` then place them."""

    def __init__(self, ordered: OrderedTrace, options: RenderOptions, lanes: Lanes, font: str, mono: str) -> None:
        self.ordered = ordered
        self.trace = ordered.trace
        self.linked = ordered.linked
        self.options = options
        self.lang = options.lang
        self.lanes = lanes
        self.font, self.mono = font, mono
        self.events = {e.key: e for e in self.trace.events}
        self.packets = {p.index: p for p in self.trace.packets}
        self.rows: list[Row] = []
        self.row_of: dict[Node, int] = {}
        self.enter_row: dict[Node, int] = {}
        self.arrows: list[Arrow] = []
        self.bars: list[Bar] = []
        self.calls: list[CallLabel] = []
        self.notes: list[Note] = []
        self.folds: list[Fold] = []
        self.hidden: set[Node] = set()
        self.folded_flows: set[int] = set()
        self.flow_index = {id(f): i for i, f in enumerate(self.linked.flows)}
        self.head_row: dict[str, int] = {}
        self.exit_row: dict[str, int] = {}
        self.isn = self._isns()

    # rows

    def add_rows(self, items: Sequence[Step | FoldedSteps]) -> None:
        for item in items:
            if isinstance(item, FoldedSteps):
                row0 = len(self.rows)
                for step in item.steps:
                    self._row(step)
                self.hidden |= item.hidden
                self._fold(item, row0, len(self.rows) - 1)
            else:
                self._row(item)

    def _row(self, step: Step) -> None:
        index = len(self.rows)
        self.rows.append(Row(index, step.kind, step.lane, step.keys))
        for key in step.keys:
            if step.kind == "enter":
                self.enter_row[key] = index
            else:
                self.row_of[key] = index

    def _fold(self, item: FoldedSteps, row0: int, row1: int) -> None:
        flows = sorted(
            {
                self.flow_index[id(f)]
                for key in item.all_keys
                if isinstance(key, EventKey)
                for f in self.linked.flows_of(key)
            }
        )
        self.folded_flows |= {
            i for i in flows if self.linked.flows[i].send in item.hidden or self.linked.flows[i].recv in item.hidden
        }
        sends = [self.events[k] for k in item.all_keys if isinstance(k, EventKey) and self.events[k].moves_data_out]
        lanes = tuple(dict.fromkeys(s.lane for s in item.steps))
        sizes = [e.size or 0 for e in sends]
        what = ""
        if sends:
            calls = sorted({e.call for e in sends})
            lo, hi = min(sizes), max(sizes)
            each = show_size(hi) if lo == hi else f"{lo:,}–{hi:,} B"
            what = f"{'/'.join(calls)} {each} · {tr('bytes_total', self.lang, b=show_size(sum(sizes)))}"
        label = tr("loop", self.lang, n=f"{item.count:,}")
        events = sum(1 for k in item.hidden if isinstance(k, EventKey))
        self.folds.append(Fold(row0, row1, item.count, label, what, lanes, tuple(flows), events))

    # items

    def build_items(self) -> None:
        view = self.options.view
        for row in self.rows:
            handler = getattr(self, f"_item_{row.kind}")
            handler(row)
        if view == "processes":
            self._message_arrows()
        else:
            self._kernel_arrows()
        if view == "packets":
            self._packet_arrows()
        if view != "packets":
            self._connect_and_eof_arrows()
        self._held_bars()

    def _event(self, row: Row) -> Event:
        return self.events[row.keys[0]]  # type: ignore[index]

    def _item_head(self, row: Row) -> None:
        self.head_row.setdefault(row.lane, row.index)

    def _item_exit(self, row: Row) -> None:
        self.exit_row[row.lane] = row.index

    def _item_enter(self, row: Row) -> None:
        event = self._event(row)
        text = show_call(event).split(" → ")[0]
        self.calls.append(CallLabel(row.lane, row.index, text, "enter"))

    def _item_call(self, row: Row) -> None:
        event = self._event(row)
        key = row.keys[0]
        text = show_call(event)
        kind = "call"
        if event.blocked:
            kind = "blocked"
            self.bars.append(Bar(row.lane, row.index, -1, "open", tr("still_blocked", self.lang)))
        elif event.error is not None:
            kind = "error"
            text = f"{text} ✗ {event.error}"
        if key in self.enter_row:
            enter = self.enter_row[key]
            waited = (event.t1 or event.t0) - event.t0
            kind_bar = "sleep" if event.call == "sleep" else "wait"
            self.bars.append(Bar(row.lane, enter, row.index, kind_bar, duration(waited, self.lang)))
            result = text.split(" → ", 1)[1] if " → " in text else ""
            text = f"{event.call} → {result}" if result else f"{event.call} returns"
            if event.error is not None:
                text = f"{event.call} ✗ {event.error}"
            text += f"  ({tr('waited', self.lang, t=duration(waited, self.lang))})"
        if event.call == "fork" and isinstance(event.result, int) and event.result > 0:
            child = self.lanes.of_pid.get(event.result)
            if child is not None:
                self.head_row.setdefault(child, row.index)
                self.arrows.append(
                    Arrow(
                        f"fork-{event.result}",
                        "fork",
                        row.lane,
                        child,
                        row.index,
                        row.index,
                        f"fork() → {event.result}",
                        title=f"fork {event.pid} → {event.result}",
                        dashed=True,
                    )
                )
                return
        self.calls.append(CallLabel(row.lane, row.index, text, kind))

    def _item_output(self, row: Row) -> None:
        lines: list[NoteLine] = []
        pending = ""
        pending_kind = "out"
        for key in row.keys:
            event = self.events[key]  # type: ignore[index]
            kind = _NOTE_KIND[self.trace.stream_of(event) or Stream.STDOUT]
            data = event.data or b""
            if kind == "in" and not data:
                data = b"(end of input)\n" if not event.blocked else b""
            text = data.decode("utf-8", "replace")
            if kind != pending_kind and pending:
                lines.append(NoteLine(pending, pending_kind))
                pending = ""
            pending_kind = kind
            for piece in text.splitlines(keepends=True):
                pending += piece.rstrip("\n")
                if piece.endswith("\n"):
                    lines.append(NoteLine(pending, kind))
                    pending = ""
        if pending:
            lines.append(NoteLine(pending, pending_kind))
        merged: list[NoteLine] = []
        for line in lines:
            if (
                merged
                and line.kind == "in"
                and merged[-1].kind != "in"
                and not merged[-1].typed
                and merged[-1].text.rstrip().endswith((":", ">", "?"))
            ):
                prev = merged.pop()
                merged.append(NoteLine(prev.text, prev.kind, typed=line.text))
            else:
                merged.append(line)
        cleaned = [
            NoteLine(show_text_line(ln.text.encode(), 60), ln.kind, show_text_line(ln.typed.encode(), 60))
            for ln in merged
            if ln.text.strip() or ln.typed.strip()
        ]
        if not cleaned:
            cleaned = [NoteLine("⏎", "out")]
        if len(cleaned) > NOTE_LINES:
            cleaned = [*cleaned[: NOTE_LINES - 1], NoteLine(f"… (+{len(cleaned) - NOTE_LINES + 1})", "out")]
        self.notes.append(Note(row.lane, row.index, tuple(cleaned)))

    def _item_packet(self, row: Row) -> None:
        node = row.keys[0]
        assert isinstance(node, PacketNode)
        packet = self.packets[node.index]
        ends = _packet_lanes(packet, self.lanes)
        if ends is None:
            return
        flows = self._flows_in_packet(node.index)
        if packet.proto == "tcp":
            label = show_flags(packet.flags)
            detail = self._seq_text(packet)
        else:
            label = "UDP"
            detail = f"len={packet.length}"
        self.arrows.append(
            Arrow(
                f"packet-{node.index}",
                "packet",
                ends[0],
                ends[1],
                row.index,
                row.index,
                label,
                detail,
                flows=flows,
                packet=node.index,
                title=f"packet {node.index} {packet.src} → {packet.dst} {label} {detail}",
            )
        )

    # arrows

    def _flow_label(self, flow: Flow) -> str:
        data = flow.data
        text = show_bytes(data, self.options.payload_limit)
        if not flow.complete and len(data) <= self.options.payload_limit:
            text = text[:-1] + "…'"
        return text

    def _flow_title(self, i: int, flow: Flow) -> str:
        if flow.stream_offset is not None:
            where = f"{flow.stream_offset}-{flow.stream_offset + flow.length}"
        else:
            where = f"datagram {flow.length} B"
        return f"flow {flow.channel} {where}"

    def _shown(self, key: EventKey | None) -> bool:
        return key is not None and key in self.row_of and key not in self.hidden

    def _message_arrows(self) -> None:
        """Processes view: one arrow per flow, from the send's row to the receive's row."""
        per_send: Counter[EventKey] = Counter()
        for i, flow in enumerate(self.linked.flows):
            send_ok, recv_ok = self._shown(flow.send), self._shown(flow.recv)
            if flow.send is not None and flow.recv is not None:
                if not (send_ok and recv_ok):
                    continue
                src, dst = self.rows[self.row_of[flow.send]], self.rows[self.row_of[flow.recv]]
                per_send[flow.send] += 1
                at = "src" if per_send[flow.send] == 1 else "dst"
                self.arrows.append(
                    Arrow(
                        f"flow-{i}",
                        "msg",
                        src.lane,
                        dst.lane,
                        src.index,
                        dst.index,
                        self._flow_label(flow),
                        show_size(flow.length),
                        flows=(i,),
                        title=self._flow_title(i, flow),
                        label_at=at,
                    )
                )
            elif send_ok and flow.send is not None:
                src = self.rows[self.row_of[flow.send]]
                self.arrows.append(
                    Arrow(
                        f"flow-{i}",
                        "lost",
                        src.lane,
                        self._reader_lane(flow, src.lane),
                        src.index,
                        src.index,
                        self._flow_label(flow),
                        f"{show_size(flow.length)} · {tr('never_read', self.lang)}",
                        flows=(i,),
                        title=self._flow_title(i, flow) + " never read",
                    )
                )
            elif recv_ok and flow.recv is not None:
                dst = self.rows[self.row_of[flow.recv]]
                self.arrows.append(
                    Arrow(
                        f"flow-{i}",
                        "found",
                        self._reader_lane(flow, dst.lane),
                        dst.lane,
                        dst.index,
                        dst.index,
                        self._flow_label(flow),
                        f"{show_size(flow.length)} · {tr('unknown_sender', self.lang)}",
                        flows=(i,),
                        title=self._flow_title(i, flow) + " unknown sender",
                    )
                )

    def _reader_lane(self, flow: Flow, own: str) -> str:
        """Where a lost or found message points: the other process on its channel, else the next lane."""
        ch = self.linked.channel(flow.channel)
        for key in (*ch.recvs, *ch.sends):
            lane = self.lanes.of_pid.get(key.pid)
            if lane is not None and lane != own:
                return lane
        order = self.lanes.order
        i = order.index(own)
        return order[i + 1] if i + 1 < len(order) else order[i - 1] if i > 0 else own

    def _kernel_lane(self, flow: Flow, side: str) -> str | None:
        ch = self.linked.channel(flow.channel)
        if self.options.view == "packets" and ch.kind in IP_KINDS:
            ep = ch.src if side == "src" else ch.dst
            if ep is not None and ep.inode in self.lanes.socket_lane:
                return self.lanes.socket_lane[ep.inode]
        return self.lanes.group_lane.get(ch.group)

    def _kernel_arrows(self) -> None:
        """Kernel and packets views: a send puts bytes into the kernel, a receive takes them out."""
        legs: dict[tuple[str, EventKey], list[int]] = defaultdict(list)
        for i, flow in enumerate(self.linked.flows):
            if flow.send is not None and self._shown(flow.send):
                legs[("in", flow.send)].append(i)
            if flow.recv is not None and self._shown(flow.recv):
                legs[("out", flow.recv)].append(i)
        for (kind, key), flows in legs.items():
            event = self.events[key]
            row = self.rows[self.row_of[key]]
            first = self.linked.flows[flows[0]]
            lane = self._kernel_lane(first, "src" if kind == "in" else "dst")
            if lane is None:
                continue
            data = event.data or b""
            size = event.size if event.size is not None else len(data)
            text = show_bytes(data, self.options.payload_limit)
            if size > len(data) and len(data) <= self.options.payload_limit:
                text = text[:-1] + "…'"
            src, dst = (row.lane, lane) if kind == "in" else (lane, row.lane)
            titles = "; ".join(self._flow_title(i, self.linked.flows[i]) for i in flows)
            self.arrows.append(
                Arrow(
                    f"{kind}-{key.pid}-{key.seq}",
                    kind,
                    src,
                    dst,
                    row.index,
                    row.index,
                    text,
                    show_size(size),
                    flows=tuple(flows),
                    title=f"{kind} {titles}",
                )
            )

    def _flows_in_packet(self, index: int) -> tuple[int, ...]:
        plink = self.linked.packet_link(index)
        packet = self.packets[index]
        if plink is None or plink.channel is None:
            return ()
        out = []
        for i, flow in enumerate(self.linked.flows):
            if flow.channel != plink.channel:
                continue
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

    def _packet_arrows(self) -> None:
        """Packets are drawn per row (`_item_packet`); nothing more to add."""

    def _isns(self) -> dict[tuple[str, int], int]:
        """The initial sequence number of each TCP sender, for Wireshark-style relative numbers."""
        isn: dict[tuple[str, int], int] = {}
        for p in sorted(self.trace.packets, key=lambda p: p.index):
            key = _addr_key(p.src)
            if p.proto != "tcp" or key is None or p.seq is None:
                continue
            if TcpFlags.SYN in p.flags:
                isn[key] = p.seq
            else:
                isn.setdefault(key, p.seq - 1)
        return isn

    def _seq_text(self, packet: Packet) -> str:
        src, dst = _addr_key(packet.src), _addr_key(packet.dst)
        parts = []
        if packet.seq is not None and src in self.isn:
            parts.append(f"seq={(packet.seq - self.isn[src]) % (1 << 32)}")
        if TcpFlags.ACK in packet.flags and packet.ack is not None and dst in self.isn:
            parts.append(f"ack={(packet.ack - self.isn[dst]) % (1 << 32)}")
        parts.append(f"len={packet.length}")
        return " ".join(parts)

    def _connect_and_eof_arrows(self) -> None:
        for conn in self.linked.connections:
            if conn.connect is None or conn.accept is None:
                continue
            if not (self._shown(conn.connect) and self._shown(conn.accept)):
                continue
            a, b = self.rows[self.row_of[conn.connect]], self.rows[self.row_of[conn.accept]]
            if b.index >= a.index and a.lane != b.lane:
                self.arrows.append(
                    Arrow(
                        f"connect-{conn.group}",
                        "connect",
                        a.lane,
                        b.lane,
                        a.index,
                        b.index,
                        "connect → accept",
                        title=f"connect {conn.group}",
                        dashed=True,
                    )
                )
        for n, eof in enumerate(self.linked.eofs):
            if not (self._shown(eof.release) and self._shown(eof.read)):
                continue
            a, b = self.rows[self.row_of[eof.release]], self.rows[self.row_of[eof.read]]
            release = self.events[eof.release]
            if b.index > a.index and a.lane != b.lane and release.call in ("close", "shutdown"):
                self.arrows.append(
                    Arrow(
                        f"eof-{n}",
                        "eof",
                        a.lane,
                        b.lane,
                        a.index,
                        b.index,
                        tr("eof", self.lang),
                        title=f"eof {eof.channel}",
                        dashed=True,
                    )
                )

    def _held_bars(self) -> None:
        """Kernel lanes: bytes written and not yet read are visibly held by the kernel."""
        if self.options.view == "processes":
            return
        spans: dict[str, list[tuple[int, int]]] = defaultdict(list)
        last = len(self.rows) - 1
        for flow in self.linked.flows:
            if flow.send is None or not self._shown(flow.send):
                continue
            lane = self._kernel_lane(flow, "src")
            if lane is None:
                continue
            ch = self.linked.channel(flow.channel)
            if self.options.view == "packets" and ch.kind in IP_KINDS:
                continue  # on the wire, packets show where the bytes are
            start = self.row_of[flow.send]
            end = self.row_of[flow.recv] if flow.recv is not None and self._shown(flow.recv) else last
            if flow.recv is not None and not self._shown(flow.recv):
                continue
            if end > start:
                spans[lane].append((start, end))
        for lane, items in spans.items():
            items.sort()
            merged = [items[0]]
            for a, b in items[1:]:
                if a <= merged[-1][1]:
                    merged[-1] = (merged[-1][0], max(merged[-1][1], b))
                else:
                    merged.append((a, b))
            for a, b in merged:
                self.bars.append(Bar(lane, a, b, "held"))

    # lanes

    def finish_lanes(self) -> list[Lane]:
        last = max(len(self.rows) - 1, 0)
        used: dict[str, list[int]] = defaultdict(list)
        for arrow in self.arrows:
            used[arrow.src].append(arrow.src_row)
            used[arrow.dst].append(arrow.dst_row)
        for bar in self.bars:
            used[bar.lane].append(bar.row0)
        for row in self.rows:
            used[row.lane].append(row.index)
            if row.kind in ("call", "enter") and isinstance(row.keys[0], EventKey):
                ep = self.events[row.keys[0]].endpoint
                if ep is not None and ep.inode in self.lanes.endpoint_lane:
                    used[self.lanes.endpoint_lane[ep.inode]].append(row.index)
        procs = {p.pid: p for p in self.trace.processes}
        out = []
        for lane_id in self.lanes.order:
            lane = self.lanes.info[lane_id]
            rows = used.get(lane_id)
            if lane.kind == "process":
                if lane_id not in self.head_row and not rows:
                    continue
                first = min(self.head_row.get(lane_id, min(rows or [0])), min(rows or [last]))
                proc = procs.get(lane.pid) if lane.pid is not None else None
                open_end = any(b.lane == lane_id and b.kind == "open" for b in self.bars)
                if lane_id in self.exit_row:
                    end_row = self.exit_row[lane_id]
                else:
                    end_row = last if open_end else max(rows or [first])
                end = ""
                if proc is not None and proc.exit is not None:
                    status = proc.exit
                    end = (
                        tr("killed", self.lang, sig=str(status).split(" by ")[-1])
                        if status.signal is not None
                        else tr("exit", self.lang, code=status.code)
                    )
                elif open_end:
                    end = tr("still_blocked", self.lang)
                elif lane_id in self.exit_row:
                    end = tr("ended", self.lang)
                else:
                    end = tr("still_running", self.lang)
                out.append(_replace(lane, first_row=first, last_row=max(end_row, first), end=end, open_end=open_end))
            else:
                if not rows:
                    continue
                out.append(_replace(lane, first_row=min(rows), last_row=max(rows)))
        return out
