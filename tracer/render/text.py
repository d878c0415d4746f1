"""The text timeline, for the terminal and `ipctrace show`: one line per call or packet, in causal order.

`timeline(trace)` links and orders the trace itself and falls back to time
order when linking fails, so `ipctrace run` / `show` always print something.
Packets appear between the call that sent them and the call they completed,
with TCP flags, relative seq/ack and length; fds are named by what they are
(`pipe#1 write end`, `TCP 127.0.0.1:54012 → 127.0.0.1:8080`); a run that
ended the way its scenario expects says so, with the scenario's explanation.
`TextRenderer` draws the same layout model as the diagrams, one row a line.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from ipctrace.calls import RECEIVES, SENDS, Call, Trait, spec
from ipctrace.eventlines import compiled_said_key
from ipctrace.model import EVENT_FIELDS, Event, Packet, SockAddr, TcpFlags, Trace
from ipctrace.render.base import Parts, Renderer
from ipctrace.render.labels import msg_flags, show_flags, show_payload, show_result
from ipctrace.render.layout.measure import note_text
from ipctrace.render.layout.model import BarKind, Diagram, LaneId

_ARGS_SHOWN = frozenset({Call.SLEEP, Call.BIND, Call.CONNECT, Call.LISTEN, Call.FORK, Call.KILL, Call.WAITPID})
_DATA_CALLS = SENDS | RECEIVES  # calls whose `flags` argument is shown (MSG_PEEK, ...)
_ARGS_SHOWN |= {Call.EXIT, Call.SHUTDOWN, Call.EXCEPTION, Call.SPAWN, Call.EXEC}


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
        end = "read end" if event.call is Call.READ else "write end" if event.call is Call.WRITE else "end"
        return f"{where} (pipe {end})"
    addr = ""
    if event.local is not None:
        addr = f" {event.local}"
        if event.peer is not None:
            addr += f" -> {event.peer}"
    return f"{where} ({ep.kind}{addr})"


def _show_args(event: Event) -> str:
    if event.call in (Call.SPAWN, Call.EXEC) and "argv" in event.args:
        argv = event.args["argv"]
        return " ".join(argv) if isinstance(argv, list) else str(argv)
    if event.call is Call.EXCEPTION:
        return f"{event.args.get('type', '')}: {event.args.get('message', '')}"
    return ", ".join(f"{k}={v}" for k, v in event.args.items() if k not in ("argv", "cwd"))


def event_line(event: Event, role: str, start: int, described: str = "") -> str:
    return f"{(event.t0 - start) / 1e6:10.3f} ms  {_event_text(event, role, described)}"


def _event_text(event: Event, role: str, described: str) -> str:
    """What `event_line` says after the time."""
    parts = [f"{role} [{event.pid}]".ljust(28), str(event.call)]
    parts.append(_describe_fd(event, described))
    if event.args and event.call in _ARGS_SHOWN:
        parts.append(_show_args(event))
    flags = event.args.get("flags") if event.call in _DATA_CALLS else None
    if isinstance(flags, int) and flags:
        parts.append(msg_flags(flags))
    if event.peer is not None and event.call is not Call.ACCEPT:
        row = spec(event.call)
        if row.has(Trait.HAS_ADDRESS) and (row.has(Trait.SENDS) or row.has(Trait.RECEIVES)):  # each datagram's address
            parts.append(("to " if row.has(Trait.SENDS) else "from ") + str(event.peer))
    parts.append(show_payload(event))
    parts.append(show_result(event))
    if described and event.endpoint is not None and event.endpoint.kind == "pipe":
        parts.append(f"[{described.split(' ')[0]}]")  # which pipe: pipe#1, pipe#2
    return "  ".join([p for p in parts if p])


def packet_line(packet: Packet, start: int, isn: dict[SockAddr, int]) -> str:
    """A packet as Wireshark's flow graph would name it: `TCP 127.0.0.1:54012 → :8080 [PSH, ACK] seq=1 ack=1 len=15`."""
    t = (packet.ts - start) / 1e6
    what = f"{packet.proto.upper()} {packet.src} → {packet.dst}"
    if packet.proto == "tcp":
        fields = [f"[{show_flags(packet.flags)}]"]
        if packet.seq is not None and packet.src in isn:
            fields.append(f"seq={(packet.seq - isn[packet.src]) % (1 << 32)}")
        if TcpFlags.ACK in packet.flags and packet.ack is not None and packet.dst in isn:
            fields.append(f"ack={(packet.ack - isn[packet.dst]) % (1 << 32)}")
        fields.append(f"len={packet.length}")
        what += " " + " ".join(fields)
    else:
        what += f" len={packet.length}"
    return f"{t:10.3f} ms  {'~~ wire ~~'.ljust(28)}  {what}"


