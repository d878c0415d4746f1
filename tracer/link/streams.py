"""Byte streams: which bytes of which write came out of which read, checked by content.

Pipes, socketpair stream directions and Unix/TCP connection directions all
reduce to one ordered byte stream per channel; `stream_flows` cuts it into
flows. Payloads are compared wherever both sides recorded them.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ipctrace.display import show_bytes
from ipctrace.link.channels import _Direction
from ipctrace.link.eof import _is_eof_read
from ipctrace.link.helpers import _agree, _done, _ino, _known, _peeks, _time_key
from ipctrace.link.model import STREAM_KINDS, Channel, EndpointInfo, Flow, Inode
from ipctrace.model import Event, EventKey, Pid


@dataclass
class _Piece:
    """A write being taken apart by reads: how much of it is consumed, where it started in the stream."""

    event: Event
    taken: int = 0
    start: int | None = None

    @property
    def left(self) -> int:
        return (self.event.size or 0) - self.taken


@dataclass(frozen=True, slots=True)
class StreamResult:
    flows: tuple[Flow, ...]
    problems: tuple[str, ...]
    sends: tuple[EventKey, ...]
    recvs: tuple[EventKey, ...]


class _Writes:
    """The writes not yet read, one queue per writing thread.

    A thread's writes never overlap in time, so only the first pending write
    of each thread can be the next one into the channel: the choice among
    concurrent writers stays small however long the stream.
    """

    def __init__(self, writes: Iterable[Event]) -> None:
        self.queues: dict[tuple[Pid, int], deque[_Piece]] = defaultdict(deque)
        for w in sorted(writes, key=_time_key):
            self.queues[(w.pid, w.tid)].append(_Piece(w))

    def next_for(self, read: Event, want: bytes) -> _Piece | None:
        """Take the write whose bytes `read` meets next.

        Writes go in by the time they returned; one that began before the
        earliest pending write returned may have gone in first, so among those
        the one whose recorded bytes agree with what the read got wins. A
        write that began after the read returned cannot be in it.
        """
        heads = sorted((q[0] for q in self.queues.values() if q), key=lambda p: _time_key(p.event))
        if not heads:
            return None
        limit = min(_done(heads[0].event), _done(read))
        candidates = [p for p in heads if p.event.t0 <= limit]
        if not candidates:
            return None
        chosen = next((p for p in candidates if _agree(_known(p.event.data, 0, len(want)), want)), candidates[0])
        self.queues[(chosen.event.pid, chosen.event.tid)].popleft()
        return chosen

    def rest(self) -> list[_Piece]:
        return sorted((p for q in self.queues.values() for p in q), key=lambda p: _time_key(p.event))


def stream_flows(
    channel_id: str, writes: Sequence[Event], reads: Sequence[Event], sender_traced: bool = True
) -> StreamResult:
    """Match a channel's byte stream: all writes in the order they went in, all reads in the order they took.

    Several writers or readers (fork copies fds) are fine; a process reading
    its own write back is a flow from itself to itself. Bytes read that no
    write explains are a problem when the sending side was traced.
    """
    pending = _Writes(writes)
    flows: list[Flow] = []
    problems: list[str] = []
    order: list[EventKey] = []
    offset = 0
    cur: _Piece | None = None
    for r in sorted(reads, key=_time_key):
        size, roff = r.size or 0, 0
        while roff < size:
            if cur is None or cur.left == 0:
                cur = pending.next_for(r, _known(r.data, roff, size - roff))
                if cur is None:
                    got = _known(r.data, roff, size - roff)
                    flows.append(Flow(channel_id, None, r.key, size - roff, 0, roff, offset, got))
                    if sender_traced:
                        problems.append(
                            f"{channel_id}: {r.call} {r.key} got {size - roff} bytes {show_bytes(got)} "
                            f"at stream offset {offset} that no traced send wrote."
                        )
                    offset += size - roff
                    break
                cur.start = offset
                order.append(cur.event.key)
            n = min(size - roff, cur.left)
            got, sent = _known(r.data, roff, n), _known(cur.event.data, cur.taken, n)
            if _agree(got, sent):
                flows.append(
                    Flow(
                        channel_id,
                        cur.event.key,
                        r.key,
                        n,
                        cur.taken,
                        roff,
                        offset,
                        got if len(got) > len(sent) else sent,
                    )
                )
            else:
                problems.append(
                    f"{channel_id}: {r.call} {r.key} got {show_bytes(got)} at stream offset {offset}, "
                    f"but {cur.event.call} {cur.event.key} wrote {show_bytes(sent)} there; not linked."
                )
                flows.append(Flow(channel_id, cur.event.key, None, n, cur.taken, 0, offset, sent))
                flows.append(Flow(channel_id, None, r.key, n, 0, roff, offset, got))
            cur.taken += n
            roff += n
            offset += n
    rest = ([cur] if cur is not None and cur.left > 0 else []) + pending.rest()
    for p in rest:
        if p.start is None:
            order.append(p.event.key)
        flows.append(
            Flow(channel_id, p.event.key, None, p.left, p.taken, 0, offset, _known(p.event.data, p.taken, p.left))
        )
        offset += p.left
    return StreamResult(tuple(flows), tuple(problems), tuple(order), tuple(r.key for r in sorted(reads, key=_time_key)))


# -- the stream calls of a trace, and one channel direction built from them -------------------------


@dataclass(frozen=True, slots=True)
class _StreamCalls:
    """The calls that move stream bytes, per inode: sends, receives, and reads that saw EOF."""

    sends: Mapping[Inode, list[Event]]
    recvs: Mapping[Inode, list[Event]]
    eof_reads: Mapping[Inode, list[Event]]

    @staticmethod
    def collect(events: Iterable[Event]) -> _StreamCalls:
        sends: dict[Inode, list[Event]] = defaultdict(list)
        recvs: dict[Inode, list[Event]] = defaultdict(list)
        eof_reads: dict[Inode, list[Event]] = defaultdict(list)
        for e in events:
            ino = _ino(e.endpoint)
            if ino is None or e.endpoint is None or e.endpoint.kind not in STREAM_KINDS:
                continue
            if e.moves_data_out:
                sends[ino].append(e)
            elif e.moves_data_in and not _peeks(e):
                recvs[ino].append(e)
            elif _is_eof_read(e):
                eof_reads[ino].append(e)
        for reads in eof_reads.values():
            reads.sort(key=_time_key)
        return _StreamCalls(dict(sends), dict(recvs), dict(eof_reads))


def _stream_channel(
    name: str, kind: str, d: _Direction, calls: _StreamCalls, infos: Mapping[Inode, EndpointInfo]
) -> tuple[Channel, StreamResult]:
    cid = f"{name} {d.suffix}" if d.suffix else name
    writes = calls.sends.get(d.src, []) if d.src else []
    reads = calls.recvs.get(d.dst, []) if d.dst else []
    result = stream_flows(cid, writes, reads, sender_traced=d.src is not None)
    if d.src is None and any(f.send is None for f in result.flows):
        untraced = sum(f.length for f in result.flows if f.send is None)
        result = StreamResult(
            result.flows,
            (
                *result.problems,
                f"{cid}: the sending side ran untraced; {untraced} received bytes have no send to link to.",
            ),
            result.sends,
            result.recvs,
        )
    src = infos[d.src].endpoint if d.src else None
    dst = infos[d.dst].endpoint if d.dst else None
    return Channel(cid, name, kind, True, src, dst, d.src_addr, d.dst_addr, result.sends, result.recvs), result


def _unplaced(calls: _StreamCalls, placed: set[Inode | None]) -> list[str]:
    """Stream sockets that moved bytes on a connection nobody recorded opening (inherited from outside)."""
    problems = []
    for ino in calls.sends.keys() | calls.recvs.keys():
        if ino in placed:
            continue
        evs = [*calls.sends.get(ino, []), *calls.recvs.get(ino, [])]
        problems.append(
            f"a {evs[0].endpoint.kind} socket (inode {ino[1]}) moved "  # type: ignore[union-attr]
            f"{sum(e.size or 0 for e in evs)} bytes but its connection was not recorded "
            "(no connect, accept or socketpair); those bytes are not linked."
        )
    return sorted(problems)
