"""Every course example runs under the tracer, and its trace shows the calls and bytes of the original.

Expectations are written role by role as the C programs make their calls (scenarios.md in the course
catalogue); the bytes are exact, NUL included where the C code sends `sizeof(str)`.
"""

from __future__ import annotations

import hashlib

import pytest

from ipctrace.model import Trace
from ipctrace.scenarios import builtin_scenarios

IPC_CALLS = {
    "pipe",
    "fork",
    "read",
    "write",
    "send",
    "sendall",
    "recv",
    "sendto",
    "recvfrom",
    "socketpair",
    "socket",
    "bind",
    "listen",
    "accept",
    "connect",
    "close",
    "shutdown",
    "sleep",
    "waitpid",
}

HELLO = [("socket",), ("bind",), ("listen",), ("accept",)]
EXPECTED: dict[str, dict[str, list[tuple]]] = {
    "socketpair_single": {
        "main": [
            ("socketpair",),
            ("write", b"This is from sd[0]"),
            ("read", b"This is from sd[0]"),
            ("close",),
            ("close",),
        ]
    },
    "socketpair_fork": {
        "main": [
            ("socketpair",),
            ("fork",),
            ("close",),
            ("read", b"From Child\0"),
            ("write", b"From Parent\0"),
            ("close",),
        ],
        "main/child#1": [("close",), ("write", b"From Child\0"), ("read", b"From Parent\0"), ("close",)],
    },
    "pipe1": {
        "main": [("pipe",), ("fork",), ("read", b"Who are you?\0")],
        "main/child#1": [("write", b"Who are you?\0")],
    },
    "pipe2": {
        "main": [
            ("pipe",),
            ("fork",),
            ("read", b"Who are you?\0"),
            ("write", b"Thank you for your message\0"),
            ("sleep",),
        ],
        "main/child#1": [("write", b"Who are you?\0"), ("sleep",), ("read", b"Thank you for your message\0")],
    },
    "pipe2_nosleep": {
        "main": [("pipe",), ("fork",), ("read", "blocked")],
        "main/child#1": [("write", b"Who are you?\0"), ("read", b"Who are you?\0")],
    },
    "pipe3": {
        "main": [
            ("pipe",),
            ("pipe",),
            ("fork",),
            ("read", b"Who are you?\0"),
            ("write", b"Thank you for your message\0"),
            ("sleep",),
        ],
        "main/child#1": [("write", b"Who are you?\0"), ("read", b"Thank you for your message\0")],
    },
    "unix_stream": {
        "server": HELLO + [("read", b"Hello from client"), ("write", b"Hello from server"), ("close",), ("close",)],
        "client": [
            ("socket",),
            ("connect",),
            ("write", b"Hello from client"),
            ("read", b"Hello from server"),
            ("close",),
        ],
    },
    "unix_dgram": {
        "server": [
            ("socket",),
            ("bind",),
            ("recvfrom", b"Hello from client"),
            ("sendto", b"Hello from server"),
            ("close",),
        ],
        "client": [
            ("socket",),
            ("bind",),
            ("sendto", b"Hello from client"),
            ("recvfrom", b"Hello from server"),
            ("close",),
        ],
    },
    "tcp_hello": {
        "server": HELLO + [("read", b"Hello from client"), ("send", b"Hello from server"), ("close",), ("close",)],
        "client": [
            ("socket",),
            ("connect",),
            ("send", b"Hello from client"),
            ("read", b"Hello from server"),
            ("close",),
        ],
    },
    "udp_hello": {
        "server": [
            ("socket",),
            ("bind",),
            ("recvfrom", b"Hello from client"),
            ("sendto", b"Hello from server"),
            ("close",),
        ],
        "client": [("socket",), ("sendto", b"Hello from client"), ("recvfrom", b"Hello from server"), ("close",)],
    },
    "tcp_chat": {
        "server": HELLO
        + [
            ("read", b"Hello, server!\n"),
            ("send", b"Hi client, this is the server.\n"),
            ("read", b"How are you?\n"),
            ("send", b"Fine, thanks. And you?\n"),
            ("read", b"Good. Bye.\n"),
            ("send", b"Bye!\n"),
            ("read", b""),
            ("close",),
            ("close",),
        ],
        "client": [
            ("socket",),
            ("connect",),
            ("send", b"Hello, server!\n"),
            ("read", b"Hi client, this is the server.\n"),
            ("send", b"How are you?\n"),
            ("read", b"Fine, thanks. And you?\n"),
            ("send", b"Good. Bye.\n"),
            ("read", b"Bye!\n"),
            ("close",),
        ],
    },
    "tcp_chat_exit": {
        "server": HELLO
        + [
            ("read", b"Hello, server!\n"),
            ("send", b"Hi client!\n"),
            ("read", b"Nice to meet you.\n"),
            ("send", b"Nice to meet you too.\n"),
            ("read", b"exit\n"),
            ("close",),
            ("close",),
        ],
        "client": [
            ("socket",),
            ("connect",),
            ("send", b"Hello, server!\n"),
            ("read", b"Hi client!\n"),
            ("send", b"Nice to meet you.\n"),
            ("read", b"Nice to meet you too.\n"),
            ("send", b"exit\n"),
            ("close",),
        ],
    },
    "tcp_chat_exit_server": {
        "server": HELLO
        + [
            ("read", b"Hello, server!\n"),
            ("send", b"Hi client!\n"),
            ("read", b"Are you still there?\n"),
            ("send", b"exit\n"),
            ("close",),
            ("close",),
        ],
        "client": [
            ("socket",),
            ("connect",),
            ("send", b"Hello, server!\n"),
            ("read", b"Hi client!\n"),
            ("send", b"Are you still there?\n"),
            ("read", b"exit\n"),
            ("close",),
        ],
    },
}


