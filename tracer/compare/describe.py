"""The parts of a canonical form in words, for the diff's sentences: `send 'exit\\n' (5 B) on tcp#1.client`.

One way of saying a call per `Canon` rule, as `rules.py` has one way of
building it; `focus` is where in a payload to look (where it differs from
another's).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from ipctrace.calls import Canon, Trait, spec
from ipctrace.compare.form import CanonicalCall, CanonicalFlow, CanonicalPacket, CanonicalProcess
from ipctrace.compare.text import quote

_Say = Callable[[CanonicalCall, int], str]


def describe(c: CanonicalCall, focus: int = 0) -> str:
    if c.blocked:
        return f"{c.call}{_on(c)} (still blocked when the run ended)"
    rule = spec(c.call).canon
    if c.error is not None and rule is not Canon.STREAM_LINE:
        return f"{c.call}{_on(c)}{_arg_text(c)} failing with {c.error}"
    return _SAY.get(rule, _generic)(c, focus)


def _on(c: CanonicalCall) -> str:
    return f" on {c.on}" if c.on else ""


def _arg_text(c: CanonicalCall) -> str:
    shown = [f"{k}={v}" for k, v in c.args if k not in ("to", "from")]
    return f" ({', '.join(shown)})" if shown else ""


def _line(c: CanonicalCall, focus: int) -> str:
    if c.call == "stdin":
        return "input: end of file" if c.result == "eof" else f"input {quote(c.data, start=focus)}"
    where = "" if c.call == "stdout" else " to stderr"
    return f"print{where} {quote(c.data, start=focus)}"


def _release(c: CanonicalCall, focus: int) -> str:
    how = f" ({c.arg('how')})" if c.arg("how") else ""
    return f"{c.call} {c.on or '(unknown)'}{how}"


def _send(c: CanonicalCall, focus: int) -> str:
    if c.size is None:
        return _generic(c, focus)
    to = f" to {c.arg('to')}" if c.arg("to") else ""
    return f"{c.call} {quote(c.data, start=focus)} ({c.size} B){_on(c)}{to}"


def _receive(c: CanonicalCall, focus: int) -> str:
    if c.result == "eof":
        return f"{c.call}{_on(c)} → end of file"
    src = f" from {c.arg('from')}" if c.arg("from") else ""
    return f"{c.call} {quote(c.data, start=focus)} ({c.size} B){_on(c)}{src}"


def _fork(c: CanonicalCall, focus: int) -> str:
    return f"fork → {c.result}"


def _exit(c: CanonicalCall, focus: int) -> str:
    code = "" if c.result is None else f", code {c.result}"
    return f"exit ({c.arg('how')}{code})"


def _generic(c: CanonicalCall, focus: int) -> str:
    res = f" → {c.result}" if c.result not in (None, "ok") else ""
    return f"{c.call}{_on(c)}{_arg_text(c)}{res}"


_SAY: Mapping[Canon, _Say] = {
    Canon.STREAM_LINE: _line,
    Canon.ENDPOINT_ONLY: lambda c, focus: (_release if spec(c.call).has(Trait.RELEASES_FD) else _generic)(c, focus),
    Canon.SHUTDOWN: _release,
    Canon.SEND: _send,
    Canon.RECEIVE: _receive,
    Canon.FORK: _fork,
    Canon.EXIT: _exit,
}


def describe_flow(f: CanonicalFlow) -> str:
    who_from = f"{f.sender} ({f.send})" if f.sender else "an untraced sender"
    who_to = f"{f.receiver} ({f.recv})" if f.receiver else "nobody (never read)"
    return f"{quote(f.data)} ({f.size} B) {who_from} → {who_to} on {f.channel}"


def describe_packet(p: CanonicalPacket) -> str:
    kind = p.flags or "datagram"
    return f"{kind} {quote(p.data)} ({p.size} B)" if p.size else kind


def summary(p: CanonicalProcess, n: int = 3) -> str:
    """A process in one line: how it started, its first calls, how it ended."""
    start = f"started by {p.parent} ({p.started})" if p.parent else f"started as {' '.join(p.argv) or '?'}"
    calls = "; ".join(describe(c) for c in p.calls[:n]) + ("; …" if len(p.calls) > n else "")
    return f"{start}, {len(p.calls)} calls ({calls or 'none'}), {p.exit or 'end unknown'}"
