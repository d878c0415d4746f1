"""Reading trace files: event lines of a shape already read (decoded without JSON) read as JSON would.

`eventlines.Lines` decodes a line like one read before from its numbers and payload alone; these tests
write traces whose lines repeat, including lines built to mislead a reader that only looked at the text
(a key given twice, a payload with escapes, a `data` key inside the arguments), and compare every field
of every event with a plain `json.loads` of each line.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from ipctrace.model import Event
from ipctrace.tracefile import EventDecoder, TraceFileError, read_trace, trace_lines, write_trace
from tests.conftest import written_again

TRACES = Path(__file__).parent / "traces"

#: More lines of a shape than the reader decodes with JSON in one batch, after which it knows the shape.
MANY = 3000
HEADER = json.dumps({"type": "header", "version": 1, "command": ["x"], "host": "h", "clock": "c", "started": 0})


def _as_json(path: Path) -> list[tuple[object, ...]]:
    """Every event of a trace file, each line decoded by `json.loads` (the reference)."""
    decoder = EventDecoder()
    objs = (json.loads(line) for line in path.read_text(encoding="utf-8").splitlines())
    return [tuple(decoder.event(obj)) for obj in objs if obj.get("type") == "event"]


def _read(path: Path) -> list[tuple[object, ...]]:
    return [tuple(e) for e in read_trace(path).events]


def _trace_file(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "trace.jsonl"
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    return path


def _line(seq: int, rest: str, t1: str | None = None) -> str:
    t1 = t1 if t1 is not None else str(2000 + seq)
    head = f'{{"type": "event", "pid": 7, "seq": {seq}, "ppid": 1, "tid": 7, "t0": {1000 + seq}, "t1": {t1}, '
    return head + f'"call": {rest}'


def test_a_recorded_trace_repeated_reads_as_json_reads_it(tmp_path):
    """A real trace's events written again and again (new seqs and times) read back field for field."""
    trace = written_again(read_trace(TRACES / "echo_storeserv_late_reader.jsonl"), 40)  # all but the first go short
    path = tmp_path / "big.jsonl"
    write_trace(trace, path)
    assert len(trace.events) > 5000
    assert _read(path) == _as_json(path)
    again = read_trace(path)
    assert list(trace_lines(again)) == path.read_text(encoding="utf-8").splitlines()  # and writes back the same


@pytest.mark.parametrize(
    "rest",
    [
        '"write", "fd": 4, "ep": [14, 5, "pipe"], "size": 4, "data": "cGluZw==", "res": 4}',
        '"read", "fd": 3, "ep": [14, 5, "pipe"], "args": {"n": 100}, "size": 0, "data": "", "res": 0}',
        '"write", "fd": 4, "size": 4, "data": "cGluZw==", "fd": 5, "res": 4}',  # a key given twice: the last wins
        '"write", "fd": 4, "size": 4, "data": "cGluZw\\u003d\\u003d", "res": 4}',  # escapes in the payload
        '"write", "fd": 4, "args": {"n": 1, "data": "AAAA"}, "size": 4, "data": "cGluZw==", "res": 4}',
        '"write", "fd": 4, "size": 4, "data": "cGluZw==", "data": "cG9uZw==", "res": 4}',  # two payloads
        '"waitpid", "args": {"pid": 8, "options": 0}, "res": [8, 256]}',
        '"pipe", "res": [3, 4], "ep": [14, 5, "pipe"]}',
        '"write","fd":4,"size":4,"data":"cGluZw==","res":4}',  # other spacing: the payload stays in the shape
        '"read", "fd": 3, "blocked": true}',
    ],
)
def test_lines_of_one_shape_read_as_json_reads_them(tmp_path, rest):
    lines = [_line(seq, rest, t1="null" if seq % 3 == 0 else None) for seq in range(MANY)]
    path = _trace_file(tmp_path, lines)
    assert _read(path) == _as_json(path)


def test_a_seq_given_twice_in_every_line_is_read_as_json_reads_it_one_event_many_times(tmp_path):
    """The last `seq` wins, in the fast reader as in JSON: every line is then event 99, a damaged trace."""
    lines = [_line(seq, '"write", "fd": 4, "size": 4, "data": "cGluZw==", "seq": 99, "res": 4}') for seq in range(MANY)]
    path = _trace_file(tmp_path, lines)
    assert {e[1] for e in _as_json(path)} == {99}
    with pytest.raises(TraceFileError, match="lines 2 and 3 both hold event 99 of process 7"):
        read_trace(path)


