"""Saying what is not known: gaps in linking, the run's summary and summary.json, and an order that never lies.

Gaps are made two ways: by real programs whose bytes come from an untraced
process, and by taking calls out of real traces (a recorder that missed them),
which is exactly what the linker must notice.
"""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path

import pytest

from ipctrace.link import GapKind, link
from ipctrace.model import Event, Trace
from ipctrace.order import effect_time, order
from ipctrace.summary import figures, print_summary
from tests.conftest import require_capture
from tests.test_link_order import calls, run_captured, run_traced


def _without(trace: Trace, *gone: Event) -> Trace:
    keys = {e.key for e in gone}
    return dataclasses.replace(trace, events=tuple(e for e in trace.events if e.key not in keys))


# -- the summary -----------------------------------------------------------------------------------


def test_an_untraced_sender_is_a_gap_in_the_summary_and_in_summary_json(trace_program) -> None:
    result = trace_program("gap_untraced_sender.py")
    assert result.ok and result.ending == "complete"
    out = io.StringIO()
    print_summary(result, out, timeline=False)
    text = out.getvalue()
    assert "ending      complete, with gaps" in text
    assert "unexplained 14 bytes received that no recorded send explains" in text
    (read,) = [e for e in result.trace.events if e.call == "read" and e.size]
    assert f"read at {read.site.file.rsplit('/', 1)[-1]} line {read.site.line}" in text and f"main [{read.pid}]" in text
    summary = json.loads((result.outdir / "summary.json").read_text())
    assert summary["ending"] == "complete, with gaps"
    assert (summary["bytes_received"], summary["unexplained_bytes"], summary["unread_bytes"]) == (14, 14, 0)
    assert summary["bytes_sent"] == 0  # the shell's printf was not recorded
    assert summary["problems"] and all(p.endswith(".") and "\n" not in p for p in summary["problems"])


def test_bytes_sent_counts_only_ipc(trace_program) -> None:
    result = trace_program("ipc_and_files.py")
    numbers = figures(link(result.trace))
    assert (numbers.bytes_sent, numbers.bytes_received) == (5, 5)  # not the temp file, not stdout
    assert numbers.unexplained_bytes == numbers.unread_bytes == 0 and not numbers.has_gaps
    out = io.StringIO()
    print_summary(result, out, timeline=False)
    assert "ending      complete\n" in out.getvalue() and "unexplained" not in out.getvalue()
    summary = json.loads((result.outdir / "summary.json").read_text())
    assert summary["bytes_sent"] == 5 and summary["problems"] == [] and summary["gaps"] == []


# -- gaps the linker notices -----------------------------------------------------------------------


def test_a_pipe_read_that_skips_ahead_names_the_bytes_an_unrecorded_read_took(tmp_path: Path) -> None:
    trace = run_traced(tmp_path, "link_pipe_split")
    (write,), (first, second) = calls(trace, "write"), calls(trace, "read")
    lt = link(_without(trace, first))  # the read of "0123" was not recorded
    assert lt.problems == ()  # the remaining read agrees with the stream further on: no mismatch
    (gap,) = lt.gaps_of(GapKind.SKIPPED)
    assert (gap.length, gap.event, gap.channel) == (4, second.key, lt.channels[0].id)
    assert [(f.send, f.recv, f.data) for f in lt.flows] == [
        (write.key, None, b"0123"),
        (write.key, second.key, b"456789"),
    ]
    assert figures(lt).has_gaps


def test_a_mismatch_that_is_no_skip_stays_a_problem(tmp_path: Path) -> None:
    trace = run_traced(tmp_path, "link_pipe_split")
    second = calls(trace, "read")[1]
    forged = second._replace(data=b"zzzzzz")
    lt = link(dataclasses.replace(trace, events=tuple(forged if e is second else e for e in trace.events)))
    assert not lt.gaps_of(GapKind.SKIPPED) and len(lt.problems) == 1
    assert [g.length for g in lt.gaps_of(GapKind.UNEXPLAINED)] == [6]


