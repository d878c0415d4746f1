"""What each process is called on its lane: the scenario's role, and forked children named by what they do.

`server/child#2` says nothing to a student; "handler for client1" does. A
child is named from its own calls: the child that talks over a connection its
parent accepted handles that client; a child that only sends on a socket its
parent reads is the writer; one that only reads a pipe others write is that
pipe's reader. Anything else keeps the textbook's "child of main".
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from ipctrace.calls import Call
from ipctrace.link import GroupId, LinkedTrace
from ipctrace.model import Pid, Process, Trace
from ipctrace.render.i18n import group_title, tr
from ipctrace.render.options import Lang


@dataclass(frozen=True, slots=True)
class ProcessName:
    title: str
    subtitle: str
    detail: str = ""  # a third line under the subtitle: the pid, with `--pids`


@dataclass(frozen=True, slots=True)
class _Use:
    sends: frozenset[GroupId]  # channel groups this process sent on
    recvs: frozenset[GroupId]
    accepted: frozenset[GroupId]  # connection groups whose server end came from this process's accept()


def _uses(linked: LinkedTrace) -> dict[Pid, _Use]:
    sends: dict[Pid, set[GroupId]] = defaultdict(set)
    recvs: dict[Pid, set[GroupId]] = defaultdict(set)
    for ch in linked.channels:
        for key in ch.sends:
            sends[key.pid].add(ch.group)
        for key in ch.recvs:
            recvs[key.pid].add(ch.group)
    accepted: dict[Pid, set[GroupId]] = defaultdict(set)
    for conn in linked.connections:
        if conn.accept is not None:
            accepted[conn.accept.pid].add(conn.group)
    pids = set(sends) | set(recvs) | set(accepted)
    return {pid: _Use(frozenset(sends[pid]), frozenset(recvs[pid]), frozenset(accepted[pid])) for pid in pids}


def _peer_role(linked: LinkedTrace, group: GroupId, roles: Mapping[Pid, str], own: set[Pid]) -> str | None:
    """The role at the other end of a connection: the process (not in `own`) that used it."""
    for ch in linked.channels:
        if ch.group != group:
            continue
        for key in (*ch.sends, *ch.recvs):
            if key.pid not in own and key.pid in roles:
                return roles[key.pid]
    return None


def _top_role(role: str) -> str:
    return role.split("/", 1)[0]


def _child_title(proc: Process, trace: Trace, linked: LinkedTrace, uses: Mapping[Pid, _Use], lang: Lang) -> str:
    parent = trace.process(proc.ppid)
    parent_name = role_word(_top_role(proc.role), lang) if parent is None else role_word(parent.role, lang)
    use = uses.get(proc.pid, _Use(frozenset(), frozenset(), frozenset()))
    parent_use = uses.get(proc.ppid, _Use(frozenset(), frozenset(), frozenset()))
    roles = {p.pid: _top_role(p.role) for p in trace.processes}
    served = sorted((use.sends | use.recvs) & parent_use.accepted)
    if served:
        family = {p.pid for p in trace.processes if _top_role(p.role) == _top_role(proc.role)}
        peer = _peer_role(linked, served[0], roles, family)
        return tr("handler_for", lang, peer=role_word(peer, lang)) if peer else tr("handler", lang)
    kinds = {ch.group: ch.kind for ch in linked.channels}
    if use.sends and not use.recvs and use.sends <= parent_use.recvs and all(kinds[g] != "pipe" for g in use.sends):
        return tr("writer_of", lang, parent=parent_name)
    if use.recvs and not use.sends and all(kinds[g] == "pipe" for g in use.recvs):
        writers = {k.pid for ch in linked.channels if ch.group in use.recvs for k in ch.sends}
        if writers and proc.ppid not in writers:
            return tr("reader_of", lang, what=group_title(sorted(use.recvs)[0], lang))
    siblings = [p for p in trace.processes if p.ppid == proc.ppid and p.forked]
    if len(siblings) > 1:
        return tr("child_n_of", lang, n=siblings.index(proc) + 1, parent=parent_name)
    return tr("child_of", lang, parent=parent_name)


def role_word(role: str, lang: Lang) -> str:
    """A role as the notes call it: `server` → 서버 in Korean; other names unchanged."""
    if role in ("server", "client"):
        return tr(role, lang)
    return role


def process_names(trace: Trace, linked: LinkedTrace, lang: Lang, pids: bool) -> dict[Pid, ProcessName]:
    """Every process's lane title and subtitle (`handler for client1`, `child of server`), and its pid when asked."""
    uses = _uses(linked)
    parents = {p.ppid for p in trace.processes}
    forks = {e.pid for e in trace.events if e.call is Call.FORK and not e.failed}
    names: dict[Pid, ProcessName] = {}
    for proc in trace.processes:
        forked = proc.forked or "/child#" in proc.role
        if forked:
            title = _child_title(proc, trace, linked, uses, lang)
            kind = tr("child", lang)
            parent = trace.process(proc.ppid)
            if parent is not None and role_word(parent.role, lang) not in title:
                kind = tr("child_of", lang, parent=role_word(parent.role, lang))
        else:
            title = role_word(proc.role, lang)
            kind = tr("parent", lang) if proc.pid in parents and proc.pid in forks else tr("process", lang)
        names[proc.pid] = ProcessName(title, kind, f"pid {proc.pid}" if pids else "")
    return names
