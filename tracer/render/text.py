"""The text timeline, for the terminal and `ipctrace show`: one line per call or packet, in causal order.

`timeline(trace)` links and orders the trace itself and falls back to time
order when linking fails, so `ipctrace run` / `show` always print something.
Packets appear between the call that sent them and the call they completed,
with TCP flags, relative seq/ack and length; fds are named by what they are
(`pipe#1 write end`, `TCP 127.0.0.1:54012 → 127.0.0.1:8080`).
`TextRenderer` draws the same layout model as the diagrams (lanes, rows,
folds), one row a line, for `--format text`.
"""

from __future__ import annotations

from ipctrace.model import Event, Packet, TcpFlags, Trace
from ipctrace.render.base import Renderer
from ipctrace.render.labels import show_flags, show_payload, show_result

_ARGS_SHOWN = (
    "sleep",
    "bind",
    "connect",
    "listen",
    "fork",
    "kill",
    "waitpid",
    "exit",
    "shutdown",
    "exception",
    "spawn",
    "exec",
)
_DATAGRAM_CALLS = ("sendto", "recvfrom", "recvfrom_into", "recvmsg")


def _describe_fd(event: Event, described: str = "") -> str:
    if event.fd is None:
        return ""
    where = f"fd {event.fd}"
    ep = event.endpoint
    if described and (ep is None or ep.kind != "pipe"):
        return f"{where} ({described})"
    if ep is None:
        return where
    if ep.kind == "pipe":
        end = "read end" if event.call == "read" else "write end" if event.call == "write" else "end"
        return f"{where} (pipe {end})"
    addr = ""
    if event.local is not None:
        addr = f" {event.local}"
        if event.peer is not None:
            addr += f" -> {event.peer}"
    return f"{where} ({ep.kind}{addr})"


def event_line(event: Event, role: str, start: int, described: str = "") -> str:
    t = (event.t0 - start) / 1e6
    parts = [f"{t:10.3f} ms", f"{role} [{event.pid}]".ljust(28), event.call]
    detail = _describe_fd(event, described)
    if detail:
        parts.append(detail)
    if event.args and event.call in _ARGS_SHOWN:
        parts.append(_show_args(event))
    if event.call in _DATAGRAM_CALLS and event.peer is not None:  # each datagram carries its address
        parts.append(("to " if event.call == "sendto" else "from ") + str(event.peer))
    payload = show_payload(event)
    if payload:
        parts.append(payload)
    result = show_result(event)
    if result:
        parts.append(result)
    if described and event.endpoint is not None and event.endpoint.kind == "pipe":
        parts.append(f"[{described.split(' ')[0]}]")  # which pipe: pipe#1, pipe#2
    return "  ".join(p for p in parts if p)


def _show_args(event: Event) -> str:
    if event.call in ("spawn", "exec") and "argv" in event.args:
        argv = event.args["argv"]
        return " ".join(argv) if isinstance(argv, list) else str(argv)
    if event.call == "exception":
        return f"{event.args.get('type', '')}: {event.args.get('message', '')}"
    return ", ".join(f"{k}={v}" for k, v in event.args.items() if k not in ("argv", "cwd"))


def packet_line(packet: Packet, start: int, isn: dict[tuple[str, int | None], int]) -> str:
    """A packet as Wireshark's flow graph would name it: `TCP 127.0.0.1:54012 → :8080 [PSH, ACK] seq=1 ack=1 len=15`."""
    t = (packet.ts - start) / 1e6
    what = f"{packet.proto.upper()} {packet.src} → {packet.dst}"
    if packet.proto == "tcp":
        src, dst = (packet.src.host, packet.src.port), (packet.dst.host, packet.dst.port)
        fields = [f"[{show_flags(packet.flags)}]"]
        if packet.seq is not None and src in isn:
            fields.append(f"seq={(packet.seq - isn[src]) % (1 << 32)}")
        if TcpFlags.ACK in packet.flags and packet.ack is not None and dst in isn:
            fields.append(f"ack={(packet.ack - isn[dst]) % (1 << 32)}")
        fields.append(f"len={packet.length}")
        what += " " + " ".join(fields)
    else:
        what += f" len={packet.length}"
    return f"{t:10.3f} ms  {'~~ wire ~~'.ljust(28)}  {what}"