def _isns(trace: Trace) -> dict[SockAddr, int]:
    isn: dict[SockAddr, int] = {}
    for p in sorted(trace.packets, key=lambda p: p.index):
        if p.proto != "tcp" or p.seq is None:
            continue
        if TcpFlags.SYN in p.flags:
            isn[p.src] = p.seq
        else:
            isn.setdefault(p.src, p.seq - 1)
    return isn


def ending_lines(trace: Trace) -> list[str]:
    """How the run ended, when its scenario expected it to end that way (`udp_file`: blocked forever)."""
    header = trace.header
    if header.ending == "expected-blocked" and header.ending_note:
        return ["", f"ended as the scenario expects: {header.ending_note}"]
    return []


def timeline(trace: Trace) -> str:
    """Every call (and packet) of a trace, one a line, in happens-before order; time order if linking fails."""
    return "".join(timeline_chunks(trace))


def timeline_chunks(trace: Trace, lines_per_chunk: int = 4096) -> Iterator[str]:
    """The text of `timeline`, a few thousand lines at a time (each chunk ends in a newline).

    `ipctrace show` writes each chunk as it comes, so a million-event timeline never sits in memory
    as one string besides its lines.
    """
    lines = _timeline_lines(trace)
    chunk = list(itertools.islice(lines, lines_per_chunk))
    if not chunk:
        yield "\n"  # no line at all still prints one empty line, as it always did
    while chunk:
        yield "\n".join(chunk) + "\n"
        chunk = list(itertools.islice(lines, lines_per_chunk))


def _timeline_lines(trace: Trace) -> Iterator[str]:
    roles = {p.pid: p.role for p in trace.processes}
    start = trace.header.started or (trace.events[0].t0 if trace.events else 0)
    try:
        from ipctrace.link import link
        from ipctrace.order import nodes_in_order, order

        ordered = order(link(trace))
    except Exception:  # noqa: BLE001 - the timeline must print even for a trace the linker rejects
        for e in trace.events:
            yield event_line(e, roles.get(e.pid, str(e.pid)), start)
        yield from ending_lines(trace)
        return
    isn = _isns(trace)
    describe, ends = ordered.linked.describe, ordered.linked.pipe_ends
    said: dict[tuple[Any, ...], str] = {}
    pid, call, data, blocked = _SAID_AS_IS
    fd, endpoint, args, result, error, size, local, peer = _SAID_FROM
    said_key = compiled_said_key()
    for item in nodes_in_order(ordered):
        if type(item) is Packet:
            yield packet_line(item, start, isn)
            continue
        event: Event = item  # type: ignore[assignment]
        # Everything a line says but its time comes from these fields, and from what `describe` says of
        # the fd (which is the endpoint's and the pipe end's alone): a line like one said before (the
        # same objects: a trace shares them between calls alike) is said again without working it out.
        # The fields by their place in the tuple an Event is (`EVENT_FIELDS`): this runs once a line.
        # Compiled (eventlines_c.c), the same fields make the key with the objects' identities packed
        # into one bytes object: 1.6 of the 2.7 CPU-s the timeline of 10^6 events took went to this key.
        if said_key is not None:
            key: tuple[Any, ...] = said_key(event, ends, _KEY, _SAID_AS_IS, _SAID_FROM)
        else:
            key = (
                ends.get(event.key),
                event[pid],
                event[call],
                event[data],
                event[blocked],
                id(event[fd]),
                id(event[endpoint]),
                id(event[args]),
                id(event[result]),
                id(event[error]),
                id(event[size]),
                id(event[local]),
                id(event[peer]),
            )
        text = said.get(key)
        if text is None:
            if len(said) >= _MAX_SAID:
                said.clear()
            text = said[key] = _event_text(event, roles.get(event.pid, str(event.pid)), describe(event))
        # `%` formats the float in C (an f-string's `:10.3f` took twice as long), the same digits
        yield "%10.3f ms  %s" % ((event.t0 - start) / 1e6, text)  # noqa: UP031
    yield from ending_lines(trace)


