"""Byte streams: which bytes of which write came out of which read, checked by content.

Pipes, socketpair stream directions and Unix/TCP connection directions all
reduce to one ordered byte stream per channel; `stream_flows` cuts it into
flows. Payloads are compared wherever both sides recorded them; a read whose
bytes agree with a later part of the stream than the next one skipped ahead:
the bytes in between were taken by a read nobody recorded, and say so.
"""

from __future__ import annotations

import itertools
import operator
from collections import defaultdict, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ipctrace.calls import RECEIVES, SENDS
from ipctrace.display import show_bytes
from ipctrace.link.channels import Direction
from ipctrace.link.eof import is_eof_read
from ipctrace.link.helpers import agree, call_named, done_at, in_time_order, known, peeks, time_key
from ipctrace.link.model import Channel, ChannelId, EndpointInfo, Flow, Gap, GapKind
from ipctrace.model import STREAM_KINDS, Event, EventKey, Inode, Pid

_tuple_new = tuple.__new__
_DATA, _SIZE, _KEY = operator.attrgetter("data"), operator.attrgetter("size"), operator.attrgetter("key")
_T0, _T1 = operator.attrgetter("t0"), operator.attrgetter("t1")
_THREAD = operator.attrgetter("pid", "tid")
_ALL_OK = (True, True, True, True)

#: How many pending writes a read that disagrees with the next one is compared with, to find where it skipped to.
SKIP_LOOKAHEAD = 8
#: Fewest recorded bytes a read must have to be placed further on in the stream by content alone.
SKIP_MIN_BYTES = 4


class _Piece:
    """A write being taken apart by reads: how much of it is consumed, where it started in the stream."""

    __slots__ = ("event", "size", "start", "taken")

    def __init__(self, event: Event) -> None:
        self.event = event
        self.size: int = event.size or 0
        self.taken = 0
        self.start: int | None = None

    @property
    def left(self) -> int:
        return self.size - self.taken


@dataclass(frozen=True, slots=True)
class StreamResult:
    flows: tuple[Flow, ...]
    problems: tuple[str, ...]
    sends: tuple[EventKey, ...]
    recvs: tuple[EventKey, ...]
    gaps: tuple[Gap, ...] = ()


class _Writes:
    """The writes not yet read, one queue per writing thread.

    A thread's writes never overlap in time, so only the first pending write
    of each thread can be the next one into the channel: the choice among
    concurrent writers stays small however long the stream.
    """

    def __init__(self, writes: Iterable[Event]) -> None:
        self.queues: dict[tuple[Pid, int], deque[_Piece]] = defaultdict(deque)
        for w in in_time_order(writes):
            self.queues[(w.pid, w.tid)].append(_Piece(w))
        self.single = self.queues[next(iter(self.queues))] if len(self.queues) == 1 else None

    def next_for(self, read: Event, want: bytes) -> _Piece | None:
        """Take the write whose bytes `read` meets next.

        Writes go in by the time they returned; one that began before the
        earliest pending write returned may have gone in first, so among those
        the one whose recorded bytes agree with what the read got wins. A
        write that began after the read returned cannot be in it.
        """
        queue = self.single
        if queue is not None:  # one writing thread: its next write, if it began before the read returned
            if not queue or queue[0].event.t0 > (read.t0 if read.t1 is None else read.t1):
                return None
            return queue.popleft()
        heads = [q[0] for q in self.queues.values() if q]
        if not heads:
            return None
        if len(heads) > 1:
            heads.sort(key=lambda p: time_key(p.event))
        limit = min(done_at(heads[0].event), done_at(read))
        candidates = [p for p in heads if p.event.t0 <= limit]
        if not candidates:
            return None
        chosen = candidates[0]
        if len(candidates) > 1:
            chosen = next((p for p in candidates if agree(known(p.event.data, 0, len(want)), want)), chosen)
        self.queues[(chosen.event.pid, chosen.event.tid)].popleft()
        return chosen

    def skip_to(self, cur: _Piece, read: Event, want: bytes) -> int | None:
        """How many bytes of the stream, from `cur`'s next one, a read that disagrees with them skipped.

        None when the read's bytes are found nowhere close ahead (a real disagreement). Pending writes
        of `cur`'s thread are looked at in order, up to SKIP_LOOKAHEAD of them.
        """
        if len(want) < SKIP_MIN_BYTES:
            return None
        data = cur.event.data or b""
        found = data.find(want, cur.taken + 1)
        if found >= 0 and found + len(want) <= len(data):
            return found - cur.taken
        skipped = cur.left
        queue = self.queues.get((cur.event.pid, cur.event.tid), deque())
        for i, piece in enumerate(queue):
            if i >= SKIP_LOOKAHEAD or read.t1 is not None and piece.event.t0 > read.t1:
                break
            if agree(known(piece.event.data, 0, len(want)), want) and piece.event.data:
                return skipped
            skipped += piece.left
        return None

    def rest(self) -> list[_Piece]:
        return sorted((p for q in self.queues.values() for p in q), key=lambda p: time_key(p.event))


