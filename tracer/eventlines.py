"""Event lines of a trace file read without JSON, once a line of the same shape has been read with it.

A trace's event lines repeat: the same call on the same descriptor with the same arguments and result,
from the same line of the program, a hundred thousand times, with only the numbers that place it
(pid, seq, ppid, tid, t0, t1) and the payload differing. `write_trace` writes those numbers first, in
that order, and the payload as one base64 string; what is left of the line — its *shape* — is the same
text every time. The first line of each shape is decoded by the trace reader with `json` as any other
line (and checked, field by field, to say what that text means); every later line of the shape takes
its decoded fields from that one and parses only its numbers and its payload.

Measured on a million-event trace: `json.loads` and the decoding after it took 20 µs a line; a line of
a known shape takes about 3 µs, and a line whose whole text after the numbers (payload and all) was
read before skips cutting out its payload too (a program sending the same message over and over: 20%
less time to read a ping-pong trace). A line that does not start as `write_trace` writes events, or whose
shape is new, is left to the reader (`Lines.split` says which), so nothing here decides what a line
means: a line is read here only when an identical text, but for its numbers and payload, was read by
the reader before.

The loop over the lines is also compiled (`eventlines_c.c`, the extension `ipctrace._eventlines`, built
by the install where a C compiler and the Python headers are found): the same steps on the same tables,
about 1 µs a line where the Python loop takes 3–4 (10^6 lines: 1.5 CPU-s against 4.3). `read` uses it
when it is built and `IPCTRACE_PURE_PYTHON` is not 1; tests/test_eventlines_c.py says both loops read
every kind of line alike.
"""

from __future__ import annotations

import binascii
import importlib
import json
import re
from collections.abc import Callable, Iterable
from typing import Any

from ipctrace.compiled import use_compiled
from ipctrace.model import EVENT_TAIL, Event, EventKey

#: A JSON number as `json.dumps` writes a non-negative int (no sign, no leading zero, no fraction).
_NUMBER = "(0|[1-9][0-9]*)"
#: The start of an event line as `write_trace` writes it, up to the opening quote of the call's name.
_HEAD = re.compile(
    '\\{"type": "event", "pid": N, "seq": N, "ppid": N, "tid": N, "t0": N, "t1": (?:N|null), "call": "'.replace(
        "N", _NUMBER
    )
)
#: The keys the head holds (a shape that names one again is left to the reader: the last one counts in JSON).
_HEAD_KEYS = frozenset({"type", "pid", "seq", "ppid", "tid", "t0", "t1"})
#: Where the payload starts; `write_trace` writes it as base64, so it holds no quote and no escape.
_DATA = ', "data": "'
_AFTER_DATA = len(_DATA)
#: Shapes and payloads remembered at most (a trace whose lines never repeat starts again rather than grow).
_MAX_SHAPES = 1 << 16
_MAX_PAYLOADS = 1 << 16
_MAX_WHOLE = 1 << 16
#: A payload text that is not plain base64 (the reader decodes that line, and says what is wrong with it).
_NOT_PLAIN = object()

_eventlines: Any
try:  # the same loop compiled (eventlines_c.c, built by setup.py where a C compiler is found)
    _eventlines = importlib.import_module("ipctrace._eventlines")
except ImportError:
    _eventlines = None
#: Whether `Lines.read` runs compiled.
COMPILED = use_compiled(_eventlines)  # `IPCTRACE_PURE_PYTHON=1`: the Python loop, as for the recorder


def compiled_said_key() -> Callable[..., tuple[Any, ...]] | None:
    """The timeline's key of a line said before, compiled (`said_key` in eventlines_c.c), or None.

    It lives beside the compiled event lines so that the project builds one extension for the trace's
    events; render/text.py says what the key holds, and makes it in Python where this is None.
    """
    return _eventlines.said_key if COMPILED else None


#: Hand a line to the reader: (line number, line, its slot in the events, what `learn` needs or None).
Handoff = Callable[[int, str, int, Any], None]


class _Ints(dict[str, int]):
    """Decimal texts to ints, each made once (pids and tids repeat on every line)."""

    def __missing__(self, text: str) -> int:
        value = self[text] = int(text)
        return value