def _isns(trace: Trace) -> dict[tuple[str, int | None], int]:
    isn: dict[tuple[str, int | None], int] = {}
    for p in sorted(trace.packets, key=lambda p: p.index):
        if p.proto != "tcp" or p.seq is None:
            continue
        key = (p.src.host, p.src.port)
        if TcpFlags.SYN in p.flags:
            isn[key] = p.seq
        else:
            isn.setdefault(key, p.seq - 1)
    return isn


def timeline(trace: Trace) -> str:
    """Every call (and packet) of a trace, one a line, in happens-before order; time order if linking fails."""
    roles = {p.pid: p.role for p in trace.processes}
    start = trace.header.started or (trace.events[0].t0 if trace.events else 0)
    try:
        from ipctrace.link import link
        from ipctrace.order import PacketNode, order

        ordered = order(link(trace))
    except Exception:  # noqa: BLE001 - the timeline must print even for a trace the linker rejects
        lines = [event_line(e, roles.get(e.pid, str(e.pid)), start) for e in trace.events]
        return "\n".join(lines) + "\n"
    events = {e.key: e for e in trace.events}
    packets = {p.index: p for p in trace.packets}
    isn = _isns(trace)
    lines = []
    for node in ordered.order:
        if isinstance(node, PacketNode):
            if node.index in packets:
                lines.append(packet_line(packets[node.index], start, isn))
            continue
        event = events[node]
        lines.append(event_line(event, roles.get(event.pid, str(event.pid)), start, ordered.linked.describe(event)))
    return "\n".join(lines) + "\n"


class TextRenderer(Renderer):
    """The layout model as plain text: lanes in columns is too wide for a terminal, so one row a line."""

    name = "text"
    output_file_extension = "txt"

    def render(self, diagram) -> str:  # type: ignore[no-untyped-def]
        from ipctrace.render.layout import Diagram

        assert isinstance(diagram, Diagram)
        return render_rows(diagram)


def render_rows(diagram) -> str:  # type: ignore[no-untyped-def]
    """Each row: the lane's name, then what happens there; arrows as `→ lane`, loops indented."""
    names = {lane.id: lane.title for lane in diagram.lanes}
    width = max((len(n) for n in names.values()), default=8) + 2
    per_row: dict[int, list[str]] = {}
    for call in diagram.calls:
        per_row.setdefault(call.row, []).append(call.text)
    for note in diagram.notes:
        text = " ⏎ ".join(line.text + (f" ⌨ {line.typed}" if line.typed else "") for line in note.lines)
        per_row.setdefault(note.row, []).append(f"“{text}”")
    for arrow in diagram.arrows:
        row = arrow.dst_row if arrow.kind == "msg" else arrow.src_row
        what = f"{names.get(arrow.src, arrow.src)} ─▶ {names.get(arrow.dst, arrow.dst)}: {arrow.label}"
        if arrow.detail:
            what += f" ({arrow.detail})"
        per_row.setdefault(row, []).append(what)
    for bar in diagram.bars:
        if bar.kind in ("wait", "sleep"):
            per_row.setdefault(bar.row0, []).append(f"┬ {bar.kind}s")
    starts = {lane.first_row: lane for lane in diagram.lanes}
    fold_at = {f.row0: f for f in diagram.folds}
    fold_end = {f.row1 for f in diagram.folds}
    out = [diagram.title, diagram.subtitle, ""]
    indent = ""
    for row in diagram.rows:
        if row.index in fold_at:
            fold = fold_at[row.index]
            out.append(f"┌ {fold.label}  {fold.detail}".rstrip())
            indent = "│ "
        if row.index in starts:
            lane = starts[row.index]
            out.append(f"{indent}{'':>{width}}  ▭ {lane.title} ({lane.subtitle})")
        lane_name = names.get(row.lane, row.lane)
        for item in per_row.get(row.index, []):
            out.append(f"{indent}{lane_name:>{width}}  {item}")
        for lane in diagram.lanes:
            if lane.kind == "process" and lane.last_row == row.index and lane.end:
                out.append(f"{indent}{names[lane.id]:>{width}}  ■ {lane.end}")
        if row.index in fold_end:
            out.append("└")
            indent = ""
    return "\n".join(out) + "\n"
