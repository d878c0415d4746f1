"""File descriptor tables: which end of a pipe an fd is, and when each pipe end or socket was let go.

Following every process's fds through pipe, socket, dup, fork, close and exit
is the only way to tell a pipe's read end from its write end, and to find the
release (close, shutdown or exit) behind an EOF or a FIN.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from ipctrace.calls import RECEIVES, Call
from ipctrace.link.helpers import done_at
from ipctrace.link.model import PipeEnd
from ipctrace.model import PIPE_KINDS, Event, EventKey, Fd, Inode, Nanos, Pid


class Held(StrEnum):
    """What an fd (or a release of one) holds of its inode."""

    READ = "r"  # a pipe's read end
    WRITE = "w"  # a pipe's write end
    SOCKET = ""  # a socket (both directions)
    SHUT = "shut"  # shutdown(SHUT_WR or SHUT_RDWR): the writing direction only
    UNKNOWN = "?"  # a pipe fd closed that was never seen being made or used


_PIPE_END = {Held.READ: PipeEnd.READ, Held.WRITE: PipeEnd.WRITE}


@dataclass(frozen=True, slots=True)
class Release:
    """An inode let go: a close, a shutdown, a dup2 over it, or its process ending with it open."""

    inode: Inode
    held: Held
    key: EventKey
    time: Nanos

    @property
    def ends_writing(self) -> bool:
        """True when this release can end the writing side of a socket (close, exit, shutdown)."""
        return self.held in (Held.SOCKET, Held.SHUT)


@dataclass(frozen=True, slots=True)
class FdFacts:
    """The pipe end each pipe event's fd was, and every release, per inode (in trace order)."""

    pipe_ends: Mapping[EventKey, PipeEnd]
    releases: Mapping[Inode, tuple[Release, ...]]


_Table = dict[Fd, tuple[Inode, Held]]


