"""The canonical form as data: calls, processes, flows and packets, and their JSON (the golden files).

Frozen records that compare by value, so two forms are equal exactly when
the runs they come from are equivalent. `canonical.py` builds them from a
trace; `golden.py` writes and reads them; `diff.py` explains how two differ.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ipctrace.compare.identity import CallRef, Role

FORMAT = "ipctrace-canonical/1"

Json = Any


def freeze(value: Json) -> Json:
    """JSON lists as tuples, so a call stays hashable and comparable after loading."""
    if isinstance(value, list | tuple):
        return tuple(freeze(v) for v in value)
    return value


def _role(value: Json) -> Role | None:
    return None if value is None else Role.parse(value)


def _ref(value: Json) -> CallRef | None:
    return None if value is None else CallRef.parse(value)


def _text(value: object) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True, slots=True)
class CanonicalCall:
    """One call of a process in symbolic terms: what a golden file shows on one line.

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

    def arg(self, name: str, default: Json = None) -> Json:
        return next((v for k, v in self.args if k == name), default)

    @property
    def key(self) -> str:
        """A text that is equal for equal calls (to sort calls that have no order)."""
        return json.dumps(self.to_json(), ensure_ascii=False, default=list)

    def to_json(self) -> dict[str, Json]:
        obj: dict[str, Json] = {"call": self.call}
        if self.on is not None:
            obj["on"] = self.on
        obj.update(self.args)
        optional = {"result": self.result, "error": self.error, "size": self.size, "data": self.data}
        obj.update((k, v) for k, v in optional.items() if v is not None)
        if self.digest is not None:
            obj["digest"] = self.digest
        if self.blocked:
            obj["blocked"] = True
        return obj

    @classmethod
    def from_json(cls, obj: Mapping[str, Json]) -> CanonicalCall:
        fixed = {"call", "on", "result", "error", "size", "data", "digest", "blocked"}
        return cls(
            call=str(obj["call"]),
            on=_text(obj.get("on")),
            args=tuple((k, freeze(v)) for k, v in obj.items() if k not in fixed),
            result=freeze(obj.get("result")),
            error=_text(obj.get("error")),
            size=obj.get("size"),
            data=_text(obj.get("data")),
            digest=_text(obj.get("digest")),
            blocked=bool(obj.get("blocked", False)),
        )


@dataclass(frozen=True, slots=True)
class CanonicalProcess:
    """One process: its role, who started it and how, how it ended, its calls in program order."""

    role: Role
    parent: Role | None
    started: str  # exec, fork, spawn, or "unknown"
    argv: tuple[str, ...] = ()
    exit: str | None = None  # "exit 0", "killed by SIGKILL"; None: not known
    calls: tuple[CanonicalCall, ...] = ()
    asynchronous: tuple[CanonicalCall, ...] = ()  # from signal handlers: compared as a multiset, sorted

    def to_json(self) -> dict[str, Json]:
        obj: dict[str, Json] = {"parent": None if self.parent is None else str(self.parent), "started": self.started}
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
            role=Role.parse(role),
            parent=_role(obj.get("parent")),
            started=str(obj.get("started", "unknown")),
            argv=tuple(str(a) for a in obj.get("argv") or ()),
            exit=_text(obj.get("exit")),
            calls=tuple(CanonicalCall.from_json(c) for c in obj.get("calls") or ()),
            asynchronous=tuple(
                sorted((CanonicalCall.from_json(c) for c in obj.get("async") or ()), key=lambda c: c.key)
            ),
        )


@dataclass(frozen=True, slots=True)
class CanonicalFlow:
    """A run of bytes from one send to one receive, named by roles and per-process call references.

    `send` is `write#2`: the second write of `sender` on the channel's sending
    end; `recv` likewise on the receiving end. None: bytes never read (or a
    receive no traced send explains).
    """

    channel: str
    sender: Role | None
    send: CallRef | None
    receiver: Role | None
    recv: CallRef | None
    size: int
    data: str | None = None

    def to_json(self) -> dict[str, Json]:
        obj: dict[str, Json] = {
            "on": self.channel,
            "from": None if self.sender is None else str(self.sender),
            "send": None if self.send is None else str(self.send),
            "to": None if self.receiver is None else str(self.receiver),
            "recv": None if self.recv is None else str(self.recv),
            "size": self.size,
        }
        if self.data is not None:
            obj["data"] = self.data
        return obj

    @classmethod
    def from_json(cls, obj: Mapping[str, Json]) -> CanonicalFlow:
        return cls(
            channel=str(obj["on"]),
            sender=_role(obj.get("from")),
            send=_ref(obj.get("send")),
            receiver=_role(obj.get("to")),
            recv=_ref(obj.get("recv")),
            size=int(obj.get("size", 0)),
            data=_text(obj.get("data")),
        )


@dataclass(frozen=True, slots=True)
class CanonicalPacket:
    """One packet on a channel: its TCP flags as letters (empty for UDP), payload size and text."""

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
        return cls(flags=str(obj.get("flags", "")), size=int(obj.get("size", 0)), data=_text(obj.get("data")))


Packets = tuple[tuple[str, tuple[CanonicalPacket, ...]], ...]


@dataclass(frozen=True, slots=True)
class CanonicalTrace:
    """The canonical form of one run. Equal for two runs of a deterministic program.

    `packets` is None when the run did not capture packets (then they are not
    compared); otherwise the packets of each channel in wire order.
    `read_boundaries` says whether reads on byte streams were kept as the
    kernel split them (True) or joined into what the program read between
    its other calls (False, the default: see `streams.py`).
    """

    processes: tuple[CanonicalProcess, ...]
    flows: tuple[CanonicalFlow, ...] = ()
    packets: Packets | None = None
    ending: str = ""
    scenario: str | None = None
    read_boundaries: bool = False
    _by_role: dict[Role, CanonicalProcess] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_role", {p.role: p for p in self.processes})

    def process(self, role: Role | str) -> CanonicalProcess | None:
        """The process of a role (a Role, or its text as a user writes it: `server/child#1`)."""
        return self._by_role.get(role if isinstance(role, Role) else Role.parse(role))

    @property
    def roles(self) -> tuple[Role, ...]:
        return tuple(p.role for p in self.processes)

    def to_json(self) -> dict[str, Json]:
        obj: dict[str, Json] = {"format": FORMAT, "scenario": self.scenario, "ending": self.ending}
        if self.read_boundaries:
            obj["read_boundaries"] = True
        obj["processes"] = {str(p.role): p.to_json() for p in self.processes}
        obj["flows"] = [f.to_json() for f in self.flows]
        obj["packets"] = None if self.packets is None else {ch: [p.to_json() for p in ps] for ch, ps in self.packets}
        return obj

    @classmethod
    def from_json(cls, obj: Mapping[str, Json]) -> CanonicalTrace:
        """The form from its JSON; a wrong format raises ValueError (the loader turns it into one sentence)."""
        if obj.get("format") != FORMAT:
            raise ValueError(f"not a canonical trace of format {FORMAT} (format: {obj.get('format')!r})")
        packets = obj.get("packets")
        return cls(
            processes=tuple(CanonicalProcess.from_json(role, p) for role, p in (obj.get("processes") or {}).items()),
            flows=tuple(CanonicalFlow.from_json(f) for f in obj.get("flows") or ()),
            packets=None
            if packets is None
            else tuple((ch, tuple(CanonicalPacket.from_json(p) for p in ps)) for ch, ps in packets.items()),
            ending=str(obj.get("ending", "")),
            scenario=_text(obj.get("scenario")),
            read_boundaries=bool(obj.get("read_boundaries", False)),
        )
