"""Descriptors named by what they refer to, and which ones each process holds after a fork.

`fd 4` tells a student nothing; "pipe #1 write end" or "connection to client
127.0.0.1:54012" does, and the program's own `fds[1]` even more. Each
process's descriptor table is followed through pipe, socketpair, socket,
accept, dup, fork and close (a forked child starts with a copy of its
parent's), so every call on a descriptor can be named, and the kernel view can
show that after `fork` both processes hold both ends of a pipe.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from ipctrace.calls import Call
from ipctrace.link import ChannelKind, EndpointInfo, LinkedTrace
from ipctrace.model import Endpoint, Event, EventKey, Fd, Inode, Pid, SockAddr, Trace
from ipctrace.render.i18n import group_title, tr
from ipctrace.render.layout.sources import Site, element, read_site
from ipctrace.render.options import Lang


@dataclass(frozen=True, slots=True)
class Held:
    """One entry of a descriptor table: what the descriptor refers to and what the program calls it."""

    inode: Inode
    end: str  # "r" / "w" for a pipe's ends, "0" / "1" for a socketpair's, "" otherwise
    expr: str | None = None


@dataclass(frozen=True)
class Descriptors:
    """Per event: what its descriptor is called; per fork: what parent and child hold afterwards."""

    meaning: Mapping[EventKey, str]  # "pipe #1 write end"
    expr: Mapping[EventKey, str]  # "fds[1]", where the program's source says
    created: Mapping[EventKey, str]  # for pipe(), socketpair(), accept(), socket(): what the new ones are
    holds: Mapping[EventKey, tuple[str, ...]]  # at a fork: "3 pipe #1 read end", ... (IPC descriptors only)


def _wild(addr: SockAddr) -> str:
    return f":{addr.port}" if addr.host in ("", "0.0.0.0", "::") else str(addr)


def _socket_meaning(info: EndpointInfo, end: str, lang: Lang) -> str:
    kind = info.endpoint.kind
    if info.group is not None and info.group.kind is ChannelKind.SOCKETPAIR:
        pair = group_title(info.group, lang)
        number = end or {"A": "0", "B": "1"}.get(info.side, "")
        return tr("pair_end", lang, pair=pair, n=number) if number else pair
    if kind.is_tcp:
        if info.listening and info.local is not None:
            return tr("listening_socket", lang, addr=_wild(info.local))
        if info.peer is not None:
            key = "conn_to_client" if info.side == "server" else "conn_to_server"
            return tr(key, lang, addr=str(info.peer))
        return tr("socket_plain", lang)
    if kind.is_udp:
        return (
            tr("udp_socket", lang, addr=_wild(info.local))
            if info.local is not None
            else tr("udp_socket", lang, addr="")
        )
    if kind.is_unix:
        path = next((a.host.rsplit("/", 1)[-1] for a in (info.local, info.peer) if a is not None and a.host), "")
        key = "unix_listening" if info.listening else "unix_socket"
        return tr(key, lang, path=path or "(unnamed)")
    return str(kind)


_MEANINGS: dict[tuple[int, Inode, str, Lang], str] = {}


def meaning_of(linked: LinkedTrace, inode: Inode, end: str, lang: Lang) -> str:
    """What a descriptor refers to, in words: `pipe #1 write end`, `listening socket :8080`, ..."""
    key = (id(linked), inode, end, lang)
    if key not in _MEANINGS:
        if len(_MEANINGS) > 100_000:
            _MEANINGS.clear()
        _MEANINGS[key] = _meaning(linked, inode, end, lang)
    return _MEANINGS[key]


def _meaning(linked: LinkedTrace, inode: Inode, end: str, lang: Lang) -> str:
    info = linked.endpoints.get(inode)
    if info is None:
        return ""
    if info.endpoint.kind == "pipe":
        pipe = group_title(info.group, lang) if info.group else tr("pipe", lang)
        if end == "r":
            return tr("pipe_read_end", lang, pipe=pipe)
        if end == "w":
            return tr("pipe_write_end", lang, pipe=pipe)
        return pipe
    return _socket_meaning(info, end, lang)


@dataclass
class _Tables:
    """The descriptor tables being followed (mutable while walking; the result is frozen)."""

    tables: dict[Pid, dict[Fd, Held]]
    at_fork: dict[Pid, dict[Fd, Held]]

    def of(self, event: Event) -> dict[Fd, Held]:
        if event.pid not in self.tables:
            inherited = self.at_fork.get(event.pid) if event.args.get("how") == "fork" else None
            self.tables[event.pid] = dict(inherited or {})
        return self.tables[event.pid]


def _new(event: Event, table: dict[Fd, Held], words_created: tuple[str, ...]) -> list[tuple[Fd, Held]]:
    """The descriptors a call created, with their names: `fds = os.pipe()` → fds[0], fds[1]."""
    fds = event.fds or ((event.result,) if isinstance(event.result, int) and not isinstance(event.result, bool) else ())
    if not fds:
        return []
    ends: list[tuple[Endpoint | None, str]]
    if event.call in (Call.PIPE, Call.PIPE2):
        ends = [(event.endpoint, "r"), (event.endpoint, "w")]
    elif event.call is Call.SOCKETPAIR:
        ends = [(event.endpoint, "0"), (event.peer_endpoint, "1")]
    elif event.call is Call.ACCEPT:
        ends = [(event.peer_endpoint, "")]
    elif event.call in (Call.SOCKET, Call.FROMFD):
        ends = [(event.endpoint, "")]
    elif event.call is Call.DUP and event.fd in table:
        return [(fds[0], replace(table[event.fd], expr=words_created[0] if words_created else None))]
    else:
        return []
    names: list[str] = list(words_created)
    if len(names) == 1 and len(fds) > 1:  # `fds = os.pipe()`: one name for the pair
        names = [element(names[0], i) for i in range(len(fds))]
    out = []
    for i, (fd, (ep, end)) in enumerate(zip(fds, ends, strict=False)):
        if ep is not None:
            out.append((fd, Held(ep.inode, end, names[i] if i < len(names) else None)))
    return out


def _created(event: Event, new: list[tuple[Fd, Held]], linked: LinkedTrace, lang: Lang) -> str:
    """What a call's new descriptors are: `pipe #1: 3 read, 4 write`, `6: connection to client …`."""
    names = [f"{h.expr} = {fd}" if h.expr else str(fd) for fd, h in new]
    if event.call in (Call.PIPE, Call.PIPE2) and len(new) == 2:
        info = linked.endpoints.get(new[0][1].inode)
        pipe = group_title(info.group, lang) if info and info.group else tr("pipe", lang)
        return tr("pipe_ends", lang, pipe=pipe, r=names[0], w=names[1])
    if event.call is Call.SOCKETPAIR and len(new) == 2:
        info = linked.endpoints.get(new[0][1].inode)
        pair = group_title(info.group, lang) if info and info.group else tr("socketpair", lang)
        return tr("pair_ends_fds", lang, pair=pair, a=names[0], b=names[1])
    return ", ".join(
        f"{name}: {meaning_of(linked, h.inode, h.end, lang)}" for name, (_, h) in zip(names, new, strict=True)
    )


