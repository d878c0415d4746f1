"""Reading a trace file: its lines into a `Trace`, and a clear sentence for a file that is none.

Event lines of a shape read before go through `eventlines`; every other line is decoded with `json`
(a batch at a time) and into the model by `decode`.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any, TextIO

from ipctrace.errors import IpctraceError
from ipctrace.eventlines import Lines
from ipctrace.inputs import InputError, compressed_problem, open_user_file
from ipctrace.model import FORMAT_VERSION, Event, Header, Packet, Process, Trace
from ipctrace.perf import gc_paused
from ipctrace.tracefile.decode import EventDecoder, header_from_json, packet_from_json, process_from_json


class TraceFileError(IpctraceError):
    """A trace file that cannot be read; the message names the file and line."""


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

    def __init__(self, path: Path, notes: list[str] | None = None) -> None:
        self.path = path
        self.notes = notes  # given: a cut last line is left out and said here, not refused
        self.header: Header | None = None
        self.processes: list[Process] = []
        self.events: list[Event | None] = []
        self.packets: list[Packet] = []
        self.decoder = EventDecoder()
        self.lines = Lines()
        self.pending: list[tuple[int, str, int, Any]] = []
        self.holes = 0  # slots of lines that were no event
        self.process_lines: dict[int, int] = {}  # each process's line, so that a second one is named

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
                self.take_process(where, number, process_from_json(obj))
            elif kind == "packet":
                self.packets.append(packet_from_json(obj))
            else:
                raise TraceFileError(f"{where}: unknown line type {kind!r}.")
        except TraceFileError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            what = str(kind or "line")
            article = "an" if what[:1] in "aeiou" else "a"
            raise TraceFileError(f"{where}: {article} {what} with a missing or bad field ({exc}).") from None
        return None

    def take_process(self, where: str, number: int, process: Process) -> None:
        first = self.process_lines.setdefault(process.pid, number)
        if first != number:  # every later stage knows a process by its pid: which of the two is meant?
            raise TraceFileError(
                f"{where}: process {process.pid} is listed again (first on line {first}); the trace is damaged."
            )
        self.processes.append(process)

    def take_header(self, where: str, kind: Any, obj: dict[str, Any]) -> None:
        if kind != "header":
            raise TraceFileError(f"{where}: a trace starts with a header line; this is not a trace file.")
        self.header = header_from_json(obj)
        if self.header.version > FORMAT_VERSION:
            raise TraceFileError(
                f"{where}: trace format {self.header.version} is newer than this ipctrace reads "
                f"({FORMAT_VERSION}); upgrade ipctrace."
            )
        if self.header.version < 1:  # formats are numbered from 1: no ipctrace wrote this header
            raise TraceFileError(
                f"{where}: the header says trace format {self.header.version}, which no ipctrace writes "
                "(formats are numbered from 1); the trace is damaged."
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
            cut = f"{self.path}:{number + 1}: the last line is cut short (the file is truncated)"
            if self.notes is None:
                raise TraceFileError(cut + ".")
            self.notes.append(f"{cut}; the {number:,} whole lines before it are read, the rest of the run is not there")
        self.decode_pending()
        if self.header is None:
            raise TraceFileError(f"{self.path}: the file is empty; it holds no trace.")
        events = [e for e in self.events if e is not None] if self.holes else self.events
        repeated = _repeated_event(events)  # type: ignore[arg-type]
        if repeated is not None:
            raise TraceFileError(_repeated_sentence(self.path, *repeated))
        return Trace(self.header, tuple(self.processes), tuple(events), tuple(self.packets))  # type: ignore[arg-type]


def _repeated_event(events: list[Event]) -> tuple[int, int] | None:
    """The (pid, seq) of an event listed twice, if any: every later stage knows an event by that pair.

    One pass with a number per process (a process's seqs mostly grow in file order); only a process
    whose seqs do not is looked at again, with a set.
    """
    highest: dict[int, int] = {}
    unordered: set[int] = set()
    for event in events:
        pid, seq = event.pid, event.seq
        top = highest.get(pid)
        if top is None or seq > top:
            highest[pid] = seq
        else:
            unordered.add(pid)
    if not unordered:
        return None
    seen: dict[int, set[int]] = {pid: set() for pid in unordered}
    for event in events:  # one more pass for all of them, not one a process
        seqs = seen.get(event.pid)
        if seqs is not None:
            if event.seq in seqs:
                return event.pid, event.seq
            seqs.add(event.seq)
    return None


def _repeated_sentence(path: Path, pid: int, seq: int) -> str:
    """Names the lines of a repeated event: the file is read again, only on this path."""
    lines = []
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if f'"seq": {seq}' in line or f'"seq":{seq}' in line:
                obj = json.loads(line)
                if obj.get("type") == "event" and obj.get("pid") == pid and obj.get("seq") == seq:
                    lines.append(str(number))
    where = f"lines {' and '.join(lines[:2])}" if len(lines) >= 2 else "two lines"
    return (
        f"{path}: {where} both hold event {seq} of process {pid}, and each event of a process has a number of "
        "its own, so the trace is damaged (a line copied twice?): remove the copy, or run the program again."
    )


def _json_kind(value: Any) -> str:
    kinds = {list: "list", str: "string", bool: "boolean", int: "number", float: "number", type(None): "null"}
    return kinds.get(type(value), type(value).__name__)


def _not_a_trace(path: Path, first: str) -> None:
    """Refuse, from its first line alone, a file that is not a trace (a JSON list, a text, a golden file)."""
    where = f"{path}:1"
    beside = path.parent / "trace.jsonl"
    if path.name != "trace.jsonl" and path.suffix in (".json", ".txt", ".pcap", ".out", ".html") and beside.is_file():
        raise TraceFileError(f"{path} is one of a run's other files, not its trace: the trace is {beside}.")
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


def _not_text(path: Path) -> str:
    """The sentence for a trace file that is not UTF-8 text: a compressed trace says how to uncompress it."""
    try:
        with open_user_file(path, "trace file") as f:
            start = f.read(8)
    except InputError:
        start = b""
    return compressed_problem(path, start, "trace file") or f"{path}: not a trace file (it is not UTF-8 text)."


def read_trace(path: str | Path, notes: list[str] | None = None) -> Trace:
    """Load a trace file; any malformed or truncated line raises TraceFileError naming file and line.

    Only a regular file is read (a device, a FIFO or a folder is named as such), and a file whose first
    line is not a trace header is refused after that line. With `notes`, a file cut short in its last
    line (a copy stopped half-way) gives the lines before it, and the sentence saying so goes in `notes`.
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
                return _Reader(path, notes).read(first, f)
    except UnicodeDecodeError:
        raise TraceFileError(_not_text(path)) from None
    except OSError as exc:
        raise TraceFileError(f"{path}: cannot be read as a trace ({exc.strerror or exc}).") from None
