"""From what a run left behind (recorder lines, exit statuses, packets) to one `Trace`.

Pure functions: the session collects the facts, this module puts them in the
data model. Processes get their roles here: a scenario's role for each process
ipctrace started, and `<parent role>/child#k` for the k-th child a process
started (by fork or by starting another Python program).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from ipctrace.calls import CONTROL, Call
from ipctrace.model import Event, ExitStatus, Header, Packet, Pid, Process, Trace
from ipctrace.perf import gc_paused
from ipctrace.tracefile import EventDecoder

#: Recorder lines that steer the run but are not part of the trace.
CONTROL_CALLS = CONTROL


def build_events(raw: Iterable[Mapping[str, Any]]) -> list[Event]:
    """Events in recording order, numbered per process; control markers dropped."""
    next_seq: dict[Pid, int] = defaultdict(int)
    events = []
    decoder = EventDecoder()
    for obj in raw:
        if obj.get("call") in CONTROL_CALLS:
            continue
        pid = int(obj["pid"])
        events.append(decoder.event(dict(obj), seq=next_seq[pid]))
        next_seq[pid] += 1
    return events


def _exit_statuses(events: list[Event], reaped: Mapping[Pid, ExitStatus]) -> dict[Pid, ExitStatus]:
    """How each process ended, from the best witness: its parent's wait, ipctrace's own wait, os._exit."""
    statuses: dict[Pid, ExitStatus] = {}
    for e in events:
        if e.call is Call.EXIT and e.args.get("how") == "_exit" and isinstance(e.result, int):
            statuses[e.pid] = ExitStatus(code=e.result)
    for e in events:
        if e.reaped is not None and not e.reaped.nothing:
            statuses[e.reaped.pid] = e.reaped.status
    statuses.update(reaped)
    return statuses


def build_processes(events: list[Event], roots: Mapping[Pid, str], reaped: Mapping[Pid, ExitStatus]) -> list[Process]:
    """One Process per pid seen, with its role, start, end and exit status."""
    by_pid: dict[Pid, list[Event]] = defaultdict(list)
    for e in events:
        by_pid[e.pid].append(e)
    # A child can die before it records anything (killed right after fork): its parent's fork names it.
    forked_by: dict[Pid, Event] = {
        e.result: e for e in events if e.call is Call.FORK and isinstance(e.result, int) and e.result > 0
    }
    starts = {pid: evs[0].t0 for pid, evs in by_pid.items()}
    starts.update({pid: f.t1 or f.t0 for pid, f in forked_by.items() if pid not in by_pid})
    parent_of = {pid: evs[0].ppid for pid, evs in by_pid.items()}
    parent_of.update({pid: f.pid for pid, f in forked_by.items() if pid not in by_pid})
    parent_of.update(_spawners(events, by_pid, parent_of, roots))
    statuses = _exit_statuses(events, reaped)

    roles: dict[Pid, str] = dict(roots)
    children: dict[Pid, list[Pid]] = defaultdict(list)
    # Children are numbered in the order their parent made them: by its fork() when forked, else by start.
    born = {pid: (forked_by[pid].t0 if pid in forked_by else starts[pid]) for pid in starts}
    for pid in sorted(starts, key=lambda p: born[p]):
        if pid not in roles and parent_of[pid] in starts:
            children[parent_of[pid]].append(pid)

    def role_of(pid: Pid) -> str:
        if pid not in roles:
            ppid = parent_of[pid]
            roles[pid] = f"{role_of(ppid)}/child#{children[ppid].index(pid) + 1}" if ppid in starts else f"pid {pid}"
        return roles[pid]

    processes = []
    for pid in sorted(starts, key=lambda p: starts[p]):
        evs = by_pid.get(pid, [])
        if not evs:
            parent_argv = by_pid[parent_of[pid]][0].args.get("argv", ()) if parent_of[pid] in by_pid else ()
            processes.append(
                Process(
                    pid=pid,
                    ppid=parent_of[pid],
                    role=role_of(pid),
                    argv=tuple(parent_argv),
                    start=starts[pid],
                    end=starts[pid],
                    exit=statuses.get(pid),
                    forked=True,
                )
            )
            continue
        first = evs[0]
        forked = first.call is Call.START and first.args.get("how") == "fork"
        argv: tuple[str, ...] = ()
        if first.call is Call.START and "argv" in first.args:
            argv = tuple(first.args["argv"])
        elif forked and first.ppid in by_pid:
            argv = tuple(by_pid[first.ppid][0].args.get("argv", ()))
        last = evs[-1]
        processes.append(
            Process(
                pid=pid,
                ppid=parent_of[pid],
                role=role_of(pid),
                argv=argv,
                start=first.t0,
                end=last.t1 if last.t1 is not None else last.t0,
                exit=statuses.get(pid),
                forked=forked,
            )
        )
    return processes


def _spawners(
    events: list[Event], by_pid: Mapping[Pid, list[Event]], parent_of: Mapping[Pid, Pid], roots: Mapping[Pid, str]
) -> dict[Pid, Pid]:
    """Parents of processes whose recorded parent is not in the trace: a daemon whose parent ended before it
    started recording (its parent is then ipctrace, its subreaper). The process that spawned the same argv
    just before it started is its parent."""
    spawns = [e for e in events if e.call is Call.SPAWN and e.args.get("argv")]
    found: dict[Pid, Pid] = {}
    for pid, evs in by_pid.items():
        first = evs[0]
        if pid in roots or parent_of[pid] in by_pid or first.call is not Call.START or "argv" not in first.args:
            continue
        argv = list(first.args["argv"])
        candidates = [s for s in spawns if list(s.args["argv"]) == argv and s.t0 <= first.t0 and s.pid != pid]
        if candidates:
            spawn = max(candidates, key=lambda s: s.t0)
            spawns.remove(spawn)
            found[pid] = spawn.pid
    return found


def build_trace(
    header: Header,
    raw_events: Iterable[Mapping[str, Any]],
    roots: Mapping[Pid, str] | None = None,
    reaped: Mapping[Pid, ExitStatus] | None = None,
    packets: Iterable[Packet] = (),
) -> Trace:
    with gc_paused():
        return _build_trace(header, raw_events, roots, reaped, packets)


def _build_trace(
    header: Header,
    raw_events: Iterable[Mapping[str, Any]],
    roots: Mapping[Pid, str] | None,
    reaped: Mapping[Pid, ExitStatus] | None,
    packets: Iterable[Packet],
) -> Trace:
    events = build_events(raw_events)
    events = _place_blocked(events)
    processes = build_processes(events, roots or {}, reaped or {})
    events.sort(key=lambda e: (e.t0, e.pid, e.seq))
    return Trace(header=header, processes=tuple(processes), events=tuple(events), packets=tuple(packets))


def _place_blocked(events: list[Event]) -> list[Event]:
    """A call still blocked at the end began after its process's previous event returned."""
    last_t: dict[Pid, int] = {}
    out = []
    for e in events:
        if e.blocked and e.pid in last_t and e.t0 > last_t[e.pid]:
            e = e._replace(t0=last_t[e.pid])
        out.append(e)
        last_t[e.pid] = e.t1 if e.t1 is not None else e.t0
    return out