def ipc_calls(trace: Trace, role: str) -> list[tuple]:
    (proc,) = [p for p in trace.processes if p.role == role]
    out = []
    for e in trace.events_of(proc.pid):
        if e.call not in IPC_CALLS or trace.stream_of(e) is not None:  # program I/O is not IPC
            continue
        if e.blocked:
            out.append((e.call, "blocked"))
        elif e.data is not None:
            out.append((e.call, e.data))
        else:
            out.append((e.call,))
    return out


def test_every_catalogue_scenario_has_expectations_or_a_test_of_its_own():
    covered = set(EXPECTED) | {"udp_file", "udp_file_done", "echo_storeserv"}
    assert covered == set(builtin_scenarios())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_scenario_trace_shows_the_calls_and_bytes_of_the_original(name, trace_scenario):
    result = trace_scenario(name)
    assert result.ok, result.message
    trace = result.trace
    assert sorted(p.role for p in trace.processes) == sorted(EXPECTED[name])
    for role, expected in EXPECTED[name].items():
        assert ipc_calls(trace, role) == expected, role


def test_pipe2_nosleep_shows_the_race_deterministically(trace_scenario):
    result = trace_scenario("pipe2_nosleep")
    assert result.ok and result.ending == "expected-blocked"
    trace = result.trace
    child = next(p for p in trace.processes if p.role == "main/child#1")
    write = next(e for e in trace.events_of(child.pid) if e.call == "write")
    read = next(e for e in trace.events_of(child.pid) if e.call == "read")
    assert read.endpoint == write.endpoint and read.data == write.data, "the child read back its own message"
    assert [(b.role, b.call) for b in result.blocked] == [("main", "read")]
    assert "parent" in result.message.lower()


@pytest.mark.parametrize("name", ["udp_file", "udp_file_done"])
def test_udp_file_transfers_deliver_an_identical_file(name, trace_scenario):
    result = trace_scenario(name)
    assert result.ok, result.message
    sent = (result.outdir / "send_file.txt").read_bytes()
    received = (result.outdir / "received_file.txt").read_bytes()
    assert len(sent) > 1024, "more than one datagram"
    assert hashlib.sha256(received).hexdigest() == hashlib.sha256(sent).hexdigest()
    trace = result.trace
    client = next(p for p in trace.processes if p.role == "client")
    sends = [e.data for e in trace.events_of(client.pid) if e.call == "sendto"]
    chunks = [sent[i : i + 1024] for i in range(0, len(sent), 1024)]
    if name == "udp_file":
        assert sends == chunks
        assert result.ending == "expected-blocked"
        assert [(b.role, b.call) for b in result.blocked] == [("server", "recvfrom")]
    else:
        assert sends == chunks + [b"DONE"]
        server = next(p for p in trace.processes if p.role == "server")
        assert [e.data for e in trace.events_of(server.pid) if e.call == "sendto"] == [b"DONE"]
        assert result.ending == "complete"


def test_echo_storeserv_stores_ten_reads_through_its_pipe(trace_scenario):
    result = trace_scenario("echo_storeserv")
    assert result.ok, result.message
    trace = result.trace
    roles = {p.role for p in trace.processes}
    assert {"server", "server/child#1", "client1", "client1/child#1", "client2", "client2/child#1"} <= roles
    storer = next(p for p in trace.processes if p.role == "server/child#1")
    reads = [e for e in trace.events_of(storer.pid) if e.call == "read"]
    assert len(reads) == 10
    stored = b"".join(e.data for e in reads)
    assert (result.outdir / "echomsg.txt").read_bytes() == stored
    for client in ("client1", "client2"):
        writer = next(p for p in trace.processes if p.role == f"{client}/child#1")
        reader = next(p for p in trace.processes if p.role == client)
        written = b"".join(e.data for e in trace.events_of(writer.pid) if e.call == "write")
        echoed = b"".join(e.data for e in trace.events_of(reader.pid) if e.call == "read")
        assert echoed == written and written.count(b"\n") >= 5
        calls = [e.call for e in trace.events_of(writer.pid)]
        assert "shutdown" in calls, "the writer half-closes so the reader still gets the last echoes"
    server = next(p for p in trace.processes if p.role == "server")
    assert server.exit is not None and server.exit.code == 0, "ended cleanly by SIGTERM after its clients"


def test_chat_script_can_be_replaced(trace_scenario):
    from ipctrace.scenarios import find_scenario

    scenario = find_scenario("tcp_chat_exit").with_stdin("client", ("hi\n", "exit\n"))
    result = trace_scenario("tcp_chat_exit", roles=scenario.roles)
    assert result.ok, result.message
    assert ipc_calls(result.trace, "client")[2:] == [
        ("send", b"hi\n"),
        ("read", b"Hi client!\n"),
        ("send", b"exit\n"),
        ("close",),
    ]