def _holds(table: Mapping[Fd, Held], linked: LinkedTrace, lang: Lang) -> tuple[str, ...]:
    lines = []
    for fd in sorted(table):
        held = table[fd]
        what = meaning_of(linked, held.inode, held.end, lang)
        if what:
            lines.append(f"{held.expr or fd} = {fd}: {what}" if held.expr else f"{fd}: {what}")
    return tuple(lines)


def _site(event: Event) -> Site | None:
    return getattr(event, "site", None)


def follow_descriptors(trace: Trace, linked: LinkedTrace, lang: Lang) -> Descriptors:
    """Walk every process's calls in order, keeping its descriptor table (see the module docstring)."""
    state = _Tables({}, {})
    meaning: dict[EventKey, str] = {}
    expr: dict[EventKey, str] = {}
    created: dict[EventKey, str] = {}
    holds: dict[EventKey, tuple[str, ...]] = {}
    for proc in sorted(trace.processes, key=lambda p: p.start):
        for event in sorted(trace.events_of(proc.pid), key=lambda e: e.seq):
            table = state.of(event)
            words = read_site(_site(event), event.call)
            _name_use(event, table, words.fd, linked, lang, meaning, expr)
            if event.failed:
                continue
            new = _new(event, table, words.created)
            for fd, held in new:
                table[fd] = held
            if new:
                created[event.key] = _created(event, new, linked, lang)
            _change(event, table, state, holds, linked, lang)
    return Descriptors(meaning, expr, created, holds)


def _name_use(
    event: Event,
    table: dict[Fd, Held],
    site_expr: str | None,
    linked: LinkedTrace,
    lang: Lang,
    meaning: dict[EventKey, str],
    expr: dict[EventKey, str],
) -> None:
    if event.fd is None or event.fd < 0:
        return
    key = event.key
    held = table.get(event.fd)
    if held is None and event.endpoint is not None:  # inherited from outside the run: learn it from its use
        end = linked.pipe_ends.get(key, "")
        held = table[event.fd] = Held(event.endpoint.inode, end)
    if held is None:
        return
    if site_expr and site_expr != held.expr and not site_expr.isdigit():
        held = table[event.fd] = replace(held, expr=site_expr)
    what = meaning_of(linked, held.inode, held.end or linked.pipe_ends.get(key, ""), lang)
    if what:
        meaning[key] = what
    if held.expr:
        expr[key] = held.expr


def _change(
    event: Event,
    table: dict[Fd, Held],
    state: _Tables,
    holds: dict[EventKey, tuple[str, ...]],
    linked: LinkedTrace,
    lang: Lang,
) -> None:
    if event.call is Call.CLOSE and event.fd is not None:
        table.pop(event.fd, None)
    elif event.call is Call.DUP2 and event.fd in table and isinstance(event.result, int):
        table[event.result] = table[event.fd]
    elif event.call is Call.FORK and isinstance(event.result, int) and event.result > 0:
        state.at_fork[event.result] = dict(table)
        holds[event.key] = _holds(table, linked, lang)