#: The fields `_event_text` reads: those hashed in C as they are, and the others by object (while the
#: trace is alive, the same objects mean the same text); as places in an Event's tuple.
_SAID_AS_IS = tuple(EVENT_FIELDS.index(name) for name in ("pid", "call", "data", "blocked"))
_KEY = EVENT_FIELDS.index("key")
_SAID_FROM = tuple(
    EVENT_FIELDS.index(name) for name in ("fd", "endpoint", "args", "result", "error", "size", "local", "peer")
)
_MAX_SAID = 1 << 16


def _said_at(diagram: Diagram, names: dict[LaneId, str]) -> dict[int, list[str]]:
    """What each row says: its calls, printed lines, the arrows leaving it, the bars starting there."""
    per_row: dict[int, list[str]] = defaultdict(list)
    for call in diagram.calls:
        per_row[call.row].append(" · ".join((call.text, *call.details, *call.mark)))
    for note in diagram.notes:
        text = "".join(
            ("" if n == 0 else " " if line.continued else " ⏎ ") + note_text(line).plain
            for n, line in enumerate(note.lines)
        )
        per_row[note.row].append(f"“{text}”")
    for arrow in diagram.arrows:
        what = f"{names.get(arrow.src, arrow.src)} ─▶ {names.get(arrow.dst, arrow.dst)}: {arrow.label}"
        per_row[arrow.src_row].append(f"{what} ({arrow.detail})" if arrow.detail else what)
    for bar in diagram.bars:
        if bar.kind in (BarKind.WAIT, BarKind.SLEEP):
            per_row[bar.row0].append(f"┬ {bar.kind.value}s")
    return per_row


def render_rows(diagram: Diagram) -> str:
    """Each row: the lane's name, then what happens there; arrows as `─▶ lane`, loops indented."""
    names = {lane.id: lane.title for lane in diagram.lanes}
    width = max((len(n) for n in names.values()), default=8) + 2
    per_row = _said_at(diagram, names)
    starts = {lane.first_row: lane for lane in diagram.lanes}
    ends: dict[int, list[str]] = defaultdict(list)
    for lane in diagram.lanes:
        if lane.end is not None:
            why = f" — {lane.end.note}" if lane.end.note else ""
            ends[lane.last_row].append(f"{names[lane.id]:>{width}}  ■ {lane.end.text}{why}")
    fold_at = {f.row0: f for f in diagram.folds}
    fold_end = {f.row1 for f in diagram.folds}
    out = [diagram.title, *([diagram.caption] if diagram.caption else []), diagram.subtitle, ""]
    indent = ""
    for row in diagram.rows:
        if row.index in fold_at:
            out.append(f"┌ {fold_at[row.index].label}: {fold_at[row.index].detail}")
            indent = "│ "
        if row.index in starts:
            out.append(f"{indent}{'':>{width}}  ▭ {starts[row.index].title} ({starts[row.index].subtitle})")
        lane_name = names.get(row.lane, str(row.lane))
        out.extend(f"{indent}{lane_name:>{width}}  {item}" for item in per_row.get(row.index, []))
        out.extend(f"{indent}{line}" for line in ends.get(row.index, []))
        if row.index in fold_end:
            out.append("└")
            indent = ""
    return "\n".join(out) + "\n"


class TextRenderer(Renderer):
    """The layout model as plain text: lanes in columns is too wide for a terminal, so one row a line."""

    name = "text"
    output_file_extension = "txt"

    def render(self, diagram: Diagram) -> Parts:
        return (render_rows(diagram),)