class Lines:
    """What the event lines read so far said: each shape's decoded fields, and each payload's bytes."""

    def __init__(self) -> None:
        self._shapes: dict[str, tuple[Any, ...]] = {}
        self._payloads: dict[str, bytes] = {}
        #: The text after the numbers, payload and all, of lines read here whose payload was seen before:
        #: a line that says it again takes its fields and payload from it without cutting the payload out.
        self._whole: dict[str, tuple[tuple[Any, ...], bytes]] = {}
        self._ints = _Ints()

    def read(self, lines: Iterable[str], number: int, events: list[Event | None], handoff: Handoff) -> int:
        """Append an event to `events` for each line of a known shape; `handoff` every other line.

        A line handed off has a slot (`None`) in `events`, in its place, for the reader to fill (or
        leave empty when it is no event). `number` is the line number before the first line; the
        number of the last line is returned.
        """
        if COMPILED and type(lines) is list:
            return int(_eventlines.read(
                lines, number, events, handoff, self._shapes, self._payloads, self._whole, self._payload,
                _NOT_PLAIN, Event, EventKey, _MAX_WHOLE,
            ))  # fmt: skip
        return self.read_python(lines, number, events, handoff)

    def read_python(self, lines: Iterable[str], number: int, events: list[Event | None], handoff: Handoff) -> int:
        """`read` in Python: the loop the compiled one (eventlines_c.c) follows step for step."""
        match = _HEAD.match
        shapes, payloads, ints, whole = self._shapes, self._payloads, self._ints, self._whole
        append = events.append
        new = tuple.__new__
        for line in lines:
            number += 1
            m = match(line)
            if m is None:
                append(None)
                handoff(number, line, len(events) - 1, None)
                continue
            rest = line[m.end() :]
            known = whole.get(rest)
            if known is None:
                line_rest = rest
                at = rest.find(_DATA)
                text = None
                if at >= 0:
                    end = rest.find('"', at + _AFTER_DATA)
                    if end < 0:  # no end to the payload: the reader says what is wrong with the line
                        append(None)
                        handoff(number, line, len(events) - 1, None)
                        continue
                    text = rest[at + _AFTER_DATA : end]
                    rest = rest[: at + _AFTER_DATA] + rest[end:]
                shape = shapes.get(rest)
                data: Any = _NOT_PLAIN
                if shape is not None:
                    if text is None:
                        data = shape[-1]
                    else:
                        data = payloads.get(text)
                        if data is None:
                            data = self._payload(text)
                        elif data is not _NOT_PLAIN:  # a payload said again: the whole text may well be too
                            if len(whole) >= _MAX_WHOLE:
                                whole.clear()
                            whole[line_rest] = (shape[0], data)
                if shape is None or data is _NOT_PLAIN:
                    append(None)
                    handoff(number, line, len(events) - 1, (m.groups(), rest, text))
                    continue
                fields = shape[0]
            else:  # this very text after the numbers, payload and all, was read before
                fields, data = known
            pid, seq, ppid, tid, t0, t1 = m.groups()
            p, s = ints[pid], int(seq)
            # one tuple display (the head and `*fields`): a head tuple added to the fields made two
            t1n = None if t1 is None else int(t1)
            append(new(Event, (p, s, ints[ppid], ints[tid], int(t0), t1n, data, new(EventKey, (p, s)), *fields)))
        return number

    def _payload(self, text: str) -> Any:
        try:
            data = binascii.a2b_base64(text, strict_mode=True)  # plain base64 only: no other character
        except binascii.Error:
            return _NOT_PLAIN
        if len(self._payloads) >= _MAX_PAYLOADS:
            self._payloads.clear()
        self._payloads[text] = data
        return data

    def learn(self, hint: Any, event: Event) -> None:
        """Remember the shape of a handed-off line the reader decoded as `event` (`hint` from `read`).

        Kept only when the line says what its text says: the numbers before the call are the event's
        own and the payload text is its payload (a key given twice, or a payload that is no plain
        base64, leaves the shape to the reader every time).
        """
        groups, rest, text = hint
        pid, seq, ppid, tid, t0, t1 = groups
        numbers = (int(pid), int(seq), int(ppid), int(tid), int(t0), None if t1 is None else int(t1))
        if numbers != (event.pid, event.seq, event.ppid, event.tid, event.t0, event.t1):
            return
        if text is not None and self._payload(text) != event.data:
            return
        try:  # the shape's own fields: none of those before the call again, and its payload the one cut out
            fields = json.loads('{"call": "' + rest)
        except json.JSONDecodeError:
            return
        if not isinstance(fields, dict) or not _HEAD_KEYS.isdisjoint(fields):
            return
        if text is not None and fields.get("data") != "":
            return
        if len(self._shapes) >= _MAX_SHAPES:
            self._shapes.clear()
        self._shapes[rest] = (tuple(event[EVENT_TAIL:]), event.data)
