"""The recorder, on real processes, pipes and sockets: every wrapped call, fork, exec, SIGKILL, transparency."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ipctrace.model import Event
from ipctrace.tracefile import read_trace
from tests.conftest import PROGRAMS
from tests.hot_impl import hot_impl  # noqa: F401 - the fixture, used by pytestmark

#: Every test here runs with each hot-path implementation (compiled and pure Python: record/hot.py).
pytestmark = pytest.mark.usefixtures("hot_impl")


def _calls(events: list[Event], pid: int) -> list[str]:
    return [e.call for e in events if e.pid == pid]


def test_every_wrapped_call_is_recorded_with_its_fields(trace_program):
    result = trace_program("all_calls.py", stdin=["a line\n"])
    trace = read_trace(result.trace_path)  # what is on disk, not what is in memory
    main = next(p for p in trace.processes if p.role == "main")
    calls = _calls(list(trace.events), main.pid)
    program_io = [e for e in trace.events if e.pid == main.pid and trace.stream_of(e) is not None]
    calls_but_io = [e.call for e in trace.events if e.pid == main.pid and trace.stream_of(e) is None]
    expected = [
        "pipe",
        "pipe2",
        "write",
        "read",
        "dup",
        "dup2",
        "close",
        "close",
        "fork",
        "waitpid",
        "read",
        "fork",
        "kill",
        "wait",
        "socketpair",
        "sendall",
        "recv",
        "sendmsg",
        "recvmsg",
        "send",
        "recv_into",
        "fromfd",
        "close",
        "socket",
        "setsockopt",
        "bind",
        "listen",
        "socket",
        "connect",
        "accept",
        "send",
        "recv",
        "shutdown",
        "recv",
        "socket",
        "connect_ex",
        "close",
        "socket",
        "bind",
        "socket",
        "sendto",
        "recvfrom",
        "sendto",
        "recvfrom_into",
    ]
    interesting = [c for c in calls_but_io if c not in ("start", "sleep", "exit")]
    assert interesting[: len(expected)] == expected
    assert interesting[len(expected) :] == ["close"] * 7
    assert calls[0] == "start" and calls[-1] == "exit"
    assert "sleep" in calls
    stdin = [e for e in program_io if trace.stream_of(e) == "stdin"]
    stdout = [e for e in program_io if trace.stream_of(e) == "stdout"]
    assert [e.call for e in stdin] == ["read"] and stdin[0].fd == 0 and stdin[0].data == b"a line\n"
    assert stdout and all(e.call == "write" and e.fd == 1 for e in stdout), "printed bytes are writes on fd 1"
    assert b"".join(e.data or b"" for e in stdout).startswith(b"b'abc\\x00'\n")
    assert main.exit is not None and main.exit.code == 3

    ev = {c: next(e for e in trace.events if e.pid == main.pid and e.call == c) for c in set(calls)}
    write = ev["write"]
    assert write.data == b"abc\0" and write.size == 4 and write.result == 4 and write.fd == write.args.get("fd", 4)
    assert write.endpoint is not None and write.endpoint.kind == "pipe"
    read = ev["read"]
    assert read.endpoint == write.endpoint and read.data == b"abc\0"
    assert read.t0 <= read.t1 and write.t1 <= read.t1
    pair = ev["socketpair"]
    assert pair.endpoint.kind == "unix-stream" and pair.peer_endpoint.kind == "unix-stream"
    assert pair.endpoint.ino != pair.peer_endpoint.ino
    assert ev["sendmsg"].data == b"sendmsg" and ev["recvmsg"].data == b"sendmsg"
    assert ev["recv_into"].data == b"into" and ev["recv_into"].result == 4
    connect = ev["connect"]
    accept = ev["accept"]
    assert connect.endpoint.kind == "tcp"
    assert connect.local == accept.peer and connect.peer == accept.local
    assert accept.peer_endpoint is not None and accept.peer_endpoint.kind == "tcp"
    assert ev["connect_ex"].error == "ECONNREFUSED" and ev["connect_ex"].result != 0
    sendto = ev["sendto"]
    assert sendto.endpoint.kind == "udp" and sendto.data == b"dgram1" and sendto.local is not None
    recvfrom = ev["recvfrom"]
    assert recvfrom.peer.port == sendto.local.port and recvfrom.data == b"dgram1"  # sender bound to 0.0.0.0
    assert ev["shutdown"].args["how"] == 1
    assert ev["sleep"].args["seconds"] == 0.001 and ev["sleep"].t1 - ev["sleep"].t0 >= 1_000_000
    assert ev["setsockopt"].args["value"] == 1
    killed = [p for p in trace.processes if p.exit is not None and p.exit.signal == 15]
    assert len(killed) == 1, "the child killed with SIGTERM is reported as such"
    exited_7 = [p for p in trace.processes if p.exit is not None and p.exit.code == 7]
    assert len(exited_7) == 1 and exited_7[0].forked


def test_fork_children_have_their_own_pid_and_parent(trace_program):
    trace = trace_program("all_calls.py", stdin=["x\n"]).trace
    main = next(p for p in trace.processes if p.role == "main")
    forks = [e for e in trace.events if e.pid == main.pid and e.call == "fork"]
    children = [p for p in trace.processes if p.ppid == main.pid]
    assert sorted(f.result for f in forks) == sorted(p.pid for p in children)
    assert [p.role for p in children] == ["main/child#1", "main/child#2"]
    first = [e for e in trace.events if e.pid == children[0].pid][0]
    assert first.call == "start" and first.args["how"] == "fork" and first.t0 >= forks[0].t0
    child_write = next(e for e in trace.events if e.pid == children[0].pid and e.call == "write")
    assert child_write.data == b"from child"


def test_python_child_started_with_subprocess_is_traced(trace_program):
    trace = trace_program("spawns_python.py").trace
    main = next(p for p in trace.processes if p.role == "main")
    (child,) = [p for p in trace.processes if p.ppid == main.pid]
    assert not child.forked and child.argv[1] == "-c"
    spawn = next(e for e in trace.events if e.pid == main.pid and e.call == "spawn")
    assert spawn.args["argv"] == list(child.argv[1:]) or spawn.args["argv"][1:] == list(child.argv[1:])
    assert spawn.t0 < child.start
    write = next(e for e in trace.events if e.pid == child.pid and e.call == "write")
    assert write.data == b"from grandchild"
    read = next(e for e in trace.events if e.pid == main.pid and e.call == "read")
    assert read.endpoint == write.endpoint


def test_sigkilled_child_keeps_its_events(trace_program):
    result = trace_program("killed_child.py")
    trace = read_trace(result.trace_path)
    child = next(p for p in trace.processes if p.role == "main/child#1")
    assert child.exit is not None and child.exit.signal == 9
    calls = _calls(list(trace.events), child.pid)
    assert calls == ["start", "write", "read"], calls
    read = [e for e in trace.events if e.pid == child.pid][-1]
    assert read.blocked and read.t1 is None, "the read it was killed in never returned: it stays in progress"
    assert "exit" not in calls
    assert result.ok


TRANSPARENCY = [
    "nonblocking.py",
    "timeouts.py",
    "asyncio_echo.py",
    "partial_write.py",
    "selector_echo.py",
    "spawns_python.py",
    "killed_child.py",
    "threads.py",
    "subprocess_pipes.py",
    "own_module/uses_own_tracer.py",
]


def _interleaves(merged: bytes, a: bytes, b: bytes) -> bool:
    """Whether `merged` is `a` and `b` shuffled together, each keeping its own order."""
    if len(merged) != len(a) + len(b):
        return False
    reach = {0}  # how much of `a` can have been taken after the first k bytes of `merged`
    for k, byte in enumerate(merged):
        reach = {i + 1 for i in reach if i < len(a) and a[i] == byte} | {
            i for i in reach if k - i < len(b) and b[k - i] == byte
        }
        if not reach:
            return False
    return True


def test_interleaving_check_keeps_each_streams_order():
    assert _interleaves(b"ONE\nExc\nTWO\n", b"ONE\nTWO\n", b"Exc\n")
    assert _interleaves(b"ab", b"ab", b"") and _interleaves(b"ab", b"", b"ab")
    assert not _interleaves(b"TWO\nONE\nExc\n", b"ONE\nTWO\n", b"Exc\n")
    assert not _interleaves(b"ONE\n", b"ONE\n", b"Exc\n")


@pytest.mark.parametrize("program", TRANSPARENCY)
def test_traced_program_behaves_as_untraced(program, trace_program):
    untraced = subprocess.run([sys.executable, str(PROGRAMS / program)], capture_output=True, timeout=60)
    result = trace_program(program)
    traced_out = (result.outdir / "main.out").read_bytes()
    # main.out takes stdout and stderr as the session's two pipes deliver them: each stream's bytes in order,
    # the two interleaved as they arrived (asyncio_echo's last lines and its stderr come within milliseconds)
    assert _interleaves(traced_out, untraced.stdout, untraced.stderr), (traced_out, untraced.stdout, untraced.stderr)
    main = next(p for p in result.trace.processes if p.role == "main")
    assert main.exit is not None and main.exit.code == untraced.returncode
    assert len(result.trace.events) > 3


def test_traceback_of_a_crash_is_the_untraced_one(tmp_path, trace_program):
    untraced = subprocess.run(
        [sys.executable, str(PROGRAMS / "all_calls.py")], input=b"", capture_output=True, timeout=60
    )
    assert untraced.returncode == 3  # stdin at end of file: readline returns ''
    crash = tmp_path / "crash.py"
    crash.write_text("import socket\nsocket.socket().connect(('127.0.0.1', 1))\n")
    plain = subprocess.run([sys.executable, str(crash)], capture_output=True, timeout=30)
    from ipctrace.scenarios import adhoc_scenario
    from ipctrace.session import RunOptions, run_scenario

    result = run_scenario(
        adhoc_scenario([sys.executable, str(crash)]), RunOptions(outdir=tmp_path / "o", capture="none")
    )
    assert (result.outdir / "main.out").read_bytes() == plain.stderr
    assert not result.ok and "exit 1" in result.message
    exception = next(e for e in result.trace.events if e.call == "exception")
    assert exception.args == {"type": "ConnectionRefusedError", "message": "[Errno 111] Connection refused"}
    assert result.trace.events[-1].call == "exit" and result.trace.events[-1].args["how"] == "exception"
    connect = next(e for e in result.trace.events if e.call == "connect")
    assert connect.error == "ECONNREFUSED"


def test_each_thread_is_recorded_with_its_own_thread_id(trace_program):
    trace = trace_program("threads.py").trace
    writes = [e for e in trace.events if e.call == "write" and trace.stream_of(e) is None]
    assert [e.data for e in writes] == [b"0", b"1", b"2"]
    main = next(p for p in trace.processes if p.role == "main")
    assert len({e.tid for e in writes}) == 3 and main.pid not in {e.tid for e in writes}
    read = next(e for e in trace.events if e.call == "read")
    assert read.tid == main.pid


def test_data_through_subprocess_pipes_is_recorded_but_not_its_exec_error_pipe(trace_program):
    trace = trace_program("subprocess_pipes.py").trace
    main = next(p for p in trace.processes if p.role == "main")
    child = next(p for p in trace.processes if p.role == "main/child#1")
    writes = [e for e in trace.events_of(main.pid) if e.call == "write" and trace.stream_of(e) is None]
    assert [e.data for e in writes] == [b"hello child"]
    reads = [e.data for e in trace.events_of(main.pid) if e.call == "read" and e.data and trace.stream_of(e) is None]
    assert b"".join(reads) == b"HELLO CHILD\n"
    assert len([e for e in trace.events_of(main.pid) if e.call == "pipe"]) == 2, "stdin and stdout, not the error pipe"
    assert any(e.call == "read" and e.fd == 0 and e.data == b"hello child" for e in trace.events_of(child.pid))
    child_out = [e for e in trace.events_of(child.pid) if e.call == "write" and e.fd == 1]
    assert b"".join(e.data or b"" for e in child_out) == b"HELLO CHILD\n", "the child's print is a write on its pipe"
    assert child_out[0].endpoint == next(e for e in trace.events_of(main.pid) if e.call == "read").endpoint
    sleep = next(e for e in trace.events_of(main.pid) if e.call == "sleep")
    assert sleep.error == "TypeError" and sleep.args["seconds"] is None


def test_an_address_the_socket_refuses_is_recorded_as_the_failed_call_it_is(tmp_path):
    """`sendto(b'x', ('1.2.3.4', 'p'))` raises TypeError untraced and traced; the run still gives its trace."""
    program = tmp_path / "bad_address.py"
    program.write_text(
        "import socket\n"
        "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        "try:\n"
        "    s.sendto(b'x', ('1.2.3.4', 'p'))\n"
        "except TypeError as exc:\n"
        "    print('refused:', exc)\n"
    )
    plain = subprocess.run([sys.executable, str(program)], capture_output=True, timeout=30)
    from ipctrace.scenarios import adhoc_scenario
    from ipctrace.session import RunOptions, run_scenario

    result = run_scenario(
        adhoc_scenario([sys.executable, str(program)]), RunOptions(outdir=tmp_path / "o", capture="none")
    )
    assert result.ok, result.message
    assert (result.outdir / "main.out").read_bytes() == plain.stdout and b"refused:" in plain.stdout
    sendto = next(e for e in read_trace(result.outdir / "trace.jsonl").events if e.call == "sendto")
    assert sendto.failed and sendto.address is None
