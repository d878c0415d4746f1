"""Trace-file and recorder lines, decoded from JSON into the data model.

The raw shapes (address lists, wait statuses, lists of new descriptors, base64 payloads) are decoded
here once, so every later stage reads typed fields; `EventDecoder` shares what repeats between lines.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Iterator
from typing import Any, NoReturn

from ipctrace.calls import CREATES_FD, WAITS_FOR_CHILD, Call, parse_call
from ipctrace.model import (
    CallSite,
    CaptureInfo,
    Endpoint,
    EndpointKind,
    Event,
    EventKey,
    ExitStatus,
    Fd,
    Header,
    Inode,
    Packet,
    Process,
    Proto,
    Reaped,
    SockAddr,
    Stream,
    TcpFlags,
)


def addr_from_json(value: Any) -> SockAddr | None:
    if value is None:
        return None
    if isinstance(value, list):  # [host, port]; anything else is no address a socket could have
        if len(value) >= 2 and type(value[1]) is int:
            return SockAddr(str(value[0]), value[1])
        return None
    return SockAddr(str(value), None)


def endpoint_from_json(value: Any) -> Endpoint | None:
    if not value:
        return None
    dev, ino, kind = value
    return Endpoint(int(dev), int(ino), EndpointKind.parse(str(kind)))


def _safe_addr(value: Any) -> SockAddr | None:
    try:
        return addr_from_json(value)
    except (TypeError, ValueError, IndexError):
        return None


def _new_fds(call: Call, result: Any) -> tuple[Fd, ...]:
    """The descriptors a call created, from its recorded result (`[r, w]` of a pipe, accept's fd, ...)."""
    if call not in CREATES_FD and call is not Call.DUP2:
        return ()
    if isinstance(result, bool):
        return ()
    if isinstance(result, int):
        return (result,) if result >= 0 else ()
    if isinstance(result, list) and all(isinstance(fd, int) and not isinstance(fd, bool) for fd in result):
        return tuple(result)
    return ()


def _reaped(call: Call, result: Any) -> Reaped | None:
    if call not in WAITS_FOR_CHILD or not isinstance(result, list) or len(result) < 2:
        return None
    pid, status = result[0], result[1]
    if not isinstance(pid, int) or not isinstance(status, int):
        return None
    return Reaped(pid, ExitStatus.from_wait_status(status) if pid > 0 else ExitStatus())


def _data(value: Any) -> bytes | None:
    if value is None:
        return None
    if type(value) is str:
        return binascii.a2b_base64(value)  # what base64.b64decode does, without its checks of the argument's type
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    return base64.b64decode(value)


_CALLS = {c.value: c for c in Call}
_tuple_new = tuple.__new__
_KINDS = {k.value: k for k in EndpointKind}
_NO_ARGS: dict[str, Any] = {}
#: Calls whose result may name new descriptors (`_new_fds` says which).
_MAY_CREATE_FDS = frozenset(CREATES_FD | {Call.DUP2})


class EventDecoder:
    """Recorder or trace lines into Events, sharing what repeats between them.

    A trace names the same endpoints, addresses, pids and argument sets over and over; one object
    for each (they are all immutable, or never changed) keeps a million-event trace in memory at a
    fraction of the size, and decoding each once is faster too.
    """

    def __init__(self) -> None:
        self._endpoints: dict[tuple[Any, ...], Endpoint] = {}
        self._addrs: dict[tuple[Any, ...] | str, SockAddr] = {}
        self._args: dict[tuple[Any, ...], dict[str, Any]] = {}
        self._ints: dict[int, int] = {}

    def endpoint(self, value: Any) -> Endpoint | None:
        if not value:
            return None
        key = tuple(value)
        ep = self._endpoints.get(key)
        if ep is None:
            dev, ino, kind = key
            ep = self._endpoints[key] = Endpoint(int(dev), int(ino), _KINDS.get(str(kind), EndpointKind.OTHER))
        return ep

    def addr(self, value: Any) -> SockAddr | None:
        if value is None:
            return None
        key = tuple(value) if isinstance(value, list) else str(value)
        addr = self._addrs.get(key)
        if addr is None:
            addr = addr_from_json(value)
            if addr is None:  # a list that is no address (addr_from_json says so): no address
                return None
            self._addrs[key] = addr
        return addr

    def args(self, value: Any) -> dict[str, Any]:
        if not value:
            return _NO_ARGS
        try:
            key = tuple(value.items())
            return self._args.setdefault(key, value)
        except TypeError:  # a list among the values (argv): kept as it is
            return value
        except AttributeError:  # no object at all: a damaged line
            raise ValueError(f"'args' must be a JSON object, not {value!r:.40}") from None

    def small(self, value: Any) -> Any:
        return self._ints.setdefault(value, value) if type(value) is int else value

    def event(self, obj: dict[str, Any], seq: int | None = None) -> Event:
        """One event from a recorder or trace line (`seq` given when the line has none).

        The raw shapes are decoded here, once: the call name, endpoints, addresses, the descriptors a
        call created and what a wait reaped. `data` may be base64 text (trace files) or bytes (the
        recorder's log). This runs once per event of a trace, so the common shapes take the short
        way (no method call for a field that is absent or already an int).
        """
        get = obj.get
        name = obj["call"]
        call = _CALLS.get(name) or parse_call(str(name))
        raw_args = get("args")
        args = self.args(raw_args) if raw_args else _NO_ARGS
        ints = self._ints
        result = get("res")
        if type(result) is int:
            result = ints.setdefault(result, result)
        pid = obj["pid"]
        pid = ints.setdefault(pid, pid) if type(pid) is int else self.small(int(pid))
        ppid = get("ppid", 0)
        ppid = ints.setdefault(ppid, ppid) if type(ppid) is int else self.small(int(ppid))
        tid = get("tid", pid)
        tid = ints.setdefault(tid, tid) if type(tid) is int else self.small(int(tid))
        seq = int(obj["seq"]) if seq is None else seq
        t0 = obj["t0"]
        t1 = get("t1")
        if not (type(t0) is int and t0 >= 0 and (t1 is None or type(t1) is int and t1 >= 0)):
            t0, t1 = _time(t0, "t0"), None if t1 is None else _time(t1, "t1")
        fd = get("fd")
        size = get("size")
        ep = get("ep")
        local = get("local")
        peer = get("peer")
        ep2 = get("ep2")
        data = get("data")
        site = get("site")
        return _tuple_new(  # an Event is a tuple of its fields in their stored order (model.EVENT_FIELDS)
            Event,
            (
                pid,
                seq,
                ppid,
                tid,
                t0,
                t1,
                None if data is None else _data(data),
                _tuple_new(EventKey, (pid, seq)),
                call,
                None if fd is None else ints.setdefault(fd, fd) if type(fd) is int else _not_int("fd", fd),
                None if not ep else self.endpoint(ep),
                args,
                result,
                get("err"),
                None if size is None else ints.setdefault(size, size) if type(size) is int else _not_int("size", size),
                None if local is None else self.addr(local),
                None if peer is None else self.addr(peer),
                None if not ep2 else self.endpoint(ep2),
                bool(get("blocked", False)),
                _safe_addr(args["addr"]) if isinstance(args, dict) and "addr" in args else None,
                _new_fds(call, result) if call in _MAY_CREATE_FDS else (),
                _reaped(call, result) if call in WAITS_FOR_CHILD else None,
                None if site is None else _site(site),
            ),
        )


def _time(value: Any, key: str) -> int:
    """A time in nanoseconds from a line that holds it as another JSON type than a whole number, checked."""
    number = int(value)  # "123" as the older recorders wrote it; a float keeps its whole nanoseconds
    if number < 0 or isinstance(value, bool):
        raise ValueError(f"{key!r} must be a time in nanoseconds (0 or more), not {value!r:.40}")
    return number


def _not_int(key: str, value: Any) -> NoReturn:
    """`key` holds something else than the whole number (or null) every stage reads it as: the line is damaged."""
    raise ValueError(f"{key!r} must be a whole number or null, not {value!r:.40}")


def _whole_or_none(obj: dict[str, Any], key: str) -> int | None:
    value = obj.get(key)
    return value if value is None or type(value) is int else _not_int(key, value)


def _object(obj: dict[str, Any], key: str) -> dict[str, Any]:
    """The JSON object under `key` ({} when absent or null); another JSON type is a damaged line."""
    value = obj.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"{key!r} must be a JSON object, not {value!r:.40}")
    return value