class _Follower:
    """Walks the events in time order, one fd table per process."""

    def __init__(self) -> None:
        self.tables: dict[Pid, _Table] = {}
        self.at_fork: dict[Pid, _Table] = {}
        self.last: dict[Pid, Event] = {}
        self.ends: dict[EventKey, PipeEnd] = {}
        self.releases: list[Release] = []
        self.handlers: dict[Call, Callable[[Event, _Table, Inode | None], None]] = {
            Call.PIPE: self._pipe,
            Call.PIPE2: self._pipe,
            Call.SOCKETPAIR: self._socketpair,
            Call.SOCKET: self._socket,
            Call.FROMFD: self._socket,
            Call.ACCEPT: self._accept,
            Call.DUP: self._dup,
            Call.DUP2: self._dup2,
            Call.FORK: self._fork,
            Call.CLOSE: self._close,
            Call.SHUTDOWN: self._shutdown,
        }

    def table_of(self, e: Event) -> _Table:
        table = self.tables.get(e.pid)
        if table is None:
            forked = e.call is Call.START and e.args.get("how") == "fork"
            table = self.tables[e.pid] = dict(self.at_fork.get(e.pid, {})) if forked else {}
        return table

    def see(self, events: Iterable[Event]) -> None:
        """Follow the fd tables through each event (in time order), and note the pipe end each one used."""
        tables, last, handlers, ends = self.tables, self.last, self.handlers, self.ends
        for e in events:
            table = tables.get(e.pid)
            if table is None:
                table = self.table_of(e)
            last[e.pid] = e
            ep = e.endpoint
            ino = None if ep is None else ep.inode
            handler = handlers.get(e.call)
            if handler is not None and e.error is None:
                handler(e, table, ino)
            if e.fd is not None and ino is not None and ep.kind in PIPE_KINDS:  # type: ignore[union-attr]
                entry = table.get(e.fd)
                end = None if entry is None else _PIPE_END.get(entry[1])
                if end is not None:  # a pipe end already known (the common case): say which
                    ends[e.key] = end
                    continue
                self._note_pipe_end(e, table, ino)

    def _note_pipe_end(self, e: Event, table: _Table, ino: Inode) -> None:
        assert e.fd is not None
        entry = table.get(e.fd)
        if entry is None and e.call is not Call.CLOSE:  # an fd inherited from outside: learn it from its use
            held = Held.READ if e.call in RECEIVES else Held.WRITE if e.moves_data_out or e.call is Call.WRITE else None
            if held is not None:
                table[e.fd] = entry = (ino, held)
        if entry is not None and entry[1] in _PIPE_END:
            self.ends[e.key] = _PIPE_END[entry[1]]
        elif e.call is Call.CLOSE and self.releases and self.releases[-1].key == e.key:
            end = _PIPE_END.get(self.releases[-1].held)
            if end is not None:
                self.ends[e.key] = end

    def _release(self, entry: tuple[Inode, Held], e: Event) -> None:
        self.releases.append(Release(entry[0], entry[1], e.key, e.t0))

    def _pipe(self, e: Event, table: _Table, ino: Inode | None) -> None:
        if ino is not None and len(e.fds) == 2:
            table[e.fds[0]], table[e.fds[1]] = (ino, Held.READ), (ino, Held.WRITE)

    def _socketpair(self, e: Event, table: _Table, ino: Inode | None) -> None:
        if ino is not None and len(e.fds) == 2:
            table[e.fds[0]] = (ino, Held.SOCKET)
            if e.peer_endpoint is not None:
                table[e.fds[1]] = (e.peer_endpoint.inode, Held.SOCKET)

    def _socket(self, e: Event, table: _Table, ino: Inode | None) -> None:
        if ino is not None and len(e.fds) == 1:
            table[e.fds[0]] = (ino, Held.SOCKET)

    def _accept(self, e: Event, table: _Table, ino: Inode | None) -> None:
        if e.peer_endpoint is not None and len(e.fds) == 1:
            table[e.fds[0]] = (e.peer_endpoint.inode, Held.SOCKET)

    def _dup(self, e: Event, table: _Table, ino: Inode | None) -> None:
        if len(e.fds) == 1 and e.fd in table:
            table[e.fds[0]] = table[e.fd]

    def _dup2(self, e: Event, table: _Table, ino: Inode | None) -> None:
        if len(e.fds) != 1 or e.fd not in table:
            return
        new = e.fds[0]
        if new in table and new != e.fd:
            self._release(table[new], e)
        table[new] = table[e.fd]

    def _fork(self, e: Event, table: _Table, ino: Inode | None) -> None:
        if isinstance(e.result, int) and e.result > 0:
            self.at_fork[e.result] = dict(table)

    def _close(self, e: Event, table: _Table, ino: Inode | None) -> None:
        if e.fd is None:
            return
        entry = table.pop(e.fd, None)
        if entry is None and ino is not None and e.endpoint is not None:
            entry = (ino, Held.SOCKET if not e.endpoint.kind.is_pipe else Held.UNKNOWN)
        if entry is not None:
            self._release(entry, e)

    def _shutdown(self, e: Event, table: _Table, ino: Inode | None) -> None:
        if ino is not None and e.args.get("how") in (1, 2):
            self._release((ino, Held.SHUT), e)

    def finish(self) -> FdFacts:
        """Every fd still open when its process ended is released by that end (the kernel closes it)."""
        for pid, table in self.tables.items():
            end_event = self.last[pid]
            for inode, held in table.values():
                self.releases.append(Release(inode, held, end_event.key, done_at(end_event)))
        by_inode: dict[Inode, list[Release]] = defaultdict(list)
        for rel in self.releases:
            by_inode[rel.inode].append(rel)
        return FdFacts(self.ends, {ino: tuple(rels) for ino, rels in by_inode.items()})


def follow_fds(events: Iterable[Event]) -> FdFacts:
    """Follow every process's fd table through pipe, socket, dup, fork, close and exit (events in time order).

    Gives the pipe end of each pipe event's fd, and every release of a pipe
    end or socket: a close of one fd, a shutdown for writing, or a process
    ending with the fd still open (fork copied fds are closed by the kernel
    then, even after `os._exit`).
    """
    follower = _Follower()
    follower.see(events)
    return follower.finish()
