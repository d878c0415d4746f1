"""How each call enters the canonical form: one rule per `Canon` of the table of calls (`ipctrace.calls`).

A rule keeps what the program decided (the arguments that matter, the shape
of the result, the payload) and drops what the run chose (fd numbers, pids,
inode numbers, kernel-chosen ports), in the symbols of `naming.Names`. A new
call takes a row in the table with an existing rule, or a new `Canon` and
one function here.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

from ipctrace.calls import Canon, Trait, spec
from ipctrace.compare.constants import FAMILIES, LEVELS, SHUTDOWN_HOW, TYPES, errno_name, named, option_name
from ipctrace.compare.form import CanonicalCall, Json, freeze
from ipctrace.compare.naming import Names
from ipctrace.model import Event, Stream, signal_name

Rule = Callable[[Event, Names], CanonicalCall]

#: Argument names that only describe the run, never the program.
VOLATILE_ARGS = frozenset({"cwd", "wchan", "syscall", "schedule"})


def canonical_call(e: Event, names: Names) -> CanonicalCall:
    """One event in symbolic terms: a call still blocked at the end, a line of the program, or its call's rule."""
    if e.blocked:
        return CanonicalCall(call=e.call.value, on=names.on(e), blocked=True)
    stream = names.stream(e)
    if stream is not None:  # the program's own input or output: its text, under the stream's name
        return stream_line(e, names, stream)
    return RULES[spec(e.call).canon](e, names)


def _plain(e: Event, names: Names, *args: tuple[str, Json], **fields: Json) -> CanonicalCall:
    """The call with its endpoint and error; `fields` set the others (`result`, `size`, `data`, `on`)."""
    fields.setdefault("on", names.on(e))
    return CanonicalCall(call=e.call.value, args=tuple(args), error=e.error, **fields)


def _size(e: Event) -> int | None:
    """How many bytes a data call moved: the recorded true length, else its result."""
    if e.size is not None:
        return e.size
    return e.result if isinstance(e.result, int) and not isinstance(e.result, bool) else None


def stream_line(e: Event, names: Names, stream: Stream) -> CanonicalCall:
    """A line the program printed or read: its text, without the newline; a prompt printed without one says so."""
    data = e.data or b""
    line = data[:-1] if data.endswith(b"\n") else data
    payload = names.text.payload(line)
    if stream is Stream.STDIN:
        if e.error == "EOFError" or not data:
            return CanonicalCall(call=stream.value, result="eof")
        return CanonicalCall(call=stream.value, data=payload.text, digest=payload.digest)
    args: tuple[tuple[str, Json], ...] = () if data.endswith(b"\n") else (("prompt", True),)
    return CanonicalCall(call=stream.value, args=args, data=payload.text, digest=payload.digest)


def _socket(e: Event, names: Names) -> CanonicalCall:
    family, kind = e.args.get("family"), e.args.get("type")
    args = (("family", named(FAMILIES, family)), ("type", named(TYPES, kind)))
    return _plain(e, names, *args, result=names.on(e), on=None)


def _creates_pair(e: Event, names: Names) -> CanonicalCall:
    """pipe, socketpair: the name of the pair (both ends are named by it)."""
    return _plain(e, names, result=None if e.endpoint is None else names.pair(e.endpoint), on=None)


def _address(e: Event, names: Names) -> CanonicalCall:
    """bind, connect: the address in symbols; connect_ex's returned errno by name."""
    result = errno_name(e.result) if isinstance(e.result, int) and not isinstance(e.result, bool) and e.result else None
    return _plain(e, names, ("addr", names.addr(e.address)), result=result)


def _listen(e: Event, names: Names) -> CanonicalCall:
    args = (("backlog", e.args["backlog"]),) if "backlog" in e.args else ()
    return _plain(e, names, *args)


def _accept(e: Event, names: Names) -> CanonicalCall:
    args = () if e.peer is None else (("from", names.addr(e.peer)),)
    result = None if e.peer_endpoint is None else names.endpoint(e.peer_endpoint)
    return _plain(e, names, *args, result=result)


def _send(e: Event, names: Names) -> CanonicalCall:
    size, asked = _size(e), e.args.get("n")
    args: list[tuple[str, Json]] = []
    if isinstance(asked, int) and size is not None and asked != size:
        args.append(("asked", asked))
    if spec(e.call).has(Trait.HAS_ADDRESS) and e.peer is not None:
        args.append(("to", names.addr(e.peer)))
    payload = names.text.payload(e.data)
    return _plain(e, names, *args, size=size, data=payload.text, digest=payload.digest)


def _receive(e: Event, names: Names) -> CanonicalCall:
    args: list[tuple[str, Json]] = [("max", e.args["n"])] if "n" in e.args else []
    if spec(e.call).has(Trait.HAS_ADDRESS) and e.peer is not None:
        args.append(("from", names.addr(e.peer)))
    size = _size(e)
    if size == 0 and e.error is None:
        return _plain(e, names, *args, result="eof")
    payload = names.text.payload(e.data)
    return _plain(e, names, *args, size=size, data=payload.text, digest=payload.digest)