class _Matcher:
    """The state of one channel's match: the flows so far, the stream offset, the write being read."""

    def __init__(self, channel_id: ChannelId, sender_traced: bool) -> None:
        self.cid = channel_id
        self.pending = _Writes(())  # the writes not yet read: all of them, or those `whole_pairs` left
        self.sender_traced = sender_traced
        self.flows: list[Flow] = []
        self.problems: list[str] = []
        self.gaps: list[Gap] = []
        self.order: list[EventKey] = []
        self.offset = 0
        self.cur: _Piece | None = None

    def whole_pairs(self, writes: Sequence[Event], reads: Sequence[Event]) -> int:
        """Match the first reads that each take one write whole, in C; how many reads that was.

        The usual stream (one writing thread, each read getting exactly the next write's recorded
        bytes, after that write began) is what `read` would make of it one call at a time: a flow from
        each write to its read, at the stream offset the sizes before it add up to. The first read
        that is not so, and all after it, are left to `read`; only the writes they may take are
        queued (`_Writes`).
        """
        if not writes or not reads or len(set(map(_THREAD, writes))) != 1:
            self.pending = _Writes(writes)
            return 0
        writes = in_time_order(writes)
        rdata = list(map(_DATA, reads))
        k = 0
        if None not in rdata and None not in map(_T1, reads):
            sizes = list(map(_SIZE, writes))
            ok = zip(
                map(operator.eq, sizes, map(_SIZE, reads)),
                map(operator.eq, map(_DATA, writes), rdata),
                map(operator.le, map(len, rdata), sizes),  # all of the bytes recorded (or fewer: a capped payload)
                map(operator.le, map(_T0, writes), map(_T1, reads)),  # the write began before the read returned
                strict=False,
            )
            k = next(itertools.compress(itertools.count(), map(operator.ne, ok, itertools.repeat(_ALL_OK))), len(sizes))
            k = min(k, len(reads))
        self.pending = _Writes(writes[k:])
        if k == 0:
            return 0
        offsets = list(itertools.accumulate(sizes[:k], initial=0))
        wkeys = list(map(_KEY, writes[:k]))
        self.flows.extend(
            map(
                _tuple_new,
                itertools.repeat(Flow),
                zip(
                    itertools.repeat(self.cid, k),
                    wkeys,
                    map(_KEY, reads[:k]),
                    sizes[:k],
                    itertools.repeat(0),
                    itertools.repeat(0),
                    offsets,
                    rdata[:k],
                    strict=False,
                ),
            )
        )
        self.order.extend(wkeys)
        last = self.cur = _Piece(writes[k - 1])  # the last write taken, read to its end
        last.start, last.taken = offsets[k - 1], last.size
        self.offset = offsets[k]
        return k

    def read(self, r: Event) -> None:
        size, roff = r.size or 0, 0
        while roff < size:
            cur = self.cur
            if cur is None or cur.size == cur.taken:
                want = b"" if self.pending.single is not None else known(r.data, roff, size - roff)  # (unused by one)
                cur = self.cur = self.pending.next_for(r, want)
                if cur is None:
                    self._unexplained(r, roff, size - roff)
                    return
                cur.start = self.offset
                self.order.append(cur.event.key)
            roff += self._take(r, roff, size - roff)

    def _take(self, r: Event, roff: int, want: int) -> int:
        cur = self.cur
        assert cur is not None
        taken = cur.taken
        n = min(want, cur.size - taken)
        rdata, wdata = r.data, cur.event.data
        # What each side recorded of these bytes (`known`), the usual case (all of both payloads) first.
        got = rdata if roff == 0 and rdata is not None and n >= len(rdata) else known(rdata, roff, n)
        sent = wdata if taken == 0 and wdata is not None and n >= len(wdata) else known(wdata, taken, n)
        if got == sent:
            self.flows.append(_tuple_new(Flow, (self.cid, cur.event.key, r.key, n, taken, roff, self.offset, got)))
        elif not agree(got, sent):
            skip = self.pending.skip_to(cur, r, known(r.data, roff, want))
            if skip is not None:
                self._skipped(r, skip)
                return 0
            self.problems.append(
                f"{self.cid}: {call_named(r)} got {show_bytes(got)} at stream offset {self.offset}, "
                f"but {call_named(cur.event)} wrote {show_bytes(sent)} there; not linked."
            )
            self.flows.append(Flow(self.cid, cur.event.key, None, n, cur.taken, 0, self.offset, sent))
            self.flows.append(Flow(self.cid, None, r.key, n, 0, roff, self.offset, got))
            self.gaps.append(Gap(GapKind.UNREAD, self.cid, n, cur.event.key, self.problems[-1]))
            self.gaps.append(Gap(GapKind.UNEXPLAINED, self.cid, n, r.key, self.problems[-1]))
        else:
            data = got if len(got) > len(sent) else sent
            self.flows.append(Flow(self.cid, cur.event.key, r.key, n, cur.taken, roff, self.offset, data))
        cur.taken += n
        self.offset += n
        return n

    def _skipped(self, r: Event, skip: int) -> None:
        """The next `skip` bytes were taken by a read nobody recorded: unread by any traced call."""
        first = self.offset
        while skip > 0:
            cur = self.cur
            if cur is None or cur.left == 0:
                cur = self.cur = self.pending.next_for(r, b"")
                if cur is None:
                    break
                cur.start = self.offset
                self.order.append(cur.event.key)
            n = min(skip, cur.left)
            self.flows.append(
                Flow(self.cid, cur.event.key, None, n, cur.taken, 0, self.offset, known(cur.event.data, cur.taken, n))
            )
            cur.taken += n
            self.offset += n
            skip -= n
        text = (
            f"{self.cid}: {call_named(r)} skipped {self.offset - first} bytes at stream offset {first}: "
            "a read nobody recorded took them."
        )
        self.gaps.append(Gap(GapKind.SKIPPED, self.cid, self.offset - first, r.key, text))

    def _unexplained(self, r: Event, roff: int, n: int) -> None:
        got = known(r.data, roff, n)
        self.flows.append(Flow(self.cid, None, r.key, n, 0, roff, self.offset, got))
        text = (
            f"{self.cid}: {call_named(r)} got {n} bytes {show_bytes(got)} "
            f"at stream offset {self.offset} that no traced send wrote."
        )
        if self.sender_traced:
            self.problems.append(text)
        self.gaps.append(Gap(GapKind.UNEXPLAINED, self.cid, n, r.key, text))
        self.offset += n

    def finish(self, reads: Sequence[Event]) -> StreamResult:
        rest = ([self.cur] if self.cur is not None and self.cur.left > 0 else []) + self.pending.rest()
        for p in rest:
            if p.start is None:
                self.order.append(p.event.key)
            data = known(p.event.data, p.taken, p.left)
            self.flows.append(Flow(self.cid, p.event.key, None, p.left, p.taken, 0, self.offset, data))
            text = f"{self.cid}: {p.left} bytes {show_bytes(data)} of {call_named(p.event)} were never read."
            self.gaps.append(Gap(GapKind.UNREAD, self.cid, p.left, p.event.key, text))
            self.offset += p.left
        return StreamResult(
            tuple(self.flows), tuple(self.problems), tuple(self.order), tuple(r.key for r in reads), tuple(self.gaps)
        )


