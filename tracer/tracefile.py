"""The trace file: one JSON object per line, read into and written from the data model.

Line types: one `header` first, then `process`, `event` and `packet` lines.
Events keep the recorder's field names (`res`, `err`, `ep`, base64 `data`), so
a raw recorder line plus `type` and `seq` is a valid trace line.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

from ipctrace.calls import CREATES_FD, WAITS_FOR_CHILD, Call, parse_call
from ipctrace.errors import IpctraceError
from ipctrace.eventlines import Lines
from ipctrace.inputs import InputError, open_user_file
from ipctrace.model import (
    FORMAT_VERSION,
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
    Trace,
)
from ipctrace.perf import gc_paused


class TraceFileError(IpctraceError):
    """A trace file that cannot be read; the message names the file and line."""


# -- reading ----------------------------------------------------------------------------------------


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
                t0 if type(t0) is int else int(t0),
                None if t1 is None else t1 if type(t1) is int else int(t1),
                None if data is None else _data(data),
                _tuple_new(EventKey, (pid, seq)),
                call,
                None if fd is None else ints.setdefault(fd, fd) if type(fd) is int else fd,
                None if not ep else self.endpoint(ep),
                args,
                result,
                get("err"),
                None if size is None else ints.setdefault(size, size) if type(size) is int else size,
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


def _site(value: Any) -> CallSite | None:
    """A call site [file, line, function] (the recorder's `site`); anything else is no site."""
    if isinstance(value, (list, tuple)) and len(value) == 3 and isinstance(value[1], int):
        return CallSite(str(value[0]), value[1], str(value[2]))
    return None


def event_from_json(obj: dict[str, Any], seq: int | None = None) -> Event:
    """One event from a recorder or trace line (see `EventDecoder.event`; nothing shared with other lines)."""
    return EventDecoder().event(obj, seq)


def _exit_from_json(value: Any) -> ExitStatus | None:
    if not value:
        return None
    return ExitStatus(code=value.get("code"), signal=value.get("signal"))


def _header_from_json(obj: dict[str, Any]) -> Header:
    cap = obj.get("capture") or {}
    return Header(
        version=int(obj["version"]),
        command=tuple(obj.get("command", ())),
        host=str(obj.get("host", "")),
        clock=str(obj.get("clock", "")),
        started=int(obj.get("started", 0)),
        scenario=obj.get("scenario"),
        title=str(obj.get("title", "")),
        lesson=str(obj.get("lesson", "")),
        roles={k: tuple(v) for k, v in (obj.get("roles") or {}).items()},
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


def _process_from_json(obj: dict[str, Any]) -> Process:
    return Process(
        pid=int(obj["pid"]),
        ppid=int(obj.get("ppid", 0)),
        role=str(obj["role"]),
        argv=tuple(obj.get("argv", ())),
        start=int(obj.get("start", 0)),
        end=obj.get("end"),
        exit=_exit_from_json(obj.get("exit")),
        forked=bool(obj.get("forked", False)),
    )


def _packet_from_json(obj: dict[str, Any]) -> Packet:
    return Packet(
        index=int(obj["index"]),
        ts=int(obj["ts"]),
        proto=Proto(str(obj["proto"])),
        src=addr_from_json(obj["src"]),  # type: ignore[arg-type]
        dst=addr_from_json(obj["dst"]),  # type: ignore[arg-type]
        payload=base64.b64decode(obj.get("data", "")),
        flags=TcpFlags.from_letters(str(obj.get("flags", ""))),
        seq=obj.get("seq"),
        ack=obj.get("ack"),
    )


#: Lines decoded by one `json.loads` (one C call for many lines; a bad line is then found line by line).
_BATCH = 2048
#: The longest header line read before deciding a file is not a trace (a device or binary file never ends).
_MAX_HEADER = 1 << 20
#: Characters read at a time after the header (split into lines in C).
_CHUNK = 1 << 22


class _Reader:
    """The state of reading one trace file: what was read so far, and where.

    Event lines of a shape already read are decoded by `eventlines.Lines` as they come; every other
    line waits in `pending` (with its slot in `events`, so the events stay in file order) and is
    decoded with `json`, a batch at a time, and the shape of each event line so decoded is learnt.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.header: Header | None = None
        self.processes: list[Process] = []
        self.events: list[Event | None] = []
        self.packets: list[Packet] = []
        self.decoder = EventDecoder()
        self.lines = Lines()
        self.pending: list[tuple[int, str, int, Any]] = []
        self.holes = 0  # slots of lines that were no event

    def handoff(self, number: int, line: str, slot: int, hint: Any) -> None:
        self.pending.append((number, line, slot, hint))
        if len(self.pending) >= _BATCH:
            self.decode_pending()

    def decode_pending(self) -> None:
        batch, self.pending = self.pending, []
        if not batch:
            return
        try:
            objs = json.loads("[" + ",".join(line for _, line, _, _ in batch) + "]")
        except json.JSONDecodeError:
            objs = None
        if not isinstance(objs, list) or len(objs) != len(batch):
            objs = None
        for k, (number, line, slot, hint) in enumerate(batch):
            event = self.take(number, self.decode_line(number, line) if objs is None else objs[k])
            if event is None:
                self.holes += 1
                continue
            self.events[slot] = event
            if hint is not None:
                self.lines.learn(hint, event)

    def decode_line(self, number: int, line: str) -> Any:
        try:
            return json.loads(line)
        except json.JSONDecodeError as exc:
            raise TraceFileError(f"{self.path}:{number}: not valid JSON ({exc.msg}); the trace is damaged.") from None

    def take(self, number: int, obj: Any) -> Event | None:
        """The event a decoded line is; a header, process or packet line is kept where it belongs (None)."""
        where = f"{self.path}:{number}"
        if not isinstance(obj, dict):
            found = _json_kind(obj)
            raise TraceFileError(f"{where}: expected a JSON object, found a JSON {found}; the trace is damaged.")
        kind = obj.get("type")
        try:
            if kind == "event" and number > 1:
                return self.decoder.event(obj)
            if number == 1:
                self.take_header(where, kind, obj)
            elif kind == "process":
                self.processes.append(_process_from_json(obj))
            elif kind == "packet":
                self.packets.append(_packet_from_json(obj))
            else:
                raise TraceFileError(f"{where}: unknown line type {kind!r}.")
        except TraceFileError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            what = str(kind or "line")
            article = "an" if what[:1] in "aeiou" else "a"
            raise TraceFileError(f"{where}: {article} {what} with a missing or bad field ({exc}).") from None
        return None

    def take_header(self, where: str, kind: Any, obj: dict[str, Any]) -> None:
        if kind != "header":
            raise TraceFileError(f"{where}: a trace starts with a header line; this is not a trace file.")
        self.header = _header_from_json(obj)
        if self.header.version > FORMAT_VERSION:
            raise TraceFileError(
                f"{where}: trace format {self.header.version} is newer than this ipctrace reads "
                f"({FORMAT_VERSION}); upgrade ipctrace."
            )

    def read(self, first: str, rest: TextIO) -> Trace:
        """The trace in a file whose first line (`first`, with its newline) was read already."""
        if first:
            if not first.endswith("\n"):
                raise TraceFileError(f"{self.path}:1: the last line is cut short (the file is truncated).")
            self.take(1, self.decode_line(1, first[:-1]))
        number, carry = 1, ""
        while first:
            chunk = rest.read(_CHUNK)
            if not chunk:
                break
            lines = chunk.split("\n")
            lines[0] = carry + lines[0]
            carry = lines.pop()
            number = self.lines.read(lines, number, self.events, self.handoff)
        if carry:
            raise TraceFileError(f"{self.path}:{number + 1}: the last line is cut short (the file is truncated).")
        self.decode_pending()
        if self.header is None:
            raise TraceFileError(f"{self.path}: the file is empty; it holds no trace.")
        events = [e for e in self.events if e is not None] if self.holes else self.events
        return Trace(self.header, tuple(self.processes), tuple(events), tuple(self.packets))  # type: ignore[arg-type]


def _json_kind(value: Any) -> str:
    kinds = {list: "list", str: "string", bool: "boolean", int: "number", float: "number", type(None): "null"}
    return kinds.get(type(value), type(value).__name__)


def _not_a_trace(path: Path, first: str) -> None:
    """Refuse, from its first line alone, a file that is not a trace (a JSON list, a text, a golden file)."""
    where = f"{path}:1"
    if len(first) >= _MAX_HEADER and not first.endswith("\n"):
        raise TraceFileError(f"{path}: its first line is not a trace header; this is not a trace file.")
    try:
        obj = json.loads(first)
    except json.JSONDecodeError:
        if first.startswith('{"type": "header"'):
            return  # a header cut short: the reader says where the file is truncated
        raise TraceFileError(f"{where}: not valid JSON, so this is not a trace file (trace.jsonl).") from None
    if not isinstance(obj, dict) or obj.get("type") != "header":
        found = "a JSON object" if isinstance(obj, dict) else f"a JSON {_json_kind(obj)}"
        raise TraceFileError(
            f"{where}: a trace starts with a header line, and this file starts with {found}; it is not a trace file."
        )


def read_trace(path: str | Path) -> Trace:
    """Load a trace file; any malformed or truncated line raises TraceFileError naming file and line.

    Only a regular file is read (a device, a FIFO or a folder is named as such), and a file whose first
    line is not a trace header is refused after that line.
    """
    path = Path(path)
    try:
        raw = open_user_file(path, "trace file")
    except InputError as exc:
        raise TraceFileError(str(exc)) from None
    try:
        with io.TextIOWrapper(raw, encoding="utf-8") as f:
            first = f.readline(_MAX_HEADER)
            if first:
                _not_a_trace(path, first)
            with gc_paused():
                return _Reader(path).read(first, f)
    except UnicodeDecodeError:
        raise TraceFileError(f"{path}: not a trace file (it is not UTF-8 text).") from None
    except OSError as exc:
        raise TraceFileError(f"{path}: cannot be read as a trace ({exc.strerror or exc}).") from None


# -- writing ----------------------------------------------------------------------------------------


def addr_to_json(addr: SockAddr | None) -> Any:
    if addr is None:
        return None
    return addr.host if addr.port is None else [addr.host, addr.port]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _endpoint_to_json(ep: Endpoint) -> list[Any]:
    return [ep.dev, ep.ino, str(ep.kind)]


def event_to_json(event: Event) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "type": "event",
        "pid": event.pid,
        "seq": event.seq,
        "ppid": event.ppid,
        "tid": event.tid,
        "t0": event.t0,
        "t1": event.t1,
        "call": str(event.call),
    }
    optional: tuple[tuple[str, Any], ...] = (
        ("fd", event.fd),
        ("ep", None if event.endpoint is None else _endpoint_to_json(event.endpoint)),
        ("args", dict(event.args) if event.args else None),
        ("res", event.result),
        ("err", event.error),
        ("size", event.size),
        ("data", None if event.data is None else _b64(event.data)),
        ("local", addr_to_json(event.local)),
        ("peer", addr_to_json(event.peer)),
        ("ep2", None if event.peer_endpoint is None else _endpoint_to_json(event.peer_endpoint)),
        ("blocked", True if event.blocked else None),
        ("site", None if event.site is None else [event.site.file, event.site.line, event.site.function]),
    )
    obj.update((key, value) for key, value in optional if value is not None)
    return obj


def _header_to_json(header: Header) -> dict[str, Any]:
    cap = header.capture
    return {
        "type": "header",
        "version": header.version,
        "command": list(header.command),
        "host": header.host,
        "clock": header.clock,
        "started": header.started,
        "scenario": header.scenario,
        **({"title": header.title} if header.title else {}),
        **({"lesson": header.lesson} if header.lesson else {}),
        "roles": {k: list(v) for k, v in header.roles.items()},
        "capture": {
            "backend": cap.backend,
            "captured": cap.captured,
            "kept": cap.kept,
            "kernel_drops": cap.kernel_drops,
            "note": cap.note,
        },
        "ending": header.ending,
        "ending_note": header.ending_note,
        "ended": header.ended,
        **(
            {"streams": [[i.dev, i.ino, str(stream)] for i, stream in sorted(header.streams.items())]}
            if header.streams
            else {}
        ),
    }


def _process_to_json(proc: Process) -> dict[str, Any]:
    exit_ = None
    if proc.exit is not None:
        exit_ = {"code": proc.exit.code} if proc.exit.signal is None else {"signal": proc.exit.signal}
    return {
        "type": "process",
        "pid": proc.pid,
        "ppid": proc.ppid,
        "role": proc.role,
        "argv": list(proc.argv),
        "start": proc.start,
        "end": proc.end,
        "exit": exit_,
        "forked": proc.forked,
    }


def _packet_to_json(packet: Packet) -> dict[str, Any]:
    return {
        "type": "packet",
        "index": packet.index,
        "ts": packet.ts,
        "proto": str(packet.proto),
        "src": addr_to_json(packet.src),
        "dst": addr_to_json(packet.dst),
        "flags": packet.flags.letters,
        "seq": packet.seq,
        "ack": packet.ack,
        "data": _b64(packet.payload),
    }


def trace_lines(trace: Trace) -> Iterator[str]:
    yield json.dumps(_header_to_json(trace.header), ensure_ascii=False)
    for proc in trace.processes:
        yield json.dumps(_process_to_json(proc), ensure_ascii=False)
    for event in trace.events:
        yield json.dumps(event_to_json(event), ensure_ascii=False)
    for packet in trace.packets:
        yield json.dumps(_packet_to_json(packet))


def write_trace(trace: Trace, path: str | Path) -> None:
    """Write atomically: a reader never sees half a trace."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as out:
        for line in trace_lines(trace):
            try:
                out.write(line + "\n")
            except UnicodeEncodeError:  # a string with undecodable bytes (surrogateescape): escaped as \udcXX
                out.write(json.dumps(json.loads(line), ensure_ascii=True) + "\n")
    tmp.replace(path)


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
