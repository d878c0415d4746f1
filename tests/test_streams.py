"""Program output is what reaches the pipes the session gave a role, whichever call wrote it."""

from __future__ import annotations

from ipctrace.calls import Call
from ipctrace.compare import canonicalize
from ipctrace.link import link
from ipctrace.model import Stream
from ipctrace.tracefile import read_trace


def test_a_write_on_the_roles_stdout_pipe_is_output_not_ipc(trace_program):
    result = trace_program("writes_fd1.py")
    trace = read_trace(result.outdir / "trace.jsonl")
    assert set(trace.header.streams.values()) >= {Stream.STDOUT, Stream.STDERR}
    raw_write = next(e for e in trace.events if e.call is Call.WRITE and e.fd == 1)
    assert trace.stream_of(raw_write) is Stream.STDOUT
    pipe_write = next(e for e in trace.events if e.call is Call.WRITE and e.fd != 1)
    assert trace.stream_of(pipe_write) is None

    linked = link(trace)
    assert [ch.kind for ch in linked.channels] == ["pipe"]  # the program's own pipe only
    assert not linked.unexplained and not linked.unread

    lines = [c for p in canonicalize(trace, linked).processes for c in p.calls if c.call == "stdout"]
    assert lines and lines[0].data == "first line"
