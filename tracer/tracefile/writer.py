"""Writing a trace file: the data model as JSON lines, written atomically.

Events keep the recorder's field names (`res`, `err`, `ep`, base64 `data`), and each event line starts
with the numbers that place it (pid, seq, ppid, tid, t0, t1), which `eventlines` reads back without
`json`.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ipctrace.model import Endpoint, Event, Header, Packet, Process, SockAddr, Trace


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