def _strings(obj: dict[str, Any], key: str) -> tuple[str, ...]:
    """The list of strings under `key` (a command line; () when absent); anything else is a damaged line."""
    value = obj.get(key, ())
    if not isinstance(value, (list, tuple)) or not all(isinstance(s, str) for s in value):
        raise ValueError(f"{key!r} must be a list of strings, not {value!r:.40}")
    return tuple(value)


def _site(value: Any) -> CallSite | None:
    """A call site [file, line, function] (the recorder's `site`); anything else is no site."""
    if isinstance(value, (list, tuple)) and len(value) == 3 and isinstance(value[1], int):
        return CallSite(str(value[0]), value[1], str(value[2]))
    return None


def event_from_json(obj: dict[str, Any], seq: int | None = None) -> Event:
    """One event from a recorder or trace line (see `EventDecoder.event`; nothing shared with other lines)."""
    return EventDecoder().event(obj, seq)


def _exit_from_json(obj: dict[str, Any]) -> ExitStatus | None:
    value = _object(obj, "exit")
    if not value:
        return None
    return ExitStatus(code=value.get("code"), signal=value.get("signal"))


def header_from_json(obj: dict[str, Any]) -> Header:
    cap = _object(obj, "capture")
    return Header(
        version=int(obj["version"]),
        command=_strings(obj, "command"),
        host=str(obj.get("host", "")),
        clock=str(obj.get("clock", "")),
        started=int(obj.get("started", 0)),
        scenario=obj.get("scenario"),
        title=str(obj.get("title", "")),
        lesson=str(obj.get("lesson", "")),
        roles={k: tuple(v) for k, v in _object(obj, "roles").items()},
        capture=CaptureInfo(
            backend=cap.get("backend", "none"),
            captured=int(cap.get("captured", 0)),
            kept=int(cap.get("kept", 0)),
            kernel_drops=cap.get("kernel_drops"),
            note=cap.get("note", ""),
        ),
        ending=obj.get("ending", ""),
        ending_note=obj.get("ending_note", ""),
        ended=int(obj.get("ended", 0)),
        streams={Inode(int(dev), int(ino)): Stream(name) for dev, ino, name in obj.get("streams") or ()},
    )


def process_from_json(obj: dict[str, Any]) -> Process:
    return Process(
        pid=int(obj["pid"]),
        ppid=int(obj.get("ppid", 0)),
        role=str(obj["role"]),
        argv=_strings(obj, "argv"),
        start=int(obj.get("start", 0)),
        end=obj.get("end"),
        exit=_exit_from_json(obj),
        forked=bool(obj.get("forked", False)),
    )


def packet_from_json(obj: dict[str, Any]) -> Packet:
    return Packet(
        index=int(obj["index"]),
        ts=int(obj["ts"]),
        proto=Proto(str(obj["proto"])),
        src=addr_from_json(obj["src"]),  # type: ignore[arg-type]
        dst=addr_from_json(obj["dst"]),  # type: ignore[arg-type]
        payload=base64.b64decode(obj.get("data", "")),
        flags=TcpFlags.from_letters(str(obj.get("flags", ""))),
        seq=_whole_or_none(obj, "seq"),
        ack=_whole_or_none(obj, "ack"),
    )


def read_raw_events(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    """Recorder lines as dicts, skipping a last line cut short by a kill mid-write."""
    for line in lines:
        if not line.endswith("\n"):
            return
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict):
            yield obj
