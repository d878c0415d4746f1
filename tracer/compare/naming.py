"""The symbols of one run: roles for pids, names for pipes and sockets, symbols for ports, normalised argv.

Everything is numbered by one fixed walk, so the same program gets the same
names in every run whatever the interleaving: processes (roots in the
scenario's order, then children depth-first in the order their parent forked
them), each process's events in program order.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence

from ipctrace.calls import Call
from ipctrace.compare.identity import Role
from ipctrace.compare.text import TextSymbols
from ipctrace.link import ChannelKind, EndpointInfo, GroupId, LinkedTrace, Side
from ipctrace.model import Endpoint, EndpointKind, Event, Inode, Pid, Process, SockAddr, Stream, Trace

_PYTHON = re.compile(r"^python[0-9.]*$")
_NUMBERS = re.compile(r"\d+")


class Names:
    """Roles, endpoint names and port symbols of one trace; built once, then only read."""

    def __init__(self, trace: Trace, linked: LinkedTrace) -> None:
        self.trace = trace
        self.linked = linked
        self.order: list[Process] = []  # processes in walk order
        self.roles: dict[Pid, Role] = {}
        self._endpoints: dict[Inode, str] = {}
        self._groups: dict[GroupId, str] = {}  # link's group → the form's group name
        self._counts: dict[str, int] = defaultdict(int)
        self._on: dict[Event, str] = {}  # events compare by identity: one entry per event
        self._streams: dict[Event, Stream | None] = {}
        self._ports = _PortSymbols(trace)
        self._walk_processes()
        for e in self.walk_events():
            self._ports.see(e.address, e.local, e.peer)
            for ep in (e.endpoint, e.peer_endpoint):
                if ep is not None:
                    self.endpoint(ep)
        for pkt in trace.packets:
            self._ports.see(pkt.src, pkt.dst)
        symbols = {str(pid): str(role) for pid, role in self.roles.items()}
        symbols.update(self._ports.symbols())
        self.text = TextSymbols(symbols)

    # -- processes ----------------------------------------------------------------------------------

    def _walk_processes(self) -> None:
        """Roles in walk order: roots as the scenario started them, children in the order they were forked."""
        procs = {p.pid: p for p in self.trace.processes}
        children: dict[Pid, list[Pid]] = defaultdict(list)
        for p in self.trace.processes:
            for e in self.trace.events_of(p.pid):
                if e.call is Call.FORK and isinstance(e.result, int) and e.result in procs:
                    children[p.pid].append(e.result)
        for p in sorted(self.trace.processes, key=lambda p: p.start):  # spawned, not forked: by start
            if p.ppid in procs and p.pid not in children[p.ppid]:
                children[p.ppid].append(p.pid)
        root_order = list(self.trace.header.roles)
        roots = [p for p in self.trace.processes if p.ppid not in procs]
        roots.sort(key=lambda p: (root_order.index(p.role) if p.role in root_order else len(root_order), p.start))
        stack = [(root, Role(root.role)) for root in reversed(roots)]
        while stack:
            proc, role = stack.pop()
            if proc.pid in self.roles:
                continue
            self.roles[proc.pid] = role
            self.order.append(proc)
            kids = children.get(proc.pid, ())
            stack.extend((procs[kid], role.child(k)) for k, kid in reversed(list(enumerate(kids, 1))))

    def role(self, pid: object, unknown: str) -> object:
        """The role of a traced pid; `unknown` for another positive pid; the value itself otherwise (0, -1)."""
        if isinstance(pid, int) and pid > 0:
            role = self.roles.get(pid)
            return unknown if role is None else str(role)
        return pid

    def walk_events(self) -> Iterator[Event]:
        for p in self.order:
            yield from self.trace.events_of(p.pid)

    # -- ports and addresses ------------------------------------------------------------------------

    def addr(self, addr: SockAddr | None) -> str | None:
        if addr is None:
            return None
        if addr.port is None:
            return _path_name(addr.host)
        host = addr.host or "0.0.0.0"
        shown = f"[{host}]" if ":" in host else host
        return f"{shown}:{self._ports.symbol(addr.port) if addr.port else 0}"

    # -- endpoints ----------------------------------------------------------------------------------

    def _number(self, prefix: str) -> str:
        self._counts[prefix] += 1
        return f"{prefix}#{self._counts[prefix]}"

    def _group(self, group: GroupId) -> str:
        if group not in self._groups:
            self._groups[group] = self._number(group.kind.value)
        return self._groups[group]

    def endpoint(self, ep: Endpoint) -> str:
        """`pipe#1`, `socketpair#1.a`, `tcp#1.client`, `tcp-listener#1`, `udp#2`: numbered in walk order."""
        inode = ep.inode
        name = self._endpoints.get(inode)
        if name is None:
            info = self.linked.endpoints.get(inode) or EndpointInfo(ep)
            name = _name_endpoint(self, info)
            self._endpoints[inode] = name
        return name

    def pair(self, ep: Endpoint) -> str:
        """The name of what a pipe() or socketpair() made: `pipe#1`, `socketpair#1` (its ends are `.a`, `.b`)."""
        name = self.endpoint(ep)
        info = self.linked.endpoints.get(ep.inode)
        group = None if info is None else info.group
        return self._groups.get(group, name) if group is not None else name

    def stream(self, e: Event) -> Stream | None:
        """Which of its standard streams an event reads or writes (`Trace.stream_of`), looked up once per event."""
        if e not in self._streams:
            self._streams[e] = self.trace.stream_of(e)
        return self._streams[e]

    def on(self, e: Event) -> str | None:
        """The endpoint a call used; for a pipe, which end (`pipe#1.r`)."""
        if e.endpoint is None:
            return None
        known = self._on.get(e)
        if known is None:
            name = self.endpoint(e.endpoint)
            end = self.linked.pipe_ends.get(e.key) if e.endpoint.kind.is_pipe else None
            known = self._on[e] = name if end is None else f"{name}.{end.value}"
        return known

    # -- command lines ------------------------------------------------------------------------------

    def argv(self, argv: Sequence[str]) -> tuple[str, ...]:
        """A command line without what the machine chose: the interpreter's name and folders of programs."""
        return tuple(self.text.text(_argv_item(item, k == 0)) for k, item in enumerate(argv))