def stream_flows(
    channel_id: ChannelId, writes: Sequence[Event], reads: Sequence[Event], sender_traced: bool = True
) -> StreamResult:
    """Match a channel's byte stream: all writes in the order they went in, all reads in the order they took.

    Several writers or readers (fork copies fds) are fine; a process reading
    its own write back is a flow from itself to itself. Bytes read that no
    write explains are a problem when the sending side was traced.
    """
    matcher = _Matcher(channel_id, sender_traced)
    reads = in_time_order(reads)
    for r in itertools.islice(reads, matcher.whole_pairs(writes, reads), None):
        matcher.read(r)
    return matcher.finish(reads)


# -- the stream calls of a trace, and one channel direction built from them -------------------------


@dataclass(frozen=True, slots=True)
class StreamCalls:
    """The calls that move stream bytes, per inode: sends, receives, and reads that saw EOF."""

    sends: Mapping[Inode, list[Event]]
    recvs: Mapping[Inode, list[Event]]
    eof_reads: Mapping[Inode, list[Event]]

    @staticmethod
    def collect(events: Iterable[Event]) -> StreamCalls:
        sends: dict[Inode, list[Event]] = defaultdict(list)
        recvs: dict[Inode, list[Event]] = defaultdict(list)
        eof_reads: dict[Inode, list[Event]] = defaultdict(list)
        for e in events:  # once a call: what `moves_data_out` and `moves_data_in` say, without their calls
            ep = e.endpoint
            if ep is None or ep.kind not in STREAM_KINDS:
                continue
            moves = e.error is None and e.size
            if moves and e.call in SENDS:
                sends[ep.inode].append(e)
            elif moves and e.call in RECEIVES and not peeks(e):
                recvs[ep.inode].append(e)
            elif is_eof_read(e):
                eof_reads[ep.inode].append(e)
        for reads in eof_reads.values():
            reads.sort(key=time_key)
        return StreamCalls(dict(sends), dict(recvs), dict(eof_reads))


