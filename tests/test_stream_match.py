"""The stream matcher's short way (reads that each take one write whole, matched in C) gives what the
one-read-at-a-time way gives, however the stream goes on after it: a read taking part of a write, a read
spanning writes, bytes that disagree, a read that skipped, a write that began after the read returned.
"""

from __future__ import annotations

import pytest

from ipctrace.calls import Call
from ipctrace.link.model import ChannelId, ChannelKind, GroupId
from ipctrace.link.streams import StreamResult, _Matcher, _Writes, stream_flows
from ipctrace.model import Endpoint, EndpointKind, Event

PIPE = Endpoint(14, 5001, EndpointKind.PIPE)
CID = ChannelId(GroupId(ChannelKind.PIPE, 1))
WRITER, READER = 100, 101


def _write(seq: int, t: int, data: bytes, size: int | None = None, tid: int = WRITER) -> Event:
    size = len(data) if size is None else size
    return Event(WRITER, seq, 1, tid, t, t + 10, Call.WRITE, 4, PIPE, result=size, data=data, size=size)


def _read(seq: int, t: int, data: bytes, t1: int | None = None) -> Event:
    t1 = t + 20 if t1 is None else t1
    return Event(READER, seq, 1, READER, t, t1, Call.READ, 3, PIPE, {"n": 100}, len(data), data=data, size=len(data))


def _one_read_at_a_time(writes: list[Event], reads: list[Event]) -> StreamResult:
    """The matcher fed every read through `read`: what the short way must agree with."""
    matcher = _Matcher(CID, sender_traced=True)
    matcher.pending = _Writes(writes)
    ordered = sorted(reads, key=lambda r: (r.t1, r.t0, r.pid, r.seq))
    for r in ordered:
        matcher.read(r)
    return matcher.finish(ordered)


def _pairs(n: int) -> tuple[list[Event], list[Event]]:
    writes = [_write(i, 1000 * i, b"ping%d" % (i % 10)) for i in range(n)]
    reads = [_read(i, 1000 * i + 5, b"ping%d" % (i % 10)) for i in range(n)]
    return writes, reads


def _then(writes: list[Event], reads: list[Event], tail: str) -> tuple[list[Event], list[Event]]:
    n, t = len(writes), 1000 * len(writes)
    if tail == "part of a write":
        writes.append(_write(n, t, b"abcdefgh"))
        reads += [_read(n, t + 5, b"abcd"), _read(n + 1, t + 100, b"efgh")]
    elif tail == "a read spanning writes":
        writes += [_write(n, t, b"abcd"), _write(n + 1, t + 50, b"efgh")]
        reads.append(_read(n, t + 100, b"abcdefgh"))
    elif tail == "bytes that disagree":
        writes.append(_write(n, t, b"abcd"))
        reads.append(_read(n, t + 5, b"wxyz"))
    elif tail == "a read that skipped":
        writes += [_write(n, t, b"skipped!"), _write(n + 1, t + 50, b"wanted!!")]
        reads.append(_read(n, t + 100, b"wanted!!"))
    elif tail == "a write begun after the read returned":
        writes.append(_write(n, t + 500, b"late"))
        reads.append(_read(n, t, b"late", t1=t + 100))
    elif tail == "a capped payload":
        writes.append(_write(n, t, b"abcd", size=10))
        reads.append(_read(n, t + 5, b"abcd"))
    elif tail == "bytes never read":
        writes += [_write(n, t, b"abcd"), _write(n + 1, t + 50, b"efgh")]
    elif tail == "more reads than writes":
        reads += [_read(n, t, b"none"), _read(n + 1, t + 50, b"left")]
    return writes, reads


TAILS = [
    "nothing",
    "part of a write",
    "a read spanning writes",
    "bytes that disagree",
    "a read that skipped",
    "a write begun after the read returned",
    "a capped payload",
    "bytes never read",
    "more reads than writes",
]


@pytest.mark.parametrize("tail", TAILS)
@pytest.mark.parametrize("whole", [0, 1, 50])
def test_whole_pairs_then_anything_match_as_one_read_at_a_time(whole, tail):
    writes, reads = _then(*_pairs(whole), tail)
    short = stream_flows(CID, writes, reads)
    assert short == _one_read_at_a_time(writes, reads)
    assert len(short.flows) >= whole  # (the short way took the whole pairs: each is one flow)


def test_two_writing_threads_go_one_read_at_a_time():
    writes, reads = _pairs(20)
    writes = [_write(w.seq, w.t0, w.data or b"", tid=WRITER + w.seq % 2) for w in writes]
    assert stream_flows(CID, writes, reads) == _one_read_at_a_time(writes, reads)


def test_the_short_way_links_each_write_to_its_read():
    writes, reads = _pairs(5)
    result = stream_flows(CID, writes, reads)
    assert [(f.send, f.recv, f.stream_offset, f.data) for f in result.flows] == [
        (w.key, r.key, 5 * i, r.data) for i, (w, r) in enumerate(zip(writes, reads, strict=True))
    ]
    assert result.sends == tuple(w.key for w in writes) and not result.problems and not result.gaps
