"""The trace file: one JSON object per line, read into and written from the data model.

Line types: one `header` first, then `process`, `event` and `packet` lines.
Events keep the recorder's field names (`res`, `err`, `ep`, base64 `data`), so
a raw recorder line plus `type` and `seq` is a valid trace line.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ipctrace.calls import CREATES_FD, WAITS_FOR_CHILD, Call, parse_call
from ipctrace.errors import IpctraceError
from ipctrace.model import (
    FORMAT_VERSION,
    CaptureInfo,
    Endpoint,
    EndpointKind,
    Event,
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


class TraceFileError(IpctraceError):
    """A trace file that cannot be read; the message names the file and line."""


# -- reading ----------------------------------------------------------------------------------------


def addr_from_json(value: Any) -> SockAddr | None:
    if value is None:
        return None
    if isinstance(value, list):
        return SockAddr(str(value[0]), int(value[1]))
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
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    return base64.b64decode(value)


def _site(value: Any) -> tuple[str, int, str] | None:
    """A call site [file, line, function] (the recorder's `site`); anything else is no site."""
    if isinstance(value, list) and len(value) == 3 and isinstance(value[1], int):
        return (str(value[0]), value[1], str(value[2]))
    return None


def event_from_json(obj: dict[str, Any], seq: int | None = None) -> Event:
    """One event from a recorder or trace line (`seq` given when the line has none).

    The raw shapes are decoded here, once: the call name, endpoints, addresses, the descriptors a call
    created and what a wait reaped. `data` may be base64 text (trace files) or bytes (the recorder's log).
    """
    call = parse_call(str(obj["call"]))
    args = obj.get("args") or {}
    result = obj.get("res")
    return Event(
        pid=int(obj["pid"]),
        seq=int(obj["seq"]) if seq is None else seq,
        ppid=int(obj.get("ppid", 0)),
        tid=int(obj.get("tid", obj["pid"])),
        t0=int(obj["t0"]),
        t1=None if obj.get("t1") is None else int(obj["t1"]),
        call=call,
        fd=obj.get("fd"),
        endpoint=endpoint_from_json(obj.get("ep")),
        args=args,
        result=result,
        error=obj.get("err"),
        data=_data(obj.get("data")),
        size=obj.get("size"),
        local=addr_from_json(obj.get("local")),
        peer=addr_from_json(obj.get("peer")),
        peer_endpoint=endpoint_from_json(obj.get("ep2")),
        blocked=bool(obj.get("blocked", False)),
        site=_site(obj.get("site")),
        address=_safe_addr(args.get("addr")) if isinstance(args, dict) else None,
        fds=_new_fds(call, result),
        reaped=_reaped(call, result),
    )


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


def read_trace(path: str | Path) -> Trace:
    """Load a trace file; any malformed or truncated line raises TraceFileError naming file and line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TraceFileError(f"{path}: no such trace file.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TraceFileError(f"{path}: cannot be read as a trace ({exc}).") from None
    header: Header | None = None
    processes: list[Process] = []
    events: list[Event] = []
    packets: list[Packet] = []
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    elif lines:
        raise TraceFileError(f"{path}:{len(lines)}: the last line is cut short (the file is truncated).")
    for number, line in enumerate(lines, 1):
        where = f"{path}:{number}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise TraceFileError(f"{where}: not valid JSON ({exc.msg}); the trace is damaged.") from None
        if not isinstance(obj, dict):
            raise TraceFileError(f"{where}: expected a JSON object, found {type(obj).__name__}.")
        kind = obj.get("type")
        try:
            if number == 1:
                if kind != "header":
                    raise TraceFileError(f"{where}: a trace starts with a header line; this is not a trace file.")
                header = _header_from_json(obj)
                if header.version > FORMAT_VERSION:
                    raise TraceFileError(
                        f"{where}: trace format {header.version} is newer than this ipctrace reads "
                        f"({FORMAT_VERSION}); upgrade ipctrace."
                    )
            elif kind == "event":
                events.append(event_from_json(obj))
            elif kind == "process":
                processes.append(_process_from_json(obj))
            elif kind == "packet":
                packets.append(_packet_from_json(obj))
            else:
                raise TraceFileError(f"{where}: unknown line type {kind!r}.")
        except TraceFileError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise TraceFileError(f"{where}: a {kind or 'line'} with a missing or bad field ({exc}).") from None
    if header is None:
        raise TraceFileError(f"{path}: the file is empty; it holds no trace.")
    return Trace(header=header, processes=tuple(processes), events=tuple(events), packets=tuple(packets))


# -- writing ----------------------------------------------------------------------------------------


def addr_to_json(addr: SockAddr | None) -> Any:
    if addr is None:
        return None
    return addr.host if addr.port is None else [addr.host, addr.port]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


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
    if event.fd is not None:
        obj["fd"] = event.fd
    if event.endpoint is not None:
        ep = event.endpoint
        obj["ep"] = [ep.dev, ep.ino, str(ep.kind)]
    if event.args:
        obj["args"] = dict(event.args)
    if event.result is not None:
        obj["res"] = event.result
    if event.error is not None:
        obj["err"] = event.error
    if event.size is not None:
        obj["size"] = event.size
    if event.data is not None:
        obj["data"] = _b64(event.data)
    if event.local is not None:
        obj["local"] = addr_to_json(event.local)
    if event.peer is not None:
        obj["peer"] = addr_to_json(event.peer)
    if event.peer_endpoint is not None:
        ep = event.peer_endpoint
        obj["ep2"] = [ep.dev, ep.ino, str(ep.kind)]
    if event.blocked:
        obj["blocked"] = True
    if event.site is not None:
        obj["site"] = list(event.site)
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
