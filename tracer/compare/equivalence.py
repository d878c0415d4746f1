"""What the kernel decides, not the program: how a byte stream is split into reads, which ended child a wait gets.

Two runs of one program are the same IPC when their happens-before graphs are
the same after naming (Mazurkiewicz-trace equivalence): each process's calls
in program order, joined by the messages, forks and waits between them. How
independent processes interleaved never shows in the form, since it keeps no
global order. Two more choices belong to the kernel, not to the program:

- **read boundaries on byte streams** (pipes, FIFOs, Unix stream sockets,
  TCP): whether `'hello'` and `'bye'` arrive in one read or two. By default
  consecutive reads of one thread on one stream endpoint, with no other call
  between them, are one read in the form: the bytes in order, their total
  size. A read that returned end of file stays its own call, and what the
  program did with what it read (printed it, sent it on) is compared in those
  calls. Datagram boundaries (UDP, Unix datagram sockets) are messages: kept.
  `read_boundaries=True` keeps every read as the kernel split it.
  Likewise consecutive TCP data segments of one direction are one in the form
  (how a stream is cut into segments is the kernel's choice too), and a segment
  TCP sent again (its bytes already on the wire: a retransmission on a loaded
  machine) is left out: what it carried is there once.
- **which ended child a wait for any child returns** when several have ended:
  consecutive such waits are compared as a set, in a fixed order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from ipctrace.calls import RECEIVES, Canon, calls_by_canon
from ipctrace.compare.form import CanonicalCall
from ipctrace.compare.naming import Names
from ipctrace.link import ChannelId, Flow
from ipctrace.model import Event, EventKey, Packet, Proto, TcpFlags

_WAITS = frozenset(c.value for c in calls_by_canon(Canon.WAIT))


@dataclass(frozen=True, slots=True)
class Unit:
    """One call of the form: a single event, or consecutive reads of one stream joined into one."""

    events: tuple[Event, ...]

    @property
    def leader(self) -> Event:
        return self.events[0]


def _joinable(e: Event, names: Names) -> bool:
    """A read that took bytes from a byte stream between programs (not end of file, not the program's stdin)."""
    return (
        e.call in RECEIVES
        and e.endpoint is not None
        and e.endpoint.kind.is_stream
        and not e.failed
        and not e.blocked
        and bool(e.size)
        and names.stream(e) is None
    )


def units(events: Sequence[Event], names: Names, read_boundaries: bool) -> list[Unit]:
    """A process's synchronous events (in program order) as the calls of its form."""
    out: list[list[Event]] = []
    for e in events:
        last = out[-1][-1] if out else None
        if (
            not read_boundaries
            and last is not None
            and _joinable(e, names)
            and _joinable(last, names)
            and (last.tid, last.call, last.endpoint, names.on(last)) == (e.tid, e.call, e.endpoint, names.on(e))
        ):
            out[-1].append(e)
        else:
            out.append([e])
    return [Unit(tuple(evs)) for evs in out]


def joined(first: CanonicalCall, unit: Unit, names: Names) -> CanonicalCall:
    """The form of a unit of several reads: the first read's arguments, the bytes of all, their total size."""
    if len(unit.events) == 1:
        return first
    sizes = [e.size or 0 for e in unit.events]
    pieces = [e.data for e in unit.events]
    if all(p is None for p in pieces):
        return replace(first, size=sum(sizes))
    complete = all(p is not None and len(p) == n for p, n in zip(pieces, sizes, strict=True))
    payload = names.text.payload(b"".join(p or b"" for p in pieces), complete)
    return replace(first, size=sum(sizes), data=payload.text, digest=payload.digest)


def leaders(all_units: Iterable[Unit]) -> Mapping[EventKey, EventKey]:
    """The unit of each event joined into another's, by the unit's first event (events alone are left out)."""
    return {e.key: unit.leader.key for unit in all_units if len(unit.events) > 1 for e in unit.events[1:]}


def joined_flows(flows: Iterable[Flow], leader: Mapping[EventKey, EventKey]) -> list[Flow]:
    """Flows into the reads of one unit joined: one flow per send and unit, its bytes in stream order."""
    if not leader:
        return list(flows)
    groups: dict[tuple[ChannelId, EventKey | None, EventKey | None], list[Flow]] = {}
    for f in flows:
        recv = None if f.recv is None else leader.get(f.recv, f.recv)
        groups.setdefault((f.channel, f.send, recv), []).append(f)
    out = []
    for (_channel, _send, recv), parts in groups.items():
        if len(parts) == 1:
            out.append(parts[0]._replace(recv=recv))
            continue
        parts.sort(key=lambda f: (f.stream_offset or 0, f.recv_offset))
        data = b"".join(f.data for f in parts)
        out.append(parts[0]._replace(recv=recv, length=sum(f.length for f in parts), data=data))
    return out


def _waits_for_any(c: CanonicalCall) -> bool:
    return c.call in _WAITS and c.error is None and c.arg("pid", -1) == -1 and c.arg("options") != "WNOHANG"


def waits_as_sets(calls: Sequence[CanonicalCall]) -> list[CanonicalCall]:
    """Consecutive waits for any child in a fixed order: which ended child each got is the kernel's choice."""
    out: list[CanonicalCall] = []
    run: list[CanonicalCall] = []
    for c in (*calls, None):
        if c is not None and _waits_for_any(c):
            run.append(c)
            continue
        out += sorted(run, key=lambda w: str(w.result)) if len(run) > 1 else run
        run = []
        if c is not None:
            out.append(c)
    return out


_DATA_FLAGS = TcpFlags.PSH | TcpFlags.ACK


def _data_segment(flags: TcpFlags, payload: bytes) -> bool:
    return bool(payload) and flags is not TcpFlags.NONE and not flags & ~_DATA_FLAGS


_SEQ = 1 << 32  # TCP sequence numbers wrap


def first_copies(packets: Iterable[Packet]) -> list[Packet]:
    """The packets in order without TCP's copies: a segment whose bytes (and SYN, FIN) its direction already sent.

    A segment that repeats part of what was sent and carries more keeps only its new bytes. Pure ACKs, which
    take no sequence space, and UDP datagrams are kept as they are.
    """
    reach: dict[tuple[object, object], int] = {}  # (src, dst) -> the sequence number after the last byte sent
    out: list[Packet] = []
    for p in packets:
        seq = p.seq
        if p.proto is not Proto.TCP or seq is None:
            out.append(p)
            continue
        span = len(p.payload) + (TcpFlags.SYN in p.flags) + (TcpFlags.FIN in p.flags)
        key = (p.src, p.dst)
        if span == 0 or key not in reach or (TcpFlags.SYN in p.flags and seq != (reach[key] - 1) % _SEQ):
            out.append(p)  # a pure ACK, a direction's first segment, or a new connection's SYN on the same ports
            reach[key] = (seq + span) % _SEQ
            continue
        sent = (reach[key] - seq) % _SEQ  # how much of it was sent before (0 when it starts where TCP stood)
        if sent >= _SEQ // 2:
            sent = 0  # it starts past what was seen (a segment the capture missed): all of it is new
        if sent >= span:
            continue  # all of it was on the wire already
        out.append(replace(p, payload=p.payload[sent:], flags=p.flags & ~TcpFlags.SYN) if sent else p)
        reach[key] = (seq + span) % _SEQ
    return out


def joined_segments(packets: Sequence[tuple[TcpFlags, bytes]]) -> list[tuple[TcpFlags, bytes]]:
    """Consecutive TCP data segments (no SYN, FIN or RST) of one direction as one: flags and bytes joined.

    Pure ACKs between them (acknowledging the other direction) do not part them; they stay after the joined one.
    """
    out: list[tuple[TcpFlags, list[bytes]]] = []
    open_segment: int | None = None  # where in `out` the segment that later data joins is
    for flags, payload in packets:
        if _data_segment(flags, payload) and open_segment is not None:
            out[open_segment] = (out[open_segment][0] | flags, out[open_segment][1])
            out[open_segment][1].append(payload)
            continue
        out.append((flags, [payload]))
        if _data_segment(flags, payload):
            open_segment = len(out) - 1
        elif not (flags is TcpFlags.ACK and not payload):
            open_segment = None
    return [(flags, b"".join(parts)) for flags, parts in out]