def _argv_item(item: str, first: bool) -> str:
    """`python` for any Python interpreter (`python3.11`, `/usr/bin/python3`); a program's file name, no folder."""
    base = os.path.basename(item.rstrip("/"))
    if first and _PYTHON.match(base):
        return "python"
    if os.path.isabs(item) or ("/" in item and item.endswith(".py")):
        return base or item
    return item


# One rule per kind of endpoint, in order; the first that gives a name wins.
_EndpointRule = Callable[[Names, EndpointInfo], str | None]


def _pipe(names: Names, info: EndpointInfo) -> str | None:
    """A pipe (`pipe#1`) or FIFO (`fifo#1`): its ends are `.r` and `.w`."""
    return names._number(info.endpoint.kind.value) if info.endpoint.kind.is_pipe else None


def _connected(names: Names, info: EndpointInfo) -> str | None:
    """An end of a socketpair (`.a`, `.b`) or of a connection (`.client`, `.server`)."""
    if info.group is None or info.side is Side.NONE or info.group.kind is ChannelKind.PIPE:
        return None
    return f"{names._group(info.group)}.{info.side.value.lower()}"


def _listener(names: Names, info: EndpointInfo) -> str | None:
    if not info.listening:
        return None
    return names._number("tcp-listener" if info.endpoint.kind.is_tcp else "unix-listener")


def _datagram(names: Names, info: EndpointInfo) -> str | None:
    kind = info.endpoint.kind
    if kind.is_udp:
        return names._number("udp")
    return names._number(kind.value) if kind is EndpointKind.UNIX_DGRAM else None


def _socket(names: Names, info: EndpointInfo) -> str | None:
    kind = info.endpoint.kind
    if kind.is_tcp:
        return names._number("tcp-socket")
    return names._number(f"{kind.value}-socket") if kind.is_unix else None


def _other(names: Names, info: EndpointInfo) -> str:
    return names._number(info.endpoint.kind.value or "fd")


_ENDPOINT_RULES: tuple[_EndpointRule, ...] = (_pipe, _connected, _listener, _datagram, _socket)


def _name_endpoint(names: Names, info: EndpointInfo) -> str:
    for rule in _ENDPOINT_RULES:
        name = rule(names, info)
        if name is not None:
            return name
    return _other(names, info)


class _PortSymbols:
    """Scenario ports (on a command line) become PORT, ports a program binds keep their number, others EPHEMERAL#k."""

    def __init__(self, trace: Trace) -> None:
        roots = [p.argv for p in trace.processes if trace.process(p.ppid) is None]
        self.scenario = {
            int(n) for argv in (*roots, trace.header.command) for item in argv for n in _NUMBERS.findall(item)
        }
        self.scenario = {n for n in self.scenario if 0 < n < 65536}
        self.fixed = {
            e.address.port for e in trace.events if e.call is Call.BIND and e.address is not None and e.address.port
        }
        self._symbols: dict[int, str] = {}
        self._counts: dict[str, int] = defaultdict(int)

    def see(self, *addrs: SockAddr | None) -> None:
        for addr in addrs:
            if addr is not None and addr.port:
                self.symbol(addr.port)

    def symbol(self, number: int) -> str:
        if number not in self._symbols:
            if number in self.scenario:
                self._symbols[number] = self._next("PORT", first="PORT")
            elif number in self.fixed:
                self._symbols[number] = str(number)
            else:
                self._symbols[number] = self._next("EPHEMERAL")
        return self._symbols[number]

    def _next(self, prefix: str, first: str | None = None) -> str:
        self._counts[prefix] += 1
        k = self._counts[prefix]
        return first if k == 1 and first else f"{prefix}#{k}"

    def symbols(self) -> dict[str, str]:
        return {str(n): sym for n, sym in self._symbols.items() if sym != str(n)}


def _path_name(path: str) -> str:
    """A Unix socket name without the run's folder: its file name (`@name` for the abstract namespace)."""
    if not path:
        return "(unnamed)"
    if path.startswith("\0"):
        return "@" + path[1:]
    return os.path.basename(path.rstrip("/")) or path