def stream_channel(
    cid: ChannelId, d: Direction, calls: StreamCalls, infos: Mapping[Inode, EndpointInfo]
) -> tuple[Channel, StreamResult]:
    """One direction of a pipe, socketpair or connection, and its flows."""
    writes = calls.sends.get(d.src, []) if d.src else []
    reads = calls.recvs.get(d.dst, []) if d.dst else []
    result = stream_flows(cid, writes, reads, sender_traced=d.src is not None)
    if d.src is None and any(f.send is None for f in result.flows):
        untraced = sum(f.length for f in result.flows if f.send is None)
        problem = f"{cid}: the sending side ran untraced; {untraced} received bytes have no send to link to."
        gaps = tuple(
            Gap(g.kind, g.channel, g.length, g.event, f"{g.text[:-1]} (the sending side ran untraced).")
            if g.kind is GapKind.UNEXPLAINED
            else g
            for g in result.gaps
        )
        result = StreamResult(result.flows, (*result.problems, problem), result.sends, result.recvs, gaps)
    src = infos[d.src].endpoint if d.src else None
    dst = infos[d.dst].endpoint if d.dst else None
    return Channel(cid, True, src, dst, d.src_addr, d.dst_addr, result.sends, result.recvs), result


def unplaced(calls: StreamCalls, placed: set[Inode]) -> list[Gap]:
    gaps: list[Gap] = []
    for ino in calls.sends.keys() | calls.recvs.keys():
        if ino in placed:
            continue
        sent, got = calls.sends.get(ino, []), calls.recvs.get(ino, [])
        kind = sent[0].endpoint.kind if sent and sent[0].endpoint else got[0].endpoint.kind if got[0].endpoint else ""
        text = (
            f"a {kind} socket (inode {ino.ino}) moved {sum(e.size or 0 for e in (*sent, *got))} bytes "
            "but its connection was not recorded (no connect, accept or socketpair); those bytes are not linked."
        )
        gaps.extend(Gap(GapKind.UNREAD, None, e.size or 0, e.key, text) for e in sent)
        gaps.extend(Gap(GapKind.UNEXPLAINED, None, e.size or 0, e.key, text) for e in got)
    return sorted(gaps, key=lambda g: g.text)
