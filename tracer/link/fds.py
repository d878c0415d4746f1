"""File descriptor tables: which end of a pipe an fd is, and when each pipe end or socket was let go.

Following every process's fds through pipe, socket, dup, fork, close and exit
is the only way to tell a pipe's read end from its write end, and to find the
release (close, shutdown or exit) behind an EOF or a FIN.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ipctrace.link.helpers import _done, _ino
from ipctrace.link.model import Inode
from ipctrace.model import RECV_CALLS, Event, EventKey, Nanos, Pid


@dataclass(frozen=True, slots=True)
class _Release:
    inode: Inode
    end: str  # "r"/"w" for a pipe, "" for a socket; "shut" for shutdown(SHUT_WR/RDWR)
    key: EventKey
    time: Nanos


def _fd_tables(events: Sequence[Event]) -> tuple[dict[EventKey, str], list[_Release]]:
    """Follow every process's fd table through pipe, socket, dup, fork, close and exit.

    Returns the pipe end ("r"/"w") of each pipe event's fd, and every release
    of a pipe end or socket: a close of one fd, a shutdown for writing, or a
    process ending with the fd still open (fork copied fds are closed by the
    kernel then, even after `os._exit`).
    """
    tables: dict[Pid, dict[int, tuple[Inode, str]]] = {}
    at_fork: dict[Pid, dict[int, tuple[Inode, str]]] = {}
    last: dict[Pid, Event] = {}
    ends: dict[EventKey, str] = {}
    releases: list[_Release] = []
    for e in events:
        if e.pid not in tables:
            forked = e.call == "start" and e.args.get("how") == "fork"
            tables[e.pid] = dict(at_fork.get(e.pid, {})) if forked else {}
        table = tables[e.pid]
        last[e.pid] = e
        ino = _ino(e.endpoint)
        res = e.result
        if e.failed:
            pass
        elif e.call in ("pipe", "pipe2") and ino and isinstance(res, list):
            table[res[0]], table[res[1]] = (ino, "r"), (ino, "w")
        elif e.call == "socketpair" and ino and isinstance(res, list):
            table[res[0]] = (ino, "")
            if e.peer_endpoint is not None:
                table[res[1]] = (_ino(e.peer_endpoint), "")  # type: ignore[assignment]
        elif e.call in ("socket", "fromfd") and ino and isinstance(res, int):
            table[res] = (ino, "")
        elif e.call == "accept" and e.peer_endpoint is not None and isinstance(res, int):
            table[res] = (_ino(e.peer_endpoint), "")  # type: ignore[assignment]
        elif e.call == "dup" and isinstance(res, int) and e.fd in table:
            table[res] = table[e.fd]
        elif e.call == "dup2" and isinstance(res, int) and e.fd in table:
            if res in table and res != e.fd:
                old_ino, old_end = table[res]
                releases.append(_Release(old_ino, old_end, e.key, e.t0))
            table[res] = table[e.fd]
        elif e.call == "fork" and isinstance(res, int) and res > 0:
            at_fork[res] = dict(table)
        elif e.call == "close" and e.fd is not None:
            entry = table.pop(e.fd, None)
            if entry is None and ino is not None:
                entry = (ino, "" if e.endpoint and e.endpoint.kind != "pipe" else "?")
            if entry is not None:
                releases.append(_Release(entry[0], entry[1], e.key, e.t0))
        elif e.call == "shutdown" and ino and e.args.get("how") in (1, 2):
            releases.append(_Release(ino, "shut", e.key, e.t0))
        if e.fd is not None and ino is not None and e.endpoint and e.endpoint.kind == "pipe":
            entry = table.get(e.fd)
            if entry is None and e.call != "close":  # an fd inherited from outside: learn it from its use
                end = "r" if e.call in RECV_CALLS else "w" if e.moves_data_out or e.call == "write" else ""
                if end:
                    table[e.fd] = entry = (ino, end)
            if entry is not None and entry[1] in ("r", "w"):
                ends[e.key] = entry[1]
            elif e.call == "close" and releases and releases[-1].key == e.key and releases[-1].end in ("r", "w"):
                ends[e.key] = releases[-1].end
    for pid, table in tables.items():
        end_event = last[pid]
        for inode, end in table.values():
            releases.append(_Release(inode, end, end_event.key, _done(end_event)))
    return ends, releases