@pytest.mark.capture
def test_tcp_bytes_with_neither_end_recorded_are_seen_on_the_wire(tmp_path: Path) -> None:
    require_capture()
    trace = run_captured(tmp_path, "link_tcp_echo")
    server = next(p.pid for p in trace.processes if p.role == "main")
    client = next(p.pid for p in trace.processes if p.role != "main")
    missed = [*calls(trace, "sendall", client), *(e for e in calls(trace, "recv", server) if e.size)]
    lt = link(_without(trace, *missed))  # the client's sends and the server's reads of them: both ends
    (gap,) = lt.gaps_of(GapKind.UNSEEN)
    assert gap.length == len(b"one;two;three;") and gap.event is None and gap.packets
    assert str(gap.channel).startswith("tcp#1 ") and figures(lt).unexplained_bytes >= gap.length
    assert link(trace).gaps_of(GapKind.UNSEEN) == ()


@pytest.mark.capture
def test_a_datagram_nobody_recorded_is_seen_on_the_wire(tmp_path: Path) -> None:
    require_capture()
    trace = run_captured(tmp_path, "link_udp_datagrams")
    sends, recvs = calls(trace, "sendto"), calls(trace, "recvfrom")
    lt = link(_without(trace, sends[1], recvs[1]))  # "second": sent and received, both missed
    (gap,) = lt.gaps_of(GapKind.UNSEEN)
    assert gap.length == len(b"second") and len(gap.packets) == 1
    assert link(trace).gaps_of(GapKind.UNSEEN) == ()


# -- an order that never lies ----------------------------------------------------------------------


def _unlinked(trace: Trace) -> Trace:
    """The same calls with no endpoints: nothing can be linked, only time can order them."""
    events = tuple(e._replace(endpoint=None, peer_endpoint=None) for e in trace.events)
    return dataclasses.replace(trace, events=events)


def _assert_real_time_respected(trace: Trace, rank) -> None:
    events = sorted(trace.events, key=lambda e: e.t0)
    for a in events:
        for b in events:
            if a.t1 is not None and a.t1 < b.t0:
                assert rank(a) < rank(b), (a, b)
        for p in trace.packets:
            if a.t1 is not None and a.t1 < p.ts:
                assert rank(a) < rank(p)
            if p.ts < a.t0:
                assert rank(p) < rank(a)


def test_without_links_a_receive_still_comes_after_the_send_it_got(tmp_path: Path) -> None:
    trace = run_traced(tmp_path, "link_socketpair_both")
    flows = [f for f in link(trace).flows if f.send and f.recv]
    # The sender was slow to return: its call ended after the receive had returned.
    late = {f.send: trace.event(f.recv).t1 + 1_000 for f in flows}  # type: ignore[arg-type, operator]
    events = tuple(e._replace(t1=late[e.key]) if e.key in late else e for e in trace.events)
    slow = dataclasses.replace(trace, events=events)
    ot = order(link(_unlinked(slow)))
    assert ot.edges("data") == []
    for f in flows:
        assert ot.rank(f.send) < ot.rank(f.recv)  # type: ignore[arg-type]
    _assert_real_time_respected(slow, ot.rank)


@pytest.mark.capture
def test_without_links_segments_come_after_their_connect_and_real_time_holds(tmp_path: Path) -> None:
    require_capture()
    trace = run_captured(tmp_path, "link_tcp_echo")
    linked = link(trace)
    ot = order(link(_unlinked(trace)))
    assert ot.edges("packet") == [] and ot.edges("connect") == []
    (connect,) = calls(trace, "connect")
    for p in trace.packets:
        assert ot.rank(connect) < ot.rank(p)  # the SYN included: connect sent it
    for f in linked.flows:
        if f.send and f.recv:
            assert ot.rank(f.send) < ot.rank(f.recv)
    for pl in linked.packet_links:  # every cause before its packet, every packet before what it completed
        packet = next(p for p in trace.packets if p.index == pl.packet)
        for cause in pl.causes:
            if trace.event(cause).call in ("sendall", "connect"):
                assert ot.rank(cause) < ot.rank(packet)
    _assert_real_time_respected(trace, ot.rank)
    assert all(effect_time(e) in (e.t0, e.t1) for e in trace.events)
