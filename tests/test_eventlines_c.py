"""The event lines' two loops (`eventlines.Lines.read`): the compiled one (eventlines_c.c) reads as the Python one.

Lines built to trip a hand-written matcher (escapes, text of every width, ints too long for a machine
word, heads almost as `write_trace` writes them, payloads new and said again, optional fields left out,
bad lines) are read by both loops: the same events, field for field and type for type, the same lines
handed to the reader with the same hints, and the same sentence for a bad line.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ipctrace import eventlines
from ipctrace.model import Event
from ipctrace.tracefile import EventDecoder, TraceFileError, read_trace
from tests.conftest import missing, written_again

HEADER = json.dumps({"type": "header", "version": 1, "command": ["x"], "host": "h", "clock": "c", "started": 0})
#: More lines of a shape than the reader decodes with JSON in one batch (2048), after which it knows it.
MANY = 2600

#: What comes after `"call": ` on the lines: shapes a trace has, and shapes made to mislead.
RESTS = [
    '"write", "fd": 4, "ep": [14, 5, "pipe"], "size": 4, "data": "cGluZw==", "res": 4}',
    '"read", "fd": 3, "ep": [14, 5, "pipe"], "args": {"n": 100}, "size": 0, "data": "", "res": 0}',
    '"write", "fd": 4, "size": 4, "data": "cGluZw\\u003d\\u003d", "res": 4}',  # escapes in the payload
    '"write", "fd": 4, "args": {"n": 1, "data": "AAAA"}, "size": 4, "data": "cGluZw==", "res": 4}',
    '"write", "fd": 4, "size": 4, "data": "cGluZw==", "tid": 99, "res": 4}',  # a head key again: the last wins
    '"write", "fd": 4, "size": 4, "data": "cGluZw==", "data": "cG9uZw==", "res": 4}',  # two payloads
    '"openat", "args": {"path": "/tmp/caf\u00e9"}, "res": 5}',  # one byte a character, not ASCII
    '"openat", "args": {"path": "/tmp/\ud55c\uae00 \\"q\\" \\\\"}, "res": 5}',  # two bytes a character
    '"openat", "args": {"path": "/tmp/\U0001f600\\ud83d\\ude00"}, "res": 5}',  # four bytes, and a surrogate pair
    '"waitpid", "args": {"pid": 8, "options": 0}, "res": [8, 256]}',
    '"pipe", "res": [3, 4], "ep": [14, 5, "pipe"]}',
    '"read", "fd": 3, "blocked": true}',  # optional fields left out
    '"write","fd":4,"size":4,"data":"cGluZw==","res":4}',  # other spacing: the payload stays in the shape
    '"send", "fd": 3, "size": 4, "data": "not base64!", "res": 4}',  # no plain base64: the reader says so
    '"sendto", "fd": 3, "size": 3, "data": "AAEC", "res": 3, "args": {"big": 123456789012345678901234567890}}',
]
PAYLOADS = ["cGluZw==", "cG9uZw==", "", "AAECAwQ=", "4oCU", "////", "AA=="]
#: Numbers at the edges of what fits a machine word, and far past it.
NUMBERS = [0, 7, 10**18 - 1, 10**18, 2**63 - 1, 2**63, 1_764_547_200_123_456_789, 10**19 - 1, 10**19, 2**64 - 1]
NUMBERS += [2**64 + 1, 10**30 + 3]


def _head(pid: int | str, seq: int | str, t0: int | str, t1: int | str | None, tid: int | str | None = None) -> str:
    t1_text = "null" if t1 is None else t1
    tid = pid if tid is None else tid
    return f'{{"type": "event", "pid": {pid}, "seq": {seq}, "ppid": 1, "tid": {tid}, "t0": {t0}, "t1": {t1_text}, '


def _lines() -> Iterator[str]:
    """Every shape, many times over (so that the later lines go the short way), and then the edge cases."""
    for k in range(MANY):
        rest = RESTS[k % len(RESTS)]
        if '"data": "cGluZw=="' in rest and k % 4 == 1:
            rest = rest.replace("cGluZw==", PAYLOADS[k % len(PAYLOADS)], 1)
        yield _head(7 + k % 3, k, 1000 + k, None if k % 5 == 0 else 2000 + k) + '"call": ' + rest
    for k, n in enumerate(NUMBERS * 3):
        yield _head(n, MANY + k, n, n, tid=NUMBERS[-1 - k % len(NUMBERS)]) + '"call": ' + RESTS[k % len(RESTS)]
    almost = [  # heads not as write_trace writes them: left to the reader, which reads them with JSON
        _head(7, 1, 2, 3).replace('"pid": 7, ', '"pid": 7,  '),
        _head(7, 1, 2, 3).replace('"t0": 2', '"t0": 2.0'),
        _head(7, 1, 2, 3).replace('"t1": 3', '"t1": 3e0'),
        _head(7, 1, 2, 3).replace('"type": "event"', '"type": "ev\\u0065nt"'),
        _head(7, 1, 2, 3).replace('"tid": 7', '"tid": 0'),
        _head(7, 1, 2, 3).replace('"pid": 7', '"pid": -7'),
    ]
    for k, head in enumerate(almost * 3):
        yield head.replace('"seq": 1,', f'"seq": {MANY + 100 + k},') + '"call": ' + RESTS[k % len(RESTS)]


def _read_lines(lines: list[str], compiled: bool) -> tuple[Any, ...]:
    """`Lines.read` with a handoff that decodes and learns at once (as the reader does a batch later)."""
    reader, events, handed = eventlines.Lines(), list[Event | None](), list[tuple[Any, ...]]()
    decoder = EventDecoder()

    def handoff(number: int, line: str, slot: int, hint: Any) -> None:
        handed.append((number, line, slot, hint))
        try:
            event = decoder.event(json.loads(line))
        except (ValueError, KeyError, TypeError):
            return
        events[slot] = event
        if hint is not None:
            reader.learn(hint, event)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(eventlines, "COMPILED", compiled)
        last = reader.read(lines, 1, events, handoff)
    return last, [None if e is None else (type(e), tuple(e)) for e in events], handed


@pytest.fixture
def compiled_built() -> None:
    if eventlines._eventlines is None:
        missing("the trace reader's compiled event lines (a C compiler and python3-dev, then `pip install -e .`)")


@pytest.mark.parametrize("limit", [None, 2])
def test_both_loops_read_every_line_alike(compiled_built, monkeypatch, limit):
    """The same events and hand-offs; with `limit`, the payloads and whole texts are forgotten every few lines."""
    if limit is not None:
        monkeypatch.setattr(eventlines, "_MAX_WHOLE", limit)
        monkeypatch.setattr(eventlines, "_MAX_PAYLOADS", limit)
    lines = list(_lines())
    c_last, c_events, c_handed = _read_lines(lines, True)
    py_last, py_events, py_handed = _read_lines(lines, False)
    assert c_last == py_last == 1 + len(lines)
    assert c_handed == py_handed
    assert c_events == py_events
    short = len(lines) - len(c_handed)
    assert short > len(lines) / 2  # most lines went the short way
    assert {e[1][0] for e in c_events if e is not None} >= set(NUMBERS)  # the long ints came through whole


def _trace_file(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "trace.jsonl"
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    return path


def _read(path: Path, compiled: bool) -> list[tuple[object, ...]] | str:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(eventlines, "COMPILED", compiled)
        try:
            return [(type(e), *e) for e in read_trace(path).events]
        except TraceFileError as exc:
            return str(exc)


def test_both_loops_read_a_trace_file_as_json_does(compiled_built, tmp_path):
    path = _trace_file(tmp_path, [line for line in _lines() if "not base64" not in line])
    decoder = EventDecoder()
    objs = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()[1:]]
    expected = [(Event, *decoder.event(obj)) for obj in objs]
    assert _read(path, True) == _read(path, False) == expected


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        (_head("07", 3, 4, 5) + '"call": "write"}', "not valid JSON"),
        (_head("\uff17", 3, 4, 5) + '"call": "write"}', "not valid JSON"),  # a digit, but not ASCII
        (_head(7, 3, 4, 5) + '"call": "write", "fd": 4, "size": 4, "data": "cGluZw==", "res": 4}x', "not valid JSON"),
        (_head(7, 3, 4, 5) + '"call": "write", "fd": 4, "size": 4, "data": "not base64!", "res": 4}', "missing or bad"),
        (_head(7, 3, 4, 5) + '"call": "write", "fd": 4, "size": 4, "data": "cGlu\tZw==", "res": 4}', "not valid JSON"),
        (_head(7, 3, 4, 5) + '"call": "write", "fd": 4, "size": 4, "data": "cGluZw==, "res": 4}', "not valid JSON"),
        (_head(7, 3, 4, 5) + '"call": "write", "fd": 4, "size": 4, "data": "cGluZw==', "not valid JSON"),
        (_head(7, 3, 4, 5) + '"call": "write", "ep": [14], "size": 4, "data": "cGluZw==", "res": 4}', "missing or bad"),
        (_head(7, 3, 4, 5)[:-2], "not valid JSON"),
    ],
)  # fmt: skip
def test_a_bad_line_is_named_alike_by_both_loops(compiled_built, tmp_path, bad, says):
    good = [_head(7, k, k, k) + '"call": ' + RESTS[0] for k in range(MANY)]
    path = _trace_file(tmp_path, [*good, bad, *good[:3]])
    c_said, py_said = _read(path, True), _read(path, False)
    assert isinstance(c_said, str) and c_said == py_said
    assert c_said.startswith(f"{path}:{MANY + 2}: ") and says in c_said and c_said.count(". ") == 0


TRACES = Path(__file__).parent / "traces"


def _timeline(trace: Any, compiled: bool) -> str:
    from ipctrace.render.text import timeline

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(eventlines, "COMPILED", compiled)
        return timeline(trace)


@pytest.mark.parametrize("name", sorted(p.name for p in TRACES.glob("*.jsonl")))
def test_the_timeline_says_the_same_with_the_compiled_key(compiled_built, tmp_path, name):
    """The timeline's table of lines said before, keyed in C (`said_key`) or in Python: the same text.

    Each trace is written again four times over (new seqs and times, the same shapes), so most of its
    lines are said from the table, and the payloads, fds and results that differ between lines alike
    but for them must each make their own line.
    """
    from ipctrace.tracefile import write_trace

    trace = read_trace(TRACES / name)
    path = tmp_path / "again.jsonl"
    write_trace(written_again(trace, 4), path)
    for again in (trace, read_trace(path)):
        said = _timeline(again, True)
        assert said == _timeline(again, False)
        assert said.count("\n") >= len(again.events)


def test_the_compiled_key_tells_lines_apart_as_the_python_one(compiled_built):
    """Two events get one compiled key exactly when they get one Python key (render/text.py's two branches).

    Besides every event of the recorded traces, each is varied one field at a time (a new object: an
    equal copy of a dict or list, which the key tells apart by identity, or the value in a 1-tuple), and
    the pipe ends differ between events alike.
    """
    from ipctrace.link.model import PipeEnd
    from ipctrace.render import text

    said_key = eventlines.compiled_said_key()
    assert said_key is not None
    events: list[Event] = []
    for path in sorted(TRACES.glob("*.jsonl")):
        for e in read_trace(path).events:
            events.append(e)
            for place in (*text._SAID_FROM, *text._SAID_AS_IS):
                fields = list(e)
                value = fields[place]
                fields[place] = copy.copy(value) if type(value) in (dict, list) else (value,)  # a new object
                events.append(tuple.__new__(Event, fields))
    ends = {e.key: PipeEnd.READ if e.seq % 3 else PipeEnd.WRITE for e in events if e.seq % 2}

    def python_key(event: Event) -> tuple[Any, ...]:
        return (ends.get(event.key), *(event[i] for i in text._SAID_AS_IS), *(id(event[i]) for i in text._SAID_FROM))

    c_keys = [said_key(e, ends, text._KEY, text._SAID_AS_IS, text._SAID_FROM) for e in events]
    py_keys = [python_key(e) for e in events]
    assert len(set(c_keys)) == len(set(py_keys)) == len(set(zip(c_keys, py_keys, strict=True)))
    assert len(set(py_keys)) < len(events)  # some events alike, and told apart by nothing else