def _shutdown(e: Event, names: Names) -> CanonicalCall:
    return _plain(e, names, ("how", named(SHUTDOWN_HOW, e.args.get("how"))))


def _setsockopt(e: Event, names: Names) -> CanonicalCall:
    level, opt = e.args.get("level"), e.args.get("opt")
    args = (("level", named(LEVELS, level)), ("opt", option_name(level, opt)), ("value", freeze(e.args.get("value"))))
    return _plain(e, names, *args)


def _fork(e: Event, names: Names) -> CanonicalCall:
    child = e.result if isinstance(e.result, int) and e.result > 0 else None
    return _plain(e, names, result=None if child is None else names.role(child, "an untraced child"))


def _wait(e: Event, names: Names) -> CanonicalCall:
    """A wait: whom it waited for, WNOHANG, and whom it reaped and how that child ended (`none`: nothing yet)."""
    args: list[tuple[str, Json]] = []
    if "pid" in e.args:
        args.append(("pid", names.role(e.args["pid"], "an untraced child")))
    options = e.args.get("options")
    if isinstance(options, int):
        args.append(("options", "WNOHANG" if options & os.WNOHANG else options))
    return _plain(e, names, *args, result=_reaped(e, names))


def _reaped(e: Event, names: Names) -> Json:
    if e.reaped is None:
        return None
    if e.reaped.nothing:
        return "none"
    role = names.role(e.reaped.pid, "an untraced child")
    status = e.reaped.status
    return role if status.code is None and status.signal is None else f"{role} {status}"


def _kill(e: Event, names: Names) -> CanonicalCall:
    sig = e.args.get("sig", 0)
    args = (("pid", names.role(e.args.get("pid"), "an untraced process")), ("sig", signal_name(int(sig or 0))))
    return _plain(e, names, *args)


def _sleep(e: Event, names: Names) -> CanonicalCall:
    return _plain(e, names, ("seconds", e.args.get("seconds")))


def _exit(e: Event, names: Names) -> CanonicalCall:
    status = e.result if isinstance(e.result, int) else None  # the recorders write a status or null
    return _plain(e, names, ("how", e.args.get("how")), result=status)


def _exception(e: Event, names: Names) -> CanonicalCall:
    message = names.text.text(str(e.args.get("message", "")))
    return _plain(e, names, ("type", e.args.get("type")), ("message", message))


def _endpoint_only(e: Event, names: Names) -> CanonicalCall:
    """close, dup, fromfd: the endpoint says it all; fd numbers are not part of the form."""
    return _plain(e, names)


def _starts_program(e: Event, names: Names) -> CanonicalCall:
    """exec, spawn: how, and the program as `start` names it (`python`, a program's file name, no folders)."""
    args: list[tuple[str, Json]] = [("how", e.args.get("how"))]
    executable, argv, command = e.args.get("executable"), e.args.get("argv"), e.args.get("command")
    if isinstance(executable, str):
        args.append(("executable", names.argv([executable])[0]))
    if isinstance(argv, list):
        args.append(("argv", names.argv([str(a) for a in argv])))
    if isinstance(command, str):
        args.append(("command", names.text.text(command)))
    return _plain(e, names, *args)


def _args(e: Event, names: Names) -> CanonicalCall:
    return _plain(e, names, *((k, freeze(v)) for k, v in e.args.items() if k not in VOLATILE_ARGS))


def _stream_call(e: Event, names: Names) -> CanonicalCall:
    """stdout, stderr, stdin recorded as lines (traces from before output was recorded at the descriptor)."""
    return stream_line(e, names, Stream(e.call.value))


RULES: Mapping[Canon, Rule] = {
    Canon.STREAM_LINE: _stream_call,
    Canon.SOCKET: _socket,
    Canon.CREATES_PAIR: _creates_pair,
    Canon.ADDRESS: _address,
    Canon.LISTEN: _listen,
    Canon.ACCEPT: _accept,
    Canon.SEND: _send,
    Canon.RECEIVE: _receive,
    Canon.SHUTDOWN: _shutdown,
    Canon.SETSOCKOPT: _setsockopt,
    Canon.FORK: _fork,
    Canon.WAIT: _wait,
    Canon.KILL: _kill,
    Canon.SLEEP: _sleep,
    Canon.EXIT: _exit,
    Canon.EXCEPTION: _exception,
    Canon.STARTS_PROGRAM: _starts_program,
    Canon.ENDPOINT_ONLY: _endpoint_only,
    Canon.ARGS: _args,
    Canon.DROPPED: _args,  # control markers never reach a finished trace; kept whole if one ever does
}
