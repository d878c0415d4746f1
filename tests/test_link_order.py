"""Channels, flows, packet links and the happens-before order, on real programs run under the recorder.

Every program is a small file in tests/programs/ that forces one interleaving
by itself (waitpid, blocking reads), so the assertions are exact without any
sleep. Packet tests need capture privilege and are skipped without it.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import networkx as nx
import pytest

from ipctrace.assemble import build_trace
from ipctrace.link import Flow, LinkedTrace, link
from ipctrace.model import Event, EventKey, Header, Packet, Trace
from ipctrace.order import OrderedTrace, OrderError, PacketNode, order
from ipctrace.record import tracing_environment
from ipctrace.record.reader import read_logs

PROGRAMS = Path(__file__).parent / "programs"
ALL = (
    "link_pipe_merge",
    "link_pipe_split",
    "link_pipe_readback",
    "link_socketpair_both",
    "link_socketpair_dgram",
    "link_tcp_echo",
    "link_udp_datagrams",
    "link_unix_stream",
    "link_spawn",
)


# -- running programs under the recorder -----------------------------------------------------------


def run_traced(workdir: Path, name: str, *args: str, packets: Iterable[Packet] = (), payload_cap: int = 4096) -> Trace:
    """Run tests/programs/<name>.py traced; the program's own asserts must hold (exit 0)."""
    workdir.mkdir(parents=True, exist_ok=True)
    events_path = workdir / "recording"
    program = PROGRAMS / f"{name}.py"
    env = tracing_environment(str(events_path), payload_cap=payload_cap)
    proc = subprocess.Popen(
        [sys.executable, str(program), *args], env=env, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err.decode()
    records, problems = read_logs(events_path)
    assert not problems.sentences()
    return build_trace(
        Header(version=1, command=(str(program), *args), host="", clock="CLOCK_REALTIME", started=0),
        records,
        roots={proc.pid: "main"},
        packets=packets,
    )


def _args(name: str, workdir: Path) -> tuple[str, ...]:
    return (str(workdir / "s.sock"),) if name == "link_unix_stream" else ()


@pytest.fixture(scope="module")
def traces(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Trace]:
    out = {}
    for name in ALL:
        workdir = tmp_path_factory.mktemp(name)
        out[name] = run_traced(workdir, name, *_args(name, workdir))
    return out


@pytest.fixture(scope="module")
def linked(traces: dict[str, Trace]) -> dict[str, LinkedTrace]:
    return {name: link(trace) for name, trace in traces.items()}


# -- helpers ---------------------------------------------------------------------------------------


def calls(trace: Trace, call: str, pid: int | None = None) -> list[Event]:
    return [
        e
        for e in sorted(trace.events, key=lambda e: (e.pid, e.seq))
        if e.call == call and (pid is None or e.pid == pid)
    ]


def root_pid(trace: Trace) -> int:
    return next(p.pid for p in trace.processes if p.role == "main")


def child_pid(trace: Trace) -> int:
    return next(p.pid for p in trace.processes if p.role != "main")


def flow_view(flows: Iterable[Flow]) -> list[tuple[EventKey | None, EventKey | None, bytes]]:
    return [(f.send, f.recv, f.data) for f in flows]


def channel_bytes(lt: LinkedTrace, channel_id: str) -> bytes:
    return b"".join(
        f.data for f in sorted(lt.flows_in(channel_id), key=lambda f: f.stream_offset or 0) if f.recv is not None
    )


# -- invariants on every program -------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL)
def test_every_received_byte_comes_from_a_send_that_wrote_it(linked: dict[str, LinkedTrace], name: str) -> None:
    lt = linked[name]
    assert lt.problems == ()
    assert lt.unexplained_bytes == 0
    for e in lt.trace.events:
        if e.moves_data_in:
            assert sum(f.length for f in lt.flows_of(e.key) if f.recv == e.key) == e.size, e
    for f in lt.flows:
        if f.send is not None:
            send = lt.event(f.send)
            assert send.data[f.send_offset : f.send_offset + f.length] == f.data
        if f.recv is not None:
            recv = lt.event(f.recv)
            assert recv.data[f.recv_offset : f.recv_offset + f.length] == f.data


@pytest.mark.parametrize("name", ALL)
def test_order_is_a_topological_order_that_puts_causes_first(linked: dict[str, LinkedTrace], name: str) -> None:
    ot = order(linked[name])
    assert nx.is_directed_acyclic_graph(ot.graph)
    assert len(ot.order) == len(ot.trace.events) + len(ot.trace.packets)
    for u, v in ot.graph.edges:
        assert ot.rank(u) < ot.rank(v)
    for f in ot.linked.flows:
        if f.send is not None and f.recv is not None and f.send != f.recv:
            assert ot.rank(f.send) < ot.rank(f.recv)
    by_pid = {p.pid: calls(ot.trace, "start", p.pid) for p in ot.trace.processes}
    for fork in calls(ot.trace, "fork"):
        assert ot.rank(fork) < ot.rank(by_pid[fork.result][0])
    for pid in by_pid:  # program order
        ranks = [ot.rank(e) for e in ot.trace.events_of(pid)]
        assert ranks == sorted(ranks)


@pytest.mark.parametrize("name", ALL)
def test_happens_before_is_a_path_in_the_networkx_graph(linked: dict[str, LinkedTrace], name: str) -> None:
    """`happens_before` walks ipctrace's own edge lists; networkx's `has_path` on the graph must agree."""
    ot = order(linked[name])
    nodes = list(ot.graph.nodes)
    pairs = [(a, b) for a in nodes[:40] for b in nodes[:40] if a != b]
    assert pairs
    assert [ot.happens_before(a, b) for a, b in pairs] == [nx.has_path(ot.graph, a, b) for a, b in pairs]
    for f in ot.linked.flows:  # a send comes before what received it, never after
        if f.send is not None and f.recv is not None and f.send != f.recv:
            assert ot.happens_before(f.send, f.recv) and not ot.happens_before(f.recv, f.send)


# -- pipes -----------------------------------------------------------------------------------------


def test_one_read_returns_two_writes(linked: dict[str, LinkedTrace]) -> None:
    lt = linked["link_pipe_merge"]
    trace = lt.trace
    (w1, w2), (read, eof) = calls(trace, "write"), calls(trace, "read")
    assert [str(ch.id) for ch in lt.channels] == ["pipe#1"]
    assert flow_view(lt.flows) == [(w1.key, read.key, b"hello "), (w2.key, read.key, b"world")]
    assert [(f.recv_offset, f.length) for f in lt.flows] == [(0, 6), (6, 5)]
    last_close = calls(trace, "close", root_pid(trace))[0]  # the parent's write end, after the child exited
    assert [(e.release, e.read) for e in lt.eofs] == [(last_close.key, eof.key)]
    assert lt.describe(w1) == "pipe#1 write end"
    assert lt.describe(read) == "pipe#1 read end"
    assert lt.describe(last_close) == "pipe#1 write end"
    assert lt.describe(calls(trace, "close", child_pid(trace))[0]) == "pipe#1 read end"
    ot = order(lt)
    assert ot.edges("eof") == [(last_close.key, eof.key)]
    exit_ = trace.events_of(child_pid(trace))[-1]
    assert ot.edges("wait") == [(exit_.key, calls(trace, "waitpid")[0].key)]


def test_one_write_read_in_two_parts(linked: dict[str, LinkedTrace]) -> None:
    lt = linked["link_pipe_split"]
    (write,), (r1, r2) = calls(lt.trace, "write"), calls(lt.trace, "read")
    assert flow_view(lt.flows) == [(write.key, r1.key, b"0123"), (write.key, r2.key, b"456789")]
    assert [(f.send_offset, f.stream_offset) for f in lt.flows] == [(0, 0), (4, 4)]
    assert lt.channel("pipe#1").sends == (write.key,)
    assert lt.channel("pipe#1").recvs == (r1.key, r2.key)


def test_a_process_reads_back_its_own_message(linked: dict[str, LinkedTrace]) -> None:
    lt = linked["link_pipe_readback"]
    child, parent = child_pid(lt.trace), root_pid(lt.trace)
    (w1, w2) = calls(lt.trace, "write")
    (r_child,), (r_parent,) = calls(lt.trace, "read", child), calls(lt.trace, "read", parent)
    assert flow_view(lt.flows) == [
        (w1.key, r_child.key, b"Who are you?\0"),
        (w2.key, r_parent.key, b"Thank you for your message\0"),
    ]
    to_self = lt.flows[0]
    assert to_self.send.pid == to_self.recv.pid == child


def test_a_child_started_by_exec_writes_to_an_inherited_pipe(linked: dict[str, LinkedTrace]) -> None:
    lt = linked["link_spawn"]
    trace = lt.trace
    child, parent = child_pid(trace), root_pid(trace)
    (write,) = calls(trace, "write", child)
    (read, eof) = calls(trace, "read", parent)
    assert flow_view(lt.flows) == [(write.key, read.key, b"from the child")]
    assert lt.describe(write) == "pipe#1 write end"
    ot = order(lt)
    child_start = trace.events_of(child)[0]
    (spawn,) = ot.edges("spawn")
    assert spawn[1] == child_start.key and spawn[0].pid == parent
    assert [v for _, v in ot.edges("eof")] == [eof.key]


# -- sockets ---------------------------------------------------------------------------------------


def test_socketpair_both_ways_and_eof(linked: dict[str, LinkedTrace]) -> None:
    lt = linked["link_socketpair_both"]
    trace = lt.trace
    parent, child = root_pid(trace), child_pid(trace)
    (ping,), (pong,) = calls(trace, "sendall", child), calls(trace, "send", parent)
    got_ping, eof = calls(trace, "recv", parent)
    (got_pong,) = calls(trace, "recv", child)
    assert [str(ch.id) for ch in lt.channels] == ["socketpair#1 a→b", "socketpair#1 b→a"]
    assert flow_view(lt.flows_in("socketpair#1 b→a")) == [(ping.key, got_ping.key, b"ping")]
    assert flow_view(lt.flows_in("socketpair#1 a→b")) == [(pong.key, got_pong.key, b"pong")]
    assert lt.describe(got_ping) == "socketpair#1 end A"
    assert lt.describe(ping) == "socketpair#1 end B"
    child_close = calls(trace, "close", child)[-1]
    assert [(str(e.channel), e.release, e.read) for e in lt.eofs] == [("socketpair#1 b→a", child_close.key, eof.key)]
    (conn,) = lt.connections
    assert conn.kind == "socketpair" and conn.connect == calls(trace, "socketpair")[0].key


def test_datagram_socketpair_keeps_boundaries_and_truncates(linked: dict[str, LinkedTrace]) -> None:
    lt = linked["link_socketpair_dgram"]
    trace = lt.trace
    parent, child = root_pid(trace), child_pid(trace)
    (first, second), (reply,) = calls(trace, "send", child), calls(trace, "send", parent)
    (short, whole), (got_reply,) = calls(trace, "recv", parent), calls(trace, "recv", child)
    assert flow_view(lt.flows_in("socketpair#1 b→a")) == [
        (first.key, short.key, b"first"),
        (second.key, whole.key, b"second"),
    ]
    assert flow_view(lt.flows_in("socketpair#1 a→b")) == [(reply.key, got_reply.key, b"reply")]
    assert all(not ch.stream for ch in lt.channels)
    assert lt.unread == ()


def test_tcp_echo_with_several_sends_and_a_partial_recv(linked: dict[str, LinkedTrace]) -> None:
    lt = linked["link_tcp_echo"]
    trace = lt.trace
    server, client = root_pid(trace), child_pid(trace)
    (connect,), (accept,) = calls(trace, "connect"), calls(trace, "accept")
    up_id, down_id = f"tcp#1 {connect.local}→{connect.peer}", f"tcp#1 {connect.peer}→{connect.local}"
    assert [str(ch.id) for ch in lt.channels] == [up_id, down_id]
    assert channel_bytes(lt, up_id) == channel_bytes(lt, down_id) == b"one;two;three;"
    first_send = calls(trace, "sendall", client)[0]
    partial = calls(trace, "recv", server)[0]
    assert flow_view(lt.flows_of(partial.key)) == [(first_send.key, partial.key, b"on")]
    assert lt.channel(up_id).sends == tuple(e.key for e in calls(trace, "sendall", client))
    (conn,) = lt.connections
    assert (conn.connect, conn.accept) == (connect.key, accept.key)
    assert lt.describe(connect) == f"TCP {connect.local} → {connect.peer}"
    assert lt.describe(partial) == f"TCP {connect.peer} → {connect.local}"
    assert lt.describe(accept) == f"TCP {connect.peer} (listening)"
    shutdown = calls(trace, "shutdown", client)[0]
    server_eof = calls(trace, "recv", server)[-1]
    assert (up_id, shutdown.key, server_eof.key) in [(str(e.channel), e.release, e.read) for e in lt.eofs]
    ot = order(lt)
    assert (connect.key, accept.key) in ot.edges("connect")
    assert ot.rank(connect) < ot.rank(accept)


def test_udp_datagrams_read_answered_and_lost(linked: dict[str, LinkedTrace]) -> None:
    lt = linked["link_udp_datagrams"]
    trace = lt.trace
    sends, recvs = calls(trace, "sendto"), calls(trace, "recvfrom")
    client_addr, server_addr = recvs[0].peer, sends[0].peer
    up_id = f"udp#1 {client_addr}→{server_addr}"
    down_id = f"udp#1 {server_addr}→{client_addr}"
    assert [str(ch.id) for ch in lt.channels] == [up_id, down_id]
    assert all(not ch.stream for ch in lt.channels)
    assert flow_view(lt.flows_in(up_id)) == [
        (sends[0].key, recvs[0].key, b"first"),
        (sends[1].key, recvs[1].key, b"second"),
        (sends[2].key, recvs[2].key, b"third"),
        (sends[4].key, None, b"never read"),
    ]
    assert flow_view(lt.flows_in(down_id)) == [(sends[3].key, recvs[3].key, b"ack")]
    assert [f.data for f in lt.unread] == [b"never read"]
    assert lt.describe(recvs[0]) == f"UDP {server_addr}"


def test_unix_stream_connect_paired_with_accept(linked: dict[str, LinkedTrace]) -> None:
    lt = linked["link_unix_stream"]
    trace = lt.trace
    (connect,), (accept,) = calls(trace, "connect"), calls(trace, "accept")
    assert [str(ch.id) for ch in lt.channels] == ["unix#1 client→server", "unix#1 server→client"]
    (conn,) = lt.connections
    assert (conn.connect, conn.accept) == (connect.key, accept.key)
    assert channel_bytes(lt, "unix#1 client→server") == b"hi server"
    assert channel_bytes(lt, "unix#1 server→client") == b"hi client"
    path = str(connect.peer)
    assert lt.describe(connect) == f"unix-stream {path}"
    assert lt.describe(accept) == f"unix-stream {path} (listening)"


def test_capped_payloads_link_by_length_and_agree_where_recorded(tmp_path: Path) -> None:
    lt = link(run_traced(tmp_path, "link_tcp_echo", payload_cap=3))
    assert lt.problems == () and lt.unexplained_bytes == 0
    for ch in lt.channels:
        assert sum(f.length for f in lt.flows_in(ch.id)) == len(b"one;two;three;")
    three = next(e for e in lt.trace.events if e.call == "sendall" and e.size == 6 and e.data == b"thr")
    assert [f.length for f in lt.flows_of(three.key)] and all(len(f.data) <= 3 for f in lt.flows_of(three.key))


def test_bytes_no_traced_send_wrote_are_a_problem(traces: dict[str, Trace]) -> None:
    trace = traces["link_pipe_split"]
    write = calls(trace, "write")[0]
    lt = link(dataclasses.replace(trace, events=tuple(e for e in trace.events if e is not write)))
    assert lt.unexplained_bytes == 10
    assert len(lt.problems) == 2 and all("no traced send wrote" in p for p in lt.problems)


# -- what must never be linked ---------------------------------------------------------------------


def test_a_payload_disagreement_is_a_problem_not_a_link(traces: dict[str, Trace]) -> None:
    trace = traces["link_pipe_split"]
    r2 = calls(trace, "read")[1]
    forged = r2._replace(data=b"45X789")
    bad = dataclasses.replace(trace, events=tuple(forged if e is r2 else e for e in trace.events))
    lt = link(bad)
    assert len(lt.problems) == 1
    assert "read at link_pipe_split.py line " in lt.problems[0] and "'45X789'" in lt.problems[0]
    assert all(not (f.send is not None and f.recv == r2.key) for f in lt.flows)
    assert lt.unexplained_bytes == 6
    order(lt)  # still a DAG: the halves are simply not linked


def test_a_cycle_is_refused_and_named(linked: dict[str, LinkedTrace]) -> None:
    lt = linked["link_pipe_readback"]
    write, read = lt.flows[0].send, lt.flows[0].recv  # the child's write, then its own read
    backwards = Flow(lt.flows[0].channel, read, write, 1)
    with pytest.raises(OrderError, match=rf"cycle.*{read}.*{write}|cycle.*{write}.*{read}"):
        order(dataclasses.replace(lt, flows=(*lt.flows, backwards)))


# -- packets ---------------------------------------------------------------------------------------


def _capture_reason() -> str | None:
    try:
        from ipctrace.capture import capture_unavailable_reason
    except ImportError as exc:
        return f"ipctrace.capture is missing ({exc})"
    return capture_unavailable_reason("scapy")


def run_captured(workdir: Path, name: str) -> Trace:
    """Run a program under the recorder with the loopback capture on; keep only its own packets."""
    from ipctrace.capture import filter_packets, parse_packets, start_capture

    with start_capture("scapy", "lo") as cap:
        trace = run_traced(workdir, name)
        raw = cap.stop()
    keys = {
        (e.endpoint.kind, e.local, e.peer if e.endpoint.kind.startswith("tcp") else None)
        for e in trace.events
        if e.endpoint is not None and e.local is not None and e.local.port
    }
    return dataclasses.replace(trace, packets=tuple(filter_packets(parse_packets(raw), keys)))


capture = pytest.mark.skipif(_capture_reason() is not None, reason=str(_capture_reason()))


@pytest.mark.capture
@capture
def test_tcp_segments_tie_to_their_sends_and_recvs(tmp_path: Path) -> None:
    trace = run_captured(tmp_path, "link_tcp_echo")
    lt = link(trace)
    assert lt.problems == ()
    server, client = root_pid(trace), child_pid(trace)
    (connect,), (accept,) = calls(trace, "connect"), calls(trace, "accept")
    by_role: dict[str, list] = {}
    for pl in lt.packet_links:
        by_role.setdefault(pl.role, []).append(pl)
    (syn,), (synack,) = by_role["syn"], by_role["syn-ack"]
    assert (syn.causes, syn.effects) == ((connect.key,), (accept.key,))
    assert synack.follows == (syn.packet,)
    packets = {p.index: p for p in trace.packets}
    sent = {e.key: e for e in trace.events if e.moves_data_out}
    data = [pl for pl in lt.packet_links if packets[pl.packet].payload]  # a FIN may carry the last bytes
    for ch in lt.channels:
        assert b"".join(packets[pl.packet].payload for pl in data if pl.channel == ch.id) == b"one;two;three;"
    for pl in data:
        payload = packets[pl.packet].payload
        senders = [k for k in pl.causes if k in sent]
        assert senders and pl.effects
        assert all(sent[k].data in payload or payload in sent[k].data for k in senders)
    fins = {pl.channel: pl for pl in by_role["fin"]}
    up, down = (ch.id for ch in lt.channels)
    assert calls(trace, "shutdown", client)[0].key in fins[up].causes
    assert calls(trace, "close", server)[-2].key in fins[down].causes  # the connection, before the listener
    assert calls(trace, "recv", server)[-1].key in fins[up].effects  # the server's read that saw EOF
    assert calls(trace, "recv", client)[-1].key in fins[down].effects
    ot = order(lt)
    node = PacketNode(syn.packet)
    assert ot.rank(connect) < ot.rank(node) < ot.rank(accept)
    for pl in lt.packet_links:
        for cause in pl.causes:
            assert ot.rank(cause) < ot.rank(PacketNode(pl.packet))
        for effect in pl.effects:
            assert ot.rank(PacketNode(pl.packet)) < ot.rank(effect)


@pytest.mark.capture
@capture
def test_udp_packets_tie_to_sendto_and_recvfrom(tmp_path: Path) -> None:
    trace = run_captured(tmp_path, "link_udp_datagrams")
    lt = link(trace)
    sends, recvs = calls(trace, "sendto"), calls(trace, "recvfrom")
    ties = [(pl.causes, pl.effects) for pl in lt.packet_links]
    assert ties == [
        ((sends[0].key,), (recvs[0].key,)),
        ((sends[1].key,), (recvs[1].key,)),
        ((sends[2].key,), (recvs[2].key,)),
        ((sends[3].key,), (recvs[3].key,)),
        ((sends[4].key,), ()),
    ]
    assert isinstance(order(lt), OrderedTrace)


def test_linking_and_ordering_import_neither_networkx_nor_scapy(tmp_path: Path) -> None:
    """`ipctrace show` needs no networkx: the order is computed over arrays; the graph is built only when asked."""
    trace = tmp_path / "trace.jsonl"
    from ipctrace.tracefile import write_trace

    write_trace(run_traced(tmp_path, "link_tcp_echo"), trace)
    code = (
        "import sys\n"
        "from ipctrace.tracefile import read_trace\n"
        "from ipctrace.order import analyse\n"
        f"ordered = analyse(read_trace({str(trace)!r}))\n"
        "assert ordered.linked.flows and ordered.order\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'networkx', 'scapy', 'graphviz'})\n"
        "ordered.graph\n"
        "print(heavy, 'networkx' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.split() == ["[]", "True"]


def test_analyse_links_and_orders_a_trace_once(traces: dict[str, Trace]) -> None:
    from ipctrace.order import analyse

    trace = traces["link_pipe_merge"]
    first = analyse(trace)
    assert analyse(trace) is first and order(link(trace)) is first and link(trace) is first.linked
    assert analyse(dataclasses.replace(trace)) is not first  # another trace object: computed anew


def test_the_event_decoder_reads_every_shape_of_a_field_as_before():
    """The decoder's short paths (ints as they are) give what the general path gives for other shapes."""
    import base64

    from ipctrace.calls import Call
    from ipctrace.model import EventKey, Reaped, SockAddr
    from ipctrace.tracefile import EventDecoder, event_from_json

    data = base64.b64encode(b"ping\0").decode()
    plain = {"pid": 7, "seq": 3, "ppid": 1, "tid": 7, "t0": 10, "t1": 20, "call": "recvfrom", "fd": 4,
             "ep": [1, 2, "udp"], "args": {"n": 5}, "res": 5, "size": 5, "data": data,
             "local": ["127.0.0.1", 9], "peer": ["127.0.0.1", 40000]}  # fmt: skip
    texts = dict(plain, pid="7", seq="3", ppid="1", tid="7", t0="10", t1="20")
    floats = dict(plain, pid=7.0, ppid=1.0, tid=7.0, t0=10.0, t1=20.0)
    decoder = EventDecoder()
    events = [decoder.event(obj) for obj in (plain, texts, floats)] + [event_from_json(plain)]
    for e in events:
        assert (e.pid, e.seq, e.ppid, e.tid, e.t0, e.t1, e.call, e.fd) == (7, 3, 1, 7, 10, 20, Call.RECVFROM, 4)
        assert type(e.pid) is int and type(e.t0) is int and type(e.t1) is int
        assert e.data == b"ping\0" and e.size == 5 and e.result == 5 and dict(e.args) == {"n": 5}
        assert e.local == SockAddr("127.0.0.1", 9) and e.peer == SockAddr("127.0.0.1", 40000)
        assert e.key == EventKey(7, 3) and e.key is e.key and str(e.key) == "7#3"
    pipe = decoder.event({"pid": 7, "seq": 4, "t0": 1, "call": "pipe", "res": [3, 4], "ep": [1, 5, "pipe"]})
    assert pipe.fds == (3, 4) and pipe.tid == 7 and pipe.ppid == 0 and pipe.t1 is None and pipe.data is None
    waited = decoder.event({"pid": 7, "seq": 5, "t0": 1, "call": "waitpid", "res": [8, 256]})
    assert waited.reaped == Reaped(8, waited.reaped.status) and waited.reaped.status.code == 1 and waited.fds == ()
    assert decoder.event({"pid": 7, "seq": 6, "t0": 1, "call": "write", "res": True}).fds == ()
    bound = decoder.event({"pid": 7, "seq": 7, "t0": 1, "call": "bind", "args": {"addr": ["0.0.0.0", 80]}})
    assert bound.address == SockAddr("0.0.0.0", 80) and bound.site is None
    with pytest.raises(ValueError):
        decoder.event(dict(plain, data="not base64 ☃"))


def test_node_numbers_by_seq_for_dense_and_scattered_streams():
    """The order's index finds every event by (pid, seq): arrays for streams in seq order, a dict otherwise."""
    from ipctrace.model import EventKey, Header, Trace
    from ipctrace.order import PacketNode, _Nodes
    from ipctrace.tracefile import EventDecoder

    decoder = EventDecoder()
    seqs = [(1, 0), (2, 5), (1, 1), (2, 6), (3, 4), (3, 2), (1, 2), (3, 3), (2, 7), (3, 9)]
    events = tuple(
        decoder.event({"pid": pid, "seq": seq, "t0": k, "call": "getpid"}) for k, (pid, seq) in enumerate(seqs)
    )
    nodes = _Nodes(Trace(Header(1, (), "", "", 0), (), events))
    assert set(nodes.dense) == {1, 2} and set(nodes.sparse) == {3}
    for i, (pid, seq) in enumerate(seqs):
        assert nodes.of(EventKey(pid, seq)) == i and nodes.node(i) == EventKey(pid, seq)
    for missing in (EventKey(1, 3), EventKey(1, -1), EventKey(2, 4), EventKey(3, 5), EventKey(4, 0)):
        assert nodes.of(missing) is None
    assert nodes.of(PacketNode(0)) is None