def test_payloads_differ_and_the_shape_stays(tmp_path):
    payloads = ["cGluZw==", "cG9uZw==", "", "AAECAwQ=", "4oCU"]
    lines = [
        _line(seq, f'"send", "fd": 3, "size": 4, "data": "{payloads[seq % 5]}", "res": 4}}') for seq in range(MANY)
    ]
    path = _trace_file(tmp_path, lines)
    assert _read(path) == _as_json(path)
    assert {e.data for e in read_trace(path).events} == {b"ping", b"pong", b"", b"\0\1\2\3\4", "—".encode()}


def test_a_data_key_inside_the_arguments_is_not_taken_for_the_payload(tmp_path):
    payloads = ["cGluZw==", "cG9uZw=="]
    lines = [
        _line(seq, f'"write", "args": {{"n": 1, "data": "{p}"}}, "size": 4, "data": "cGluZw==", "res": 4}}')
        for seq, p in zip(range(MANY), itertools.cycle(payloads), strict=False)
    ]
    path = _trace_file(tmp_path, lines)
    assert _read(path) == _as_json(path)


def test_lines_of_a_known_shape_are_read_without_json(tmp_path, monkeypatch):
    """After a batch, a shape's lines no longer reach `json.loads` (the point of `eventlines`)."""
    from ipctrace.tracefile import reader

    lines = [_line(seq, '"write", "fd": 4, "size": 4, "data": "cGluZw==", "res": 4}') for seq in range(MANY)]
    path = _trace_file(tmp_path, lines)
    decoded: list[int] = []
    loads = reader.json.loads
    monkeypatch.setattr(reader.json, "loads", lambda text: decoded.append(text.count('"event"')) or loads(text))
    assert len(read_trace(path).events) == MANY
    assert 0 < sum(decoded) <= 2100  # the first batch of lines (2048), then none


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        (_line(3, '"write"}').replace('"pid": 7', '"pid": 07'), "not valid JSON"),
        (_line(3, '"write", "fd": 4, "size": 4, "data": "cGluZw==", "res": 4}x'), "not valid JSON"),
        (_line(3, '"write", "fd": 4, "size": 4, "data": "not base64!", "res": 4}'), "an event with a missing or bad"),
        (_line(3, '"write", "fd": 4, "size": 4, "data": "cGlu\tZw==", "res": 4}'), "not valid JSON"),
    ],
)  # fmt: skip
def test_a_bad_line_among_lines_of_its_shape_is_named(tmp_path, bad, says):
    good = [_line(seq, '"write", "fd": 4, "size": 4, "data": "cGluZw==", "res": 4}') for seq in range(MANY)]
    path = _trace_file(tmp_path, [*good, bad, *good[:3]])
    with pytest.raises(TraceFileError) as caught:
        read_trace(path)
    assert f"{path}:{MANY + 2}:" in str(caught.value) and says in str(caught.value)


def test_a_last_line_cut_short_is_named_after_lines_of_its_shape(tmp_path):
    lines = [_line(seq, '"write", "fd": 4, "size": 4, "data": "cGluZw==", "res": 4}') for seq in range(MANY)]
    path = tmp_path / "cut.jsonl"
    path.write_text("\n".join([HEADER, *lines]) + "\n" + lines[0][:40], encoding="utf-8")
    with pytest.raises(TraceFileError, match=rf"cut\.jsonl:{MANY + 2}: the last line is cut short"):
        read_trace(path)
    notes: list[str] = []  # asked for what is whole: the lines before the cut, and a sentence saying so
    trace = read_trace(path, notes)
    assert [e.seq for e in trace.events] == list(range(MANY))
    assert notes == [f"{path}:{MANY + 2}: the last line is cut short (the file is truncated); "
                     f"the {MANY + 1:,} whole lines before it are read, the rest of the run is not there"]  # fmt: skip


def test_the_timeline_says_each_line_as_event_line_does(tmp_path):
    """The timeline says a line like one before without working it out again: the same text either way."""
    from ipctrace.order import analyse, nodes_in_order
    from ipctrace.render.text import event_line, timeline

    trace = read_trace(TRACES / "echo_storeserv_late_reader.jsonl")
    ordered = analyse(trace)
    roles = {p.pid: p.role for p in trace.processes}
    start = trace.header.started
    expected = [
        event_line(item, roles[item.pid], start, ordered.linked.describe(item))
        for item in nodes_in_order(ordered)
        if isinstance(item, Event)
    ]
    said = [line for line in timeline(trace).splitlines() if line and "~~ wire ~~" not in line]
    assert said[: len(expected)] == expected and len(expected) > 50
    assert len({line[14:] for line in expected}) < len(expected)  # lines alike but for their time: said again
