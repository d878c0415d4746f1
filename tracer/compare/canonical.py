"""The canonical form of a trace: what a deterministic program does, the same in every run.

A trace is full of things a run chooses by accident: pids, fd and inode
numbers, ephemeral ports, temporary paths, timestamps, and the interleaving
of processes. The canonical form keeps only what the program decides:

- each process under its role (`server`, `server/child#1`: children numbered
  in the order their parent forked them), how it started and ended;
- per process, its calls in program order (thread by thread), each with a symbolic endpoint
  (`pipe#1.r`, `socketpair#1.a`, `tcp#1.client`, `tcp-listener#1`, `udp#2`),
  its key arguments, the shape of its result, its error and its payload;
- the flows: which message went from which role to which role on which
  channel (from `ipctrace.link`);
- the packets per channel, when the run captured them.

Calls that ran inside a signal handler happen wherever the signal arrived, so
they are kept apart, as an unordered list (`async`): a call recorded while the
same thread was inside another call (a handler nested in a blocking call), a
`waitpid(..., WNOHANG)` and the lines printed right after it. A WNOHANG wait
that reaped nothing is a poll whose count depends on timing: dropped.

Endpoints, ports and processes are numbered by one fixed walk: processes
(roots in the scenario's order, then children depth-first in fork order),
each in program order. The form is a small JSON document, one call a line,
meant to be reviewed in a pull request as a golden file.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import signal
import socket
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ipctrace.calls import PROGRAM_OUTPUT, WAITS_FOR_CHILD
from ipctrace.errors import IpctraceError
from ipctrace.link import LinkedTrace, link
from ipctrace.model import RECV_CALLS, SEND_CALLS, Endpoint, Event, EventKey, Pid, Process, SockAddr, Stream, Trace
from ipctrace.tracefile import TraceFileError, read_trace

FORMAT = "ipctrace-canonical/1"
#: Payload text longer than this is shortened in the form; a digest of the whole payload still compares it.
TEXT_LIMIT = 120
FLOW_TEXT_LIMIT = 40
OUTPUT_CALLS = PROGRAM_OUTPUT
_OUTPUT_STREAMS = frozenset({Stream.STDOUT, Stream.STDERR})
WAIT_CALLS = WAITS_FOR_CHILD

Json = Any


class CanonicalError(IpctraceError, ValueError):
    """A file that is neither a trace nor a canonical trace; the message says which file and why."""


# -- the form ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Call:
    """One call of a process in symbolic terms: what the golden file shows on one line.

    `args` are the call's key arguments as (name, value) pairs, already
    normalised (addresses, sizes asked for, option names). `data` is the
    payload (or printed line) as escaped text, shortened past TEXT_LIMIT with
    `digest` standing for the whole.
    """

    call: str
    on: str | None = None
    args: tuple[tuple[str, Json], ...] = ()
    result: Json = None
    error: str | None = None
    size: int | None = None
    data: str | None = None
    digest: str | None = None
    blocked: bool = False

    def to_json(self) -> dict[str, Json]:
        obj: dict[str, Json] = {"call": self.call}
        if self.on is not None:
            obj["on"] = self.on
        obj.update(self.args)
        if self.result is not None:
            obj["result"] = self.result
        if self.error is not None:
            obj["error"] = self.error
        if self.size is not None:
            obj["size"] = self.size
        if self.data is not None:
            obj["data"] = self.data
        if self.digest is not None:
            obj["digest"] = self.digest
        if self.blocked:
            obj["blocked"] = True
        return obj

    @classmethod
    def from_json(cls, obj: Mapping[str, Json]) -> Call:
        fixed = {"call", "on", "result", "error", "size", "data", "digest", "blocked"}
        return cls(
            call=str(obj["call"]),
            on=obj.get("on"),
            args=tuple((k, _freeze(v)) for k, v in obj.items() if k not in fixed),
            result=_freeze(obj.get("result")),
            error=obj.get("error"),
            size=obj.get("size"),
            data=obj.get("data"),
            digest=obj.get("digest"),
            blocked=bool(obj.get("blocked", False)),
        )

    @property
    def key(self) -> str:
        """A text that is equal for equal calls (for sequence matching)."""
        return json.dumps(self.to_json(), ensure_ascii=False, sort_keys=False, default=list)

    def arg(self, name: str, default: Json = None) -> Json:
        return next((v for k, v in self.args if k == name), default)

    def describe(self, focus: int = 0) -> str:
        """The call as a user reads it: `send 'exit\\n' (5 B) on tcp#1.client`.

        `focus` is where in the text to look (where it differs from another's).
        """
        on = f" on {self.on}" if self.on else ""

        def q(text: str | None) -> str:
            return quote(text, start=focus)

        if self.call in OUTPUT_CALLS:
            where = "" if self.call == "stdout" else " to stderr"
            return f"print{where} {q(self.data)}"
        if self.call == "stdin":
            return "input: end of file" if self.result == "eof" else f"input {q(self.data)}"
        if self.call in ("close", "shutdown") and self.error is None:
            how = f" ({self.arg('how')})" if self.arg("how") else ""
            return f"{self.call} {self.on or '(unknown)'}{how}"
        if self.blocked:
            return f"{self.call}{on} (still blocked when the run ended)"
        if self.error is not None:
            return f"{self.call}{on}{_arg_text(self)} failing with {self.error}"
        if self.call in SEND_CALLS and self.size is not None:
            to = f" to {self.arg('to')}" if self.arg("to") else ""
            return f"{self.call} {q(self.data)} ({self.size} B){on}{to}"
        if self.call in RECV_CALLS:
            if self.result == "eof":
                return f"{self.call}{on} → end of file"
            src = f" from {self.arg('from')}" if self.arg("from") else ""
            return f"{self.call} {q(self.data)} ({self.size} B){on}{src}"
        if self.call == "fork":
            return f"fork → {self.result}"
        if self.call == "exit":
            return f"exit ({self.arg('how')}{', code ' + str(self.result) if self.result is not None else ''})"
        res = f" → {self.result}" if self.result not in (None, "ok") else ""
        return f"{self.call}{on}{_arg_text(self)}{res}"


def _arg_text(c: Call) -> str:
    shown = [f"{k}={v}" for k, v in c.args if k not in ("to", "from")]
    return f" ({', '.join(shown)})" if shown else ""


def quote(text: str | None, limit: int = 40, start: int = 0) -> str:
    """Payload text in quotes, shortened for one line of an explanation (from near `start` when it is far in)."""
    if text is None:
        return "(payload ignored)"
    begin = max(0, start - limit // 3) if start > limit * 2 // 3 else 0
    shown = ("…" if begin else "") + text[begin : begin + limit] + ("…" if len(text) > begin + limit else "")
    return f"'{shown}'"


def _freeze(value: Json) -> Json:
    """JSON lists as tuples, so a call stays hashable and comparable after loading."""
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


@dataclass(frozen=True, slots=True)
class CanonicalProcess:
    """One process: its role, who started it and how, how it ended, its calls in program order."""

    role: str
    parent: str | None
    started: str  # exec, fork, or "unknown"
    argv: tuple[str, ...] = ()
    exit: str | None = None  # "exit 0", "killed by SIGKILL"; None: not known
    calls: tuple[Call, ...] = ()
    asynchronous: tuple[Call, ...] = ()  # from signal handlers: compared as a multiset, sorted

    def to_json(self) -> dict[str, Json]:
        obj: dict[str, Json] = {"parent": self.parent, "started": self.started}
        if self.argv:
            obj["argv"] = list(self.argv)
        obj["exit"] = self.exit
        obj["calls"] = [c.to_json() for c in self.calls]
        if self.asynchronous:
            obj["async"] = [c.to_json() for c in self.asynchronous]
        return obj

    @classmethod
    def from_json(cls, role: str, obj: Mapping[str, Json]) -> CanonicalProcess:
        return cls(
            role=role,
            parent=obj.get("parent"),
            started=str(obj.get("started", "unknown")),
            argv=tuple(obj.get("argv") or ()),
            exit=obj.get("exit"),
            calls=tuple(Call.from_json(c) for c in obj.get("calls") or ()),
            asynchronous=tuple(sorted((Call.from_json(c) for c in obj.get("async") or ()), key=lambda c: c.key)),
        )


@dataclass(frozen=True, slots=True)
class Flow:
    """A run of bytes from one send to one receive, named by roles and per-process call counts.

    `send` is `write#2`: the second write of `sender` on the channel's sending
    end; `recv` likewise on the receiving end. None: bytes never read (or a
    receive no traced send explains).
    """

    channel: str
    sender: str | None
    send: str | None
    receiver: str | None
    recv: str | None
    size: int
    data: str | None = None

    def to_json(self) -> dict[str, Json]:
        obj = {
            "on": self.channel,
            "from": self.sender,
            "send": self.send,
            "to": self.receiver,
            "recv": self.recv,
            "size": self.size,
        }
        if self.data is not None:
            obj["data"] = self.data
        return obj

    @classmethod
    def from_json(cls, obj: Mapping[str, Json]) -> Flow:
        return cls(
            channel=str(obj["on"]),
            sender=obj.get("from"),
            send=obj.get("send"),
            receiver=obj.get("to"),
            recv=obj.get("recv"),
            size=int(obj.get("size", 0)),
            data=obj.get("data"),
        )

    def describe(self) -> str:
        who_from = f"{self.sender} ({self.send})" if self.sender else "an untraced sender"
        who_to = f"{self.receiver} ({self.recv})" if self.receiver else "nobody (never read)"
        return f"{quote(self.data)} ({self.size} B) {who_from} → {who_to} on {self.channel}"


@dataclass(frozen=True, slots=True)
class CanonicalPacket:
    """One packet on a channel: its TCP flags (empty for UDP), payload size and text."""

    flags: str
    size: int = 0
    data: str | None = None

    @property
    def pure_ack(self) -> bool:
        return self.flags == "A" and self.size == 0

    def to_json(self) -> dict[str, Json]:
        obj: dict[str, Json] = {"flags": self.flags, "size": self.size}
        if self.data is not None and self.size:
            obj["data"] = self.data
        return obj

    @classmethod
    def from_json(cls, obj: Mapping[str, Json]) -> CanonicalPacket:
        return cls(flags=str(obj.get("flags", "")), size=int(obj.get("size", 0)), data=obj.get("data"))

    def describe(self) -> str:
        kind = self.flags or "datagram"
        return f"{kind} {quote(self.data)} ({self.size} B)" if self.size else kind


@dataclass(frozen=True, slots=True)
class CanonicalTrace:
    """The canonical form of one run. Equal for two runs of a deterministic program.

    `packets` is None when the run did not capture packets (then they are not
    compared); otherwise the packets of each channel in wire order.
    """

    processes: tuple[CanonicalProcess, ...]
    flows: tuple[Flow, ...] = ()
    packets: tuple[tuple[str, tuple[CanonicalPacket, ...]], ...] | None = None
    ending: str = ""
    scenario: str | None = None

    def process(self, role: str) -> CanonicalProcess | None:
        return next((p for p in self.processes if p.role == role), None)

    @property
    def roles(self) -> tuple[str, ...]:
        return tuple(p.role for p in self.processes)

    def to_json(self) -> dict[str, Json]:
        return {
            "format": FORMAT,
            "scenario": self.scenario,
            "ending": self.ending,
            "processes": {p.role: p.to_json() for p in self.processes},
            "flows": [f.to_json() for f in self.flows],
            "packets": None if self.packets is None else {ch: [p.to_json() for p in ps] for ch, ps in self.packets},
        }

    @classmethod
    def from_json(cls, obj: Mapping[str, Json]) -> CanonicalTrace:
        if obj.get("format") != FORMAT:
            raise CanonicalError(f"not a canonical trace of format {FORMAT} (format: {obj.get('format')!r})")
        packets = obj.get("packets")
        return cls(
            processes=tuple(CanonicalProcess.from_json(role, p) for role, p in (obj.get("processes") or {}).items()),
            flows=tuple(Flow.from_json(f) for f in obj.get("flows") or ()),
            packets=None
            if packets is None
            else tuple((ch, tuple(CanonicalPacket.from_json(p) for p in ps)) for ch, ps in packets.items()),
            ending=str(obj.get("ending", "")),
            scenario=obj.get("scenario"),
        )

    def dumps(self) -> str:
        """The readable JSON document of a golden file: one call, flow or packet a line."""
        return dump_json(self.to_json()) + "\n"

    @classmethod
    def loads(cls, text: str) -> CanonicalTrace:
        return cls.from_json(json.loads(text))


def dump_json(value: Json, indent: int = 0) -> str:
    """JSON where a container holding only scalars stays on one line, and the others open up."""
    pad, inner = "  " * indent, "  " * (indent + 1)
    if isinstance(value, dict) and value and any(isinstance(v, (dict, list)) and v for v in value.values()):
        items = [f"{inner}{json.dumps(k, ensure_ascii=False)}: {dump_json(v, indent + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, list) and value and any(isinstance(v, (dict, list)) for v in value):
        return "[\n" + ",\n".join(inner + dump_json(v, indent + 1) for v in value) + "\n" + pad + "]"
    return json.dumps(value, ensure_ascii=False)


# -- loading ----------------------------------------------------------------------------------------


def load(path: str | Path) -> CanonicalTrace:
    """A canonical trace from a trace file, an output folder holding one, or a golden (canonical) file."""
    path = Path(path)
    if path.is_dir():
        path = path / "trace.jsonl"
    try:
        with open(path, encoding="utf-8") as f:
            first = f.readline()
    except FileNotFoundError:
        raise CanonicalError(f"{path}: no such file.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CanonicalError(f"{path}: cannot be read ({exc}).") from None
    try:
        head = json.loads(first)
    except json.JSONDecodeError:
        head = None
    if isinstance(head, dict) and head.get("type") == "header":
        try:
            return canonicalize(read_trace(path))
        except TraceFileError as exc:
            raise CanonicalError(str(exc)) from None
    try:
        return CanonicalTrace.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, CanonicalError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise CanonicalError(f"{path}: neither a trace (trace.jsonl) nor a canonical trace ({exc}).") from None


def save(canonical: CanonicalTrace, path: str | Path) -> None:
    """Write a golden file atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(canonical.dumps(), encoding="utf-8")
    tmp.replace(path)


# -- text ------------------------------------------------------------------------------------------

_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape(data: bytes) -> str:
    """Bytes as readable text: UTF-8 where it decodes, `\\xNN` for other bytes and control characters."""
    out = []
    text = data.decode("utf-8", "surrogateescape")
    for ch in text:
        code = ord(ch)
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif 0xDC80 <= code <= 0xDCFF:  # an undecodable byte
            out.append(f"\\x{code - 0xDC00:02x}")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        else:
            out.append(ch)
    return "".join(out)


# -- building the form ------------------------------------------------------------------------------

_FAMILIES = {getattr(socket, n): n for n in ("AF_UNIX", "AF_INET", "AF_INET6") if hasattr(socket, n)}
_TYPES = {getattr(socket, n): n for n in ("SOCK_STREAM", "SOCK_DGRAM", "SOCK_SEQPACKET", "SOCK_RAW")}
_LEVELS = {socket.SOL_SOCKET: "SOL_SOCKET", socket.IPPROTO_TCP: "IPPROTO_TCP", socket.IPPROTO_IP: "IPPROTO_IP"}
_OPTS = {
    (socket.SOL_SOCKET, getattr(socket, n)): n
    for n in (
        "SO_REUSEADDR",
        "SO_REUSEPORT",
        "SO_KEEPALIVE",
        "SO_BROADCAST",
        "SO_RCVBUF",
        "SO_SNDBUF",
        "SO_LINGER",
        "SO_RCVTIMEO",
        "SO_SNDTIMEO",
    )
    if hasattr(socket, n)
}
_OPTS[(socket.IPPROTO_TCP, socket.TCP_NODELAY)] = "TCP_NODELAY"
_SHUT = {0: "SHUT_RD", 1: "SHUT_WR", 2: "SHUT_RDWR"}
_PYTHON = re.compile(r"^python[0-9.]*$")
#: Argument names that only describe the run, never the program.
_VOLATILE_ARGS = frozenset({"cwd", "wchan", "syscall", "schedule"})


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _exit_text(proc: Process) -> str | None:
    """How a process ended, without its pid: `exit 0`, `killed by SIGKILL`; None when nobody saw it end."""
    if proc.exit is None:
        return None
    if proc.exit.signal is not None:
        return f"killed by {_signal_name(proc.exit.signal)}"
    return f"exit {proc.exit.code}"


@dataclass
class _Namer:
    """The symbols of one trace: roles for pids, names for inodes, symbols for ports; built in walk order."""

    trace: Trace
    linked: LinkedTrace
    roles: dict[Pid, str] = field(default_factory=dict)
    order: list[Process] = field(default_factory=list)
    names: dict[tuple[int, int], str] = field(default_factory=dict)
    groups: dict[str, str] = field(default_factory=dict)  # link group → our group name
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    ports: dict[int, str] = field(default_factory=dict)
    scenario_ports: set[int] = field(default_factory=set)
    fixed_ports: set[int] = field(default_factory=set)
    _text_re: re.Pattern[str] | None = None
    _text_map: dict[str, str] = field(default_factory=dict)

    # processes
    def walk_processes(self) -> None:
        """Roles in walk order: roots as the scenario started them, children in the order they were forked."""
        procs = {p.pid: p for p in self.trace.processes}
        events = self.events_by_pid()
        children: dict[Pid, list[Pid]] = defaultdict(list)
        for pid, evs in events.items():
            for e in evs:
                if e.call == "fork" and isinstance(e.result, int) and e.result in procs:
                    children[pid].append(e.result)
        for p in sorted(self.trace.processes, key=lambda p: p.start):  # spawned, not forked: by start
            if p.ppid in procs and p.pid not in children[p.ppid]:
                children[p.ppid].append(p.pid)
        root_order = list(self.trace.header.roles)
        roots = [p for p in self.trace.processes if p.ppid not in procs]
        roots.sort(key=lambda p: (root_order.index(p.role) if p.role in root_order else len(root_order), p.start))

        def visit(p: Process, role: str) -> None:
            self.roles[p.pid] = role
            self.order.append(p)
            for k, child in enumerate(children.get(p.pid, ()), 1):
                if child not in self.roles:
                    visit(procs[child], f"{role}/child#{k}")

        for root in roots:
            visit(root, root.role)

    def events_by_pid(self) -> dict[Pid, list[Event]]:
        out: dict[Pid, list[Event]] = defaultdict(list)
        for e in self.trace.events:
            out[e.pid].append(e)
        for evs in out.values():
            evs.sort(key=lambda e: e.seq)
        return out

    def walk_events(self) -> Iterator[Event]:
        events = self.events_by_pid()
        for p in self.order:
            yield from events.get(p.pid, ())

    # ports
    def collect_ports(self) -> None:
        """Scenario ports (given on a command line) become PORT, kernel-chosen ones EPHEMERAL#k."""
        for argv in (*(p.argv for p in self.trace.processes if p.ppid not in self.roles), self.trace.header.command):
            for item in argv:
                self.scenario_ports.update(int(n) for n in re.findall(r"\d+", item) if 0 < int(n) < 65536)
        for e in self.trace.events:
            if e.call == "bind":
                addr = _addr_arg(e.args.get("addr"))
                if addr is not None and addr.port:
                    self.fixed_ports.add(addr.port)
        for e in self.walk_events():
            for addr in (_addr_arg(e.args.get("addr")), e.local, e.peer):
                if addr is not None and addr.port:
                    self.port(addr.port)
        for pkt in self.trace.packets:
            for addr in (pkt.src, pkt.dst):
                if addr.port:
                    self.port(addr.port)

    def port(self, number: int) -> str:
        if number not in self.ports:
            if number in self.scenario_ports:
                k = sum(1 for v in self.ports.values() if v.startswith("PORT"))
                self.ports[number] = "PORT" if k == 0 else f"PORT#{k + 1}"
            elif number in self.fixed_ports:
                self.ports[number] = str(number)
            else:
                k = sum(1 for v in self.ports.values() if v.startswith("EPHEMERAL"))
                self.ports[number] = f"EPHEMERAL#{k + 1}"
        return self.ports[number]

    def addr(self, addr: SockAddr | None) -> str | None:
        if addr is None:
            return None
        if addr.port is None:
            return _path_name(addr.host)
        host = addr.host or "0.0.0.0"
        shown = f"[{host}]" if ":" in host else host
        return f"{shown}:{self.port(addr.port) if addr.port else 0}"

    # endpoints
    def name_endpoints(self) -> None:
        for e in self.walk_events():
            for ep in (e.endpoint, e.peer_endpoint):
                if ep is not None:
                    self.endpoint(ep)

    def _number(self, prefix: str) -> str:
        self.counts[prefix] += 1
        return f"{prefix}#{self.counts[prefix]}"

    def endpoint(self, ep: Endpoint) -> str:
        ino = (ep.dev, ep.ino)
        if ino in self.names:
            return self.names[ino]
        info = self.linked.endpoints.get(ino)
        group = info.group if info else None
        kind = info.endpoint.kind if info else ep.kind
        if kind == "pipe":
            name = self._number("pipe")
        elif group and group.startswith("socketpair"):
            if group not in self.groups:
                self.groups[group] = self._number("socketpair")
            name = f"{self.groups[group]}.{(info.side or '?').lower() if info else '?'}"
        elif group and info is not None and info.side in ("client", "server"):
            if group not in self.groups:
                self.groups[group] = self._number(group.split("#")[0])
            name = f"{self.groups[group]}.{info.side}"
        elif info is not None and info.listening:
            name = self._number(f"{'tcp' if kind.startswith('tcp') else 'unix'}-listener")
        elif kind in ("udp", "udp6", "unix-dgram"):
            name = self._number(kind.rstrip("6"))
        elif kind.startswith(("tcp", "unix")):
            name = self._number(f"{kind.rstrip('6')}-socket")
        else:
            name = self._number(kind or "fd")
        self.names[ino] = name
        return name

    def on(self, e: Event) -> str | None:
        if e.endpoint is None:
            return None
        name = self.endpoint(e.endpoint)
        if e.endpoint.kind == "pipe":
            end = self.linked.pipe_ends.get(e.key)
            if end in ("r", "w"):
                return f"{name}.{end}"
        return name

    # text
    def prepare_text(self) -> None:
        """Pids and run-chosen ports inside printed lines and payloads become roles and port symbols."""
        mapping = {str(pid): role for pid, role in self.roles.items()}
        mapping.update({str(n): sym for n, sym in self.ports.items() if sym != str(n)})
        mapping = {k: v for k, v in mapping.items() if len(k) >= 3}
        self._text_map = mapping
        if mapping:
            alternatives = "|".join(sorted(map(re.escape, mapping), key=len, reverse=True))
            self._text_re = re.compile(rf"(?<![0-9])({alternatives})(?![0-9])")

    def text(self, text: str) -> str:
        if self._text_re is None:
            return text
        return self._text_re.sub(lambda m: self._text_map[m.group(1)], text)

    def payload(self, data: bytes | None) -> tuple[str | None, str | None]:
        """(text, digest): the whole text when short, else its beginning and a digest of all of it."""
        if data is None:
            return None, None
        text = self.text(escape(data))
        if len(text) <= TEXT_LIMIT:
            return text, None
        return text[:TEXT_LIMIT] + "…", hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _addr_arg(value: Any) -> SockAddr | None:
    if isinstance(value, (list, tuple)) and len(value) >= 2 and isinstance(value[1], int):
        return SockAddr(str(value[0]), int(value[1]))
    if isinstance(value, str):
        return SockAddr(value, None)
    return None


def _path_name(path: str) -> str:
    """A Unix socket name without the run's folder: its file name (`@name` for the abstract namespace)."""
    if not path:
        return "(unnamed)"
    if path.startswith("\0"):
        return "@" + path[1:]
    return os.path.basename(path.rstrip("/")) or path


def _argv(argv: Sequence[str], namer: _Namer) -> tuple[str, ...]:
    out = []
    for item in argv:
        if os.path.isabs(item):
            base = os.path.basename(item.rstrip("/"))
            item = "python" if _PYTHON.match(base) else base
        out.append(namer.text(item))
    return tuple(out)


def _call(e: Event, namer: _Namer) -> Call:
    """One event in symbolic terms."""
    args: list[tuple[str, Json]] = []
    result: Json = None
    size: int | None = None
    text: str | None = None
    digest: str | None = None
    on = namer.on(e)
    call: str = e.call
    a = e.args if isinstance(e.args, Mapping) else {}
    if e.blocked:
        return Call(call=call, on=on, blocked=True)
    stream = namer.trace.stream_of(e)
    if stream is not None:  # the program's own input or output: its text, under the stream's name
        call = stream.value
        data = e.data or b""
        line = data[:-1] if data.endswith(b"\n") else data
        text, digest = namer.payload(line)
        if call == "stdin":
            result = "eof" if e.error == "EOFError" or not data else None
            if result == "eof":
                text = None
        elif not data.endswith(b"\n"):
            args.append(("prompt", True))  # printed without a newline (flushed before reading input)
        return Call(call=call, args=tuple(args), result=result, data=text, digest=digest)
    if call == "socket":
        args += [
            ("family", _FAMILIES.get(a.get("family"), a.get("family"))),
            ("type", _TYPES.get(a.get("type"), a.get("type"))),
        ]
        result, on = on, None
    elif call in ("pipe", "pipe2", "socketpair"):
        result, on = (on.split(".")[0] if on else None), None
    elif call in ("bind", "connect", "connect_ex"):
        args.append(("addr", namer.addr(_addr_arg(a.get("addr")))))
        if call == "connect_ex" and isinstance(e.result, int) and e.result:  # an errno, returned rather than raised
            result = errno.errorcode.get(e.result, e.result)
    elif call == "listen":
        if "backlog" in a:
            args.append(("backlog", a["backlog"]))
    elif call == "accept":
        if e.peer_endpoint is not None:
            result = namer.endpoint(e.peer_endpoint)
        if e.peer is not None:
            args.append(("from", namer.addr(e.peer)))
    elif call in SEND_CALLS:
        size = e.size if e.size is not None else (e.result if isinstance(e.result, int) else None)
        asked = a.get("n")
        if isinstance(asked, int) and size is not None and asked != size:
            args.append(("asked", asked))
        if call in ("sendto", "sendmsg") and e.peer is not None:
            args.append(("to", namer.addr(e.peer)))
        text, digest = namer.payload(e.data)
    elif call in RECV_CALLS:
        if "n" in a:
            args.append(("max", a["n"]))
        size = e.size if e.size is not None else (e.result if isinstance(e.result, int) else None)
        if e.peer is not None and call in ("recvfrom", "recvfrom_into", "recvmsg"):
            args.append(("from", namer.addr(e.peer)))
        if size == 0 and e.error is None:
            result, size = "eof", None
        else:
            text, digest = namer.payload(e.data)
    elif call == "shutdown":
        args.append(("how", _SHUT.get(a.get("how"), a.get("how"))))
    elif call == "setsockopt":
        level, opt = a.get("level"), a.get("opt")
        args += [("level", _LEVELS.get(level, level)), ("opt", _OPTS.get((level, opt), opt)), ("value", a.get("value"))]
    elif call == "fork":
        result = namer.roles.get(e.result, "an untraced child") if isinstance(e.result, int) and e.result > 0 else None
    elif call in WAIT_CALLS:
        if "pid" in a:
            pid = a["pid"]
            args.append(("pid", namer.roles.get(pid, pid) if isinstance(pid, int) and pid > 0 else pid))
        if "options" in a:
            args.append(("options", "WNOHANG" if a["options"] & os.WNOHANG else a["options"]))
        result = _reaped(e, namer)
    elif call == "kill":
        pid = a.get("pid")
        target = namer.roles.get(pid, "an untraced process") if isinstance(pid, int) and pid > 0 else pid
        args += [("pid", target), ("sig", _signal_name(a.get("sig", 0)))]
    elif call == "sleep":
        args.append(("seconds", a.get("seconds")))
    elif call == "exit":
        args.append(("how", a.get("how")))
        result = e.result
    elif call == "exception":
        args += [("type", a.get("type")), ("message", namer.text(str(a.get("message", ""))))]
    elif call in ("dup", "dup2", "fromfd", "close"):
        pass  # the endpoint says it all; fd numbers are not part of the form
    else:
        args += [(k, _freeze(v)) for k, v in a.items() if k not in _VOLATILE_ARGS]
    return Call(call=call, on=on, args=tuple(args), result=result, error=e.error, size=size, data=text, digest=digest)


def _reaped(e: Event, namer: _Namer) -> Json:
    """What a wait returned: the role reaped and how it ended, or `none` (WNOHANG, nothing ended)."""
    if not isinstance(e.result, list) or len(e.result) < 2:
        return None
    pid, status = e.result[0], e.result[1]
    if pid == 0:
        return "none"
    role = namer.roles.get(pid, "an untraced child")
    if os.WIFSIGNALED(status):
        return f"{role} killed by {_signal_name(os.WTERMSIG(status))}"
    if os.WIFEXITED(status):
        return f"{role} exit {os.WEXITSTATUS(status)}"
    return role


def _is_nohang_wait(e: Event) -> bool:
    options = e.args.get("options") if isinstance(e.args, Mapping) else None
    return e.call == "waitpid" and isinstance(options, int) and bool(options & os.WNOHANG)


def _reaped_nothing(e: Event) -> bool:
    return e.error == "ECHILD" or (isinstance(e.result, list) and bool(e.result) and e.result[0] == 0)


def _asynchronous(events: Sequence[Event], is_output: Callable[[Event], bool]) -> tuple[set[EventKey], set[EventKey]]:
    """(calls made in a signal handler, polls to drop) of one process.

    Nested: recorded while the same thread was inside another call (printed
    lines never contain others: a line's start is its first piece). A
    WNOHANG wait and the lines printed right after it are asynchronous too:
    reaping polls whatever happened to end.
    """
    nested: set[EventKey] = set()
    by_tid: dict[int, list[Event]] = defaultdict(list)
    for e in events:
        by_tid[e.tid].append(e)
    for evs in by_tid.values():
        outer_end = -1  # the latest return of a call that began strictly earlier
        group_t0, group_end = -1, -1  # calls beginning at the same instant cannot contain each other
        for e in sorted(evs, key=lambda e: e.t0):
            if e.t0 > group_t0:
                outer_end, group_t0 = max(outer_end, group_end), e.t0
            if e.t1 is not None and not e.blocked and e.t1 < outer_end:
                nested.add(e.key)
            if not is_output(e) and e.t1 is not None and e.t1 > e.t0 and not e.blocked:
                group_end = max(group_end, e.t1)
    polls: set[EventKey] = set()
    after_wait = False
    for e in sorted(events, key=lambda e: e.t0 if e.t1 is None else e.t1):  # in the order the calls returned
        if _is_nohang_wait(e):
            nested.add(e.key)
            if _reaped_nothing(e):
                polls.add(e.key)
            after_wait = True
        elif is_output(e) and after_wait:
            nested.add(e.key)
        else:
            after_wait = False
    return nested, polls


def _output_lines(evs: list[Event], trace: Trace) -> list[Event]:
    """A process's output as lines, however its writes cut it (buffered, unbuffered, one byte at a time).

    Consecutive writes to one output stream are joined and cut after each newline: the form must
    not depend on the program's buffering (PYTHONUNBUFFERED, `-u`, a pipe or a terminal).
    """
    out: list[Event] = []
    run: list[Event] = []

    def flush() -> None:
        line, first, emitted = b"", run[0], False
        for e in run:  # each line is the event of the write that began it
            for piece in (e.data or b"").splitlines(keepends=True) or [b""]:
                if not line:
                    first = e
                line += piece
                if line.endswith(b"\n"):
                    out.append(replace(first, data=line, size=len(line)))
                    line, emitted = b"", True
        if line or not emitted:
            out.append(replace(first, data=line, size=len(line)))
        run.clear()

    for e in evs:
        stream = trace.stream_of(e) if e.data is not None and not e.blocked else None
        if stream in _OUTPUT_STREAMS and e.call not in OUTPUT_CALLS:
            if run and trace.stream_of(run[0]) != stream:
                flush()
            run.append(e)
            continue
        if run:
            flush()
        out.append(e)
    if run:
        flush()
    return out


def canonicalize(trace: Trace, linked: LinkedTrace | None = None) -> CanonicalTrace:
    """The canonical form of a trace (see the module docstring for what it keeps and why)."""
    linked = linked if linked is not None else link(trace)
    namer = _Namer(trace, linked)
    namer.walk_processes()
    namer.collect_ports()
    namer.name_endpoints()
    namer.prepare_text()
    events = namer.events_by_pid()

    processes = []
    for proc in namer.order:
        evs, threads = _by_thread(events.get(proc.pid, []), proc.pid)
        evs = _output_lines(evs, trace)
        handler, polls = _asynchronous(evs, lambda e: trace.stream_of(e) in _OUTPUT_STREAMS)
        calls, async_calls = [], []
        started, argv = ("fork" if proc.forked else "exec" if proc.ppid not in namer.roles else "unknown"), ()
        for e in evs:
            if e.call == "start":
                started = str(e.args.get("how", started))
                if started != "fork":
                    argv = _argv(e.args.get("argv", proc.argv), namer)
                continue
            if e.key in polls:
                continue
            c = _call(e, namer)
            if threads.get(e.tid):
                c = replace(c, args=(*c.args, ("thread", threads[e.tid])))
            (async_calls if e.key in handler else calls).append(c)
        if not evs and not proc.forked:
            argv = _argv(proc.argv, namer)
        processes.append(
            CanonicalProcess(
                role=namer.roles[proc.pid],
                parent=namer.roles.get(proc.ppid),
                started=started,
                argv=argv,
                exit=_exit_text(proc),
                calls=tuple(calls),
                asynchronous=tuple(sorted(async_calls, key=lambda c: c.key)),
            )
        )

    flows = _flows(linked, namer)
    packets = None if trace.header.capture.backend == "none" else _packets(linked, namer)
    return CanonicalTrace(
        processes=tuple(processes),
        flows=flows,
        packets=packets,
        ending=trace.header.ending,
        scenario=trace.header.scenario,
    )


def _by_thread(events: list[Event], pid: Pid) -> tuple[list[Event], dict[int, str]]:
    """A process's events, thread by thread (the main thread first), and names for the other threads.

    Program order holds within a thread; how threads interleave is as
    accidental as how processes do.
    """
    tids = list(dict.fromkeys(e.tid for e in events))
    if len(tids) <= 1:
        return events, {}
    tids.sort(key=lambda t: t != pid)  # stable: the others in order of their first call
    rank = {tid: k for k, tid in enumerate(tids)}
    names = {tid: f"thread#{k + 1}" for tid, k in rank.items() if tid != pid}
    return sorted(events, key=lambda e: (rank[e.tid], e.seq)), names


def _call_refs(namer: _Namer) -> dict[EventKey, str]:
    """`write#2`: the k-th call of that name on that endpoint in its process, for every data call."""
    refs: dict[EventKey, str] = {}
    counts: dict[tuple[Pid, str, str | None], int] = defaultdict(int)
    for e in namer.walk_events():
        if e.call in SEND_CALLS or e.call in RECV_CALLS:
            k = (e.pid, e.call, namer.on(e))
            counts[k] += 1
            refs[e.key] = f"{e.call}#{counts[k]}"
    return refs


def _channel_name(
    src: Endpoint | None, dst: Endpoint | None, src_addr: SockAddr | None, dst_addr: SockAddr | None, namer: _Namer
) -> str:
    a = namer.endpoint(src) if src is not None else namer.addr(src_addr) or "?"
    b = namer.endpoint(dst) if dst is not None else namer.addr(dst_addr) or "?"
    if a == b and a.startswith("pipe#"):
        return a
    return f"{a}→{b}"


def _flows(linked: LinkedTrace, namer: _Namer) -> tuple[Flow, ...]:
    refs = _call_refs(namer)
    rank = {pid: i for i, pid in enumerate(p.pid for p in namer.order)}
    names = {ch.id: _channel_name(ch.src, ch.dst, ch.src_addr, ch.dst_addr, namer) for ch in linked.channels}
    items = []
    for f in linked.flows:
        text = _short(namer.payload(f.data)[0])
        flow = Flow(
            channel=names.get(f.channel, f.channel),
            sender=namer.roles.get(f.send.pid) if f.send else None,
            send=refs.get(f.send) if f.send else None,
            receiver=namer.roles.get(f.recv.pid) if f.recv else None,
            recv=refs.get(f.recv) if f.recv else None,
            size=f.length,
            data=text,
        )
        key = (
            rank.get(f.send.pid, -1) if f.send else -1,
            _ref_number(flow.send),
            flow.send or "",
            rank.get(f.recv.pid, -1) if f.recv else -1,
            _ref_number(flow.recv),
            flow.channel,
        )
        items.append((key, flow))
    return tuple(flow for _, flow in sorted(items, key=lambda kv: kv[0]))


def _short(text: str | None, limit: int = FLOW_TEXT_LIMIT) -> str | None:
    """Flow and packet text only has to say which message it is: the calls hold it all."""
    return text if text is None or len(text) <= limit else text[:limit] + "…"


def _ref_number(ref: str | None) -> int:
    return int(ref.rsplit("#", 1)[1]) if ref and "#" in ref else 0


def _packets(linked: LinkedTrace, namer: _Namer) -> tuple[tuple[str, tuple[CanonicalPacket, ...]], ...]:
    names = {ch.id: _channel_name(ch.src, ch.dst, ch.src_addr, ch.dst_addr, namer) for ch in linked.channels}
    by_index = {pl.packet: pl for pl in linked.packet_links}
    per_channel: dict[str, list[CanonicalPacket]] = defaultdict(list)
    for p in sorted(linked.trace.packets, key=lambda p: p.index):
        plink = by_index.get(p.index)
        if plink is not None and plink.channel in names:
            channel = names[plink.channel]
        else:
            channel = f"{namer.addr(p.src)}→{namer.addr(p.dst)}"
        text = _short(namer.payload(p.payload)[0]) if p.payload else None
        per_channel[channel].append(CanonicalPacket(flags=p.flags.letters, size=len(p.payload), data=text))
    return tuple((ch, tuple(ps)) for ch, ps in sorted(per_channel.items()))


def without(canonical: CanonicalTrace, ignore: Iterable[str]) -> CanonicalTrace:
    """The form with what a user chose to ignore taken out (see `diff.IGNORABLE`)."""
    ignore = set(ignore)

    def keep(c: Call) -> bool:
        return not (("sleeps" in ignore and c.call == "sleep") or ("output" in ignore and c.call in OUTPUT_CALLS))

    def strip(c: Call) -> Call:  # payloads: bytes moved and input read; printed lines are `output`
        if "payloads" in ignore and c.data is not None and c.call not in OUTPUT_CALLS:
            return replace(c, data=None, digest=None)
        return c

    processes = tuple(
        replace(
            p,
            calls=tuple(strip(c) for c in p.calls if keep(c)),
            asynchronous=() if "handlers" in ignore else tuple(strip(c) for c in p.asynchronous if keep(c)),
        )
        for p in canonical.processes
    )
    flows = canonical.flows
    if "payloads" in ignore:
        flows = tuple(replace(f, data=None) for f in flows)
    packets = canonical.packets
    if "packets" in ignore:
        packets = None
    elif packets is not None:
        packets = tuple(
            (
                ch,
                tuple(
                    replace(p, data=None) if "payloads" in ignore else p
                    for p in ps
                    if not ("acks" in ignore and p.pure_ack)
                ),
            )
            for ch, ps in packets
        )
    return replace(canonical, processes=processes, flows=flows, packets=packets)
