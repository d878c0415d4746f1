"""Who is who in a run, from its records as they come: each process's role and parent, the endpoints seen.

Every record the supervisor reads passes here first (`Lineage.note`). A process gets its role when it is
first seen: its parent's, or for an orphan that ipctrace (the subreaper) adopted, the role whose recorded
spawn started its program. A forked child is given its parent's role from the parent's `fork` record, before
it records anything itself. The endpoints seen name the kinds of descriptors the calls blocked at the end
were waiting on, and the UDP sockets whose drop counters the run watches.
"""

from __future__ import annotations

import os
from typing import Any

import ipctrace.session.waits as waits
from ipctrace.model import Pid

ORPHAN = ""  # the role of a process re-parented to ipctrace that no recorded spawn explains


class Lineage:
    """What the records so far say about the run's processes (`note` each record in the order read)."""

    def __init__(self) -> None:
        self.role_of: dict[Pid, str] = {}
        self.ppid_of: dict[Pid, Pid] = {}
        self.kinds: dict[tuple[int, int], str] = {}  # endpoint (dev, inode) -> its kind
        self.last_event_t1: dict[Pid, int] = {}
        self.udp_sockets: dict[int, Pid] = {}  # UDP socket inode -> a process that used it
        self._spawned: dict[tuple[str, ...], str] = {}  # argv of a recorded spawn -> the spawner's role

    def note(self, obj: dict[str, Any]) -> Pid:
        """Take one record in; returns the pid that made it."""
        pid, ppid = int(obj["pid"]), int(obj.get("ppid", 0))
        self._adopt(pid, ppid, obj)
        if obj.get("t1") is not None:
            self.last_event_t1[pid] = int(obj["t1"])
        self._note_endpoint(pid, obj.get("ep"))
        call = obj.get("call")
        role = self.role_of.get(pid)
        if call == "fork" and isinstance(obj.get("res"), int) and obj["res"] > 0 and role is not None:
            self.role_of.setdefault(obj["res"], role)  # known before the child records anything
        if call == "spawn" and role is not None:
            self._spawned[tuple((obj.get("args") or {}).get("argv") or ())] = role
        return pid

    def _adopt(self, pid: Pid, ppid: Pid, obj: dict[str, Any]) -> None:
        """Give a newly seen process its role: its parent's, or for an orphan re-parented to ipctrace, its spawner's."""
        self.ppid_of.setdefault(pid, ppid)
        if pid in self.role_of:
            return
        if ppid in self.role_of:
            self.role_of[pid] = self.role_of[ppid]
        elif ppid == os.getpid():  # its parent is gone and ipctrace, the subreaper, adopted it
            argv = tuple((obj.get("args") or {}).get("argv") or ())
            self.role_of[pid] = self._spawned.get(argv, ORPHAN)

    def _note_endpoint(self, pid: Pid, ep: Any) -> None:
        if not ep:
            return
        self.kinds[(ep[0], ep[1])] = ep[2]
        if str(ep[2]).startswith("udp"):
            self.udp_sockets.setdefault(int(ep[1]), pid)

    def blocked_record(self, pid: Pid, call: waits.Blocked) -> dict[str, Any]:
        """The record of a call /proc shows `pid` blocked in at the end (`waits.blocked_record`)."""
        return waits.blocked_record(
            pid, call, ppid=self.ppid_of.get(pid, 0), since=self.last_event_t1.get(pid), kinds=self.kinds
        )


__all__ = ["ORPHAN", "Lineage"]
