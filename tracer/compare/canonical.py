"""The canonical form of a trace: what a deterministic program does, the same in every run.

A trace is full of things a run chooses by accident: pids, fd and inode
numbers, ephemeral ports, temporary paths, timestamps, the interleaving of
processes, and how the kernel split byte streams into reads. The canonical
form keeps only what the program decides:

- each process under its role (`server`, `server/child#1`: children numbered
  in the order their parent forked them), how it started and ended; a program
  that only started another one (`env`, a wrapper script ending in `exec`,
  seen by the native recorder) is how the program was found, not what it
  does, and is left out (`_without_launchers`);
- per process, its calls in program order (thread by thread), each with a
  symbolic endpoint (`pipe#1.r`, `socketpair#1.a`, `tcp#1.client`,
  `tcp-listener#1`, `udp#2`), its key arguments, the shape of its result, its
  error and its payload (`rules.py`);
- the flows: which message went from which role to which role on which
  channel (from `ipctrace.link`);
- the packets per channel, when the run captured them.

Together these are the run's happens-before graph with every node named, and
two runs are equivalent when the graphs are the same (`equivalence.py`).
Calls made in signal handlers are kept apart, unordered (`handlers.py`).
The form is a small JSON document, one call a line, meant to be reviewed in
a pull request as a golden file (`golden.py`).

Building it is linear in the size of the trace: one walk over the events,
dictionaries for every lookup.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from ipctrace.assemble import build_processes
from ipctrace.calls import DATA_CALLS, Call
from ipctrace.compare.equivalence import (
    Unit,
    first_copies,
    joined,
    joined_flows,
    joined_segments,
    leaders,
    units,
    waits_as_sets,
)
from ipctrace.compare.form import (
    CanonicalCall,
    CanonicalFlow,
    CanonicalPacket,
    CanonicalProcess,
    CanonicalTrace,
    Packets,
)
from ipctrace.compare.handlers import asynchronous
from ipctrace.compare.identity import CallRef, Role
from ipctrace.compare.naming import Names
from ipctrace.compare.rules import canonical_call
from ipctrace.compare.text import short
from ipctrace.link import Channel, LinkedTrace, link
from ipctrace.model import EndpointKind, Event, EventKey, Pid, Process, Stream, TcpFlags, Trace
from ipctrace.perf import gc_paused

_OUTPUT_STREAMS = frozenset({Stream.STDOUT, Stream.STDERR})
#: What a launcher does before its exec: reads its own script, shuffles descriptors of files. Nothing IPC.
_LAUNCHER_CALLS = frozenset({Call.READ, Call.READV, Call.WRITE, Call.CLOSE, Call.DUP, Call.DUP2, Call.CLOSERANGE,
                             Call.OPEN, Call.EXEC})  # fmt: skip
_NOT_IPC = frozenset({EndpointKind.FILE, EndpointKind.DIR, EndpointKind.CHAR, EndpointKind.OTHER})


def canonicalize(trace: Trace, linked: LinkedTrace | None = None, *, read_boundaries: bool = False) -> CanonicalTrace:
    """The canonical form of a trace (see the module docstring for what it keeps and why).

    `read_boundaries` keeps each read on a byte stream as the kernel split
    the stream; by default consecutive reads of one stream are one.
    """
    linked = linked if linked is not None else link(trace)
    with gc_paused():  # many small acyclic objects: collections would make this grow faster than the trace
        return _canonicalize(trace, linked, read_boundaries)


def _canonicalize(trace: Trace, linked: LinkedTrace, read_boundaries: bool) -> CanonicalTrace:
    names = Names(_every_process_listed(trace), linked)
    processes = []
    all_units: list[Unit] = []
    for proc in names.order:
        process, proc_units = _process(proc, names, read_boundaries)
        processes.append(process)
        all_units += proc_units
    leader = leaders(all_units)
    return CanonicalTrace(
        processes=tuple(processes),
        flows=_flows(linked, names, leader),
        packets=None if trace.header.capture.backend == "none" else _packets(linked, names, read_boundaries),
        ending=trace.header.ending,
        scenario=trace.header.scenario,
        read_boundaries=read_boundaries,
    )


def _every_process_listed(trace: Trace) -> Trace:
    """The trace, with a process made for any events no process line lists (a hand-edited file), as assembly
    would have made it (`pid N` when no listed process started it): its calls are compared, not left out."""
    listed = {p.pid for p in trace.processes}
    if all(e.pid in listed for e in trace.events):
        return trace
    roles = {p.pid: p.role for p in trace.processes}
    made = tuple(p for p in build_processes(list(trace.events), roles, {}) if p.pid not in listed)
    return replace(trace, processes=trace.processes + made)


def _without_launchers(events: list[Event]) -> list[Event]:
    """A process's events without the program images that only started the next one.

    An image runs from a `start` to the `exec` that replaces it; one that did nothing but read files and
    move descriptors of files before that `exec` (`env FOO=1 python x.py`, `#!/bin/sh` + `exec python`)
    is dropped, its `start` with it, so a program is the same whichever way it was found.
    """
    images: list[list[Event]] = [[]]
    for e in events:
        if e.call is Call.START and e.args.get("how") == "exec" and images[-1]:
            images.append([])
        images[-1].append(e)
    kept = [
        image
        for k, image in enumerate(images)
        if k == len(images) - 1
        or not any(e.call is Call.EXEC for e in image)
        or not all(_launcher_call(e) for e in image if e.call is not Call.START)
    ]
    return [e for image in kept for e in image]


def _launcher_call(e: Event) -> bool:
    return e.call in _LAUNCHER_CALLS and (e.endpoint is None or e.endpoint.kind in _NOT_IPC)


def _process(proc: Process, names: Names, read_boundaries: bool) -> tuple[CanonicalProcess, list[Unit]]:
    trace = names.trace
    events, threads = _by_thread(_without_launchers(list(trace.events_of(proc.pid))), proc.pid)
    events = _output_lines(events, names)
    found = asynchronous(events, lambda e: names.stream(e) in _OUTPUT_STREAMS)
    started = "fork" if proc.forked else "exec" if names.roles.get(proc.ppid) is None else "unknown"
    argv = names.argv(proc.argv) if not events and not proc.forked else ()
    synchronous: list[Event] = []
    handler_calls: list[CanonicalCall] = []
    for e in events:
        if e.call is Call.START:
            started = str(e.args.get("how", started))
            argv = names.argv(e.args.get("argv", proc.argv)) if started != "fork" else ()
        elif e.key in found.handler:
            if e.key not in found.polls:
                handler_calls.append(_in_thread(canonical_call(e, names), threads.get(e.tid)))
        else:
            synchronous.append(e)
    proc_units = units(synchronous, names, read_boundaries)
    calls = [
        _in_thread(joined(canonical_call(u.leader, names), u, names), threads.get(u.leader.tid)) for u in proc_units
    ]
    process = CanonicalProcess(
        role=names.roles[proc.pid],
        parent=names.roles.get(proc.ppid),
        started=started,
        argv=argv,
        exit=None if proc.exit is None else str(proc.exit),
        calls=tuple(waits_as_sets(calls)),
        asynchronous=tuple(sorted(handler_calls, key=lambda c: c.key)),
    )
    return process, proc_units


def _in_thread(c: CanonicalCall, thread: str | None) -> CanonicalCall:
    return c if thread is None else replace(c, args=(*c.args, ("thread", thread)))


def _output_lines(evs: list[Event], names: Names) -> list[Event]:
    """A process's output as lines, however its writes cut it (buffered, unbuffered, one byte at a time).

    Consecutive writes to one output stream are joined and cut after each newline, each line the event
    of the write that began it: the form must not depend on the program's buffering (PYTHONUNBUFFERED,
    `-u`, a pipe or a terminal).
    """
    out: list[Event] = []
    run: list[Event] = []

    def flush() -> None:
        line, first, emitted = b"", run[0], False
        for e in run:
            for piece in (e.data or b"").splitlines(keepends=True) or [b""]:
                if not line:
                    first = e
                line += piece
                if line.endswith(b"\n"):
                    out.append(first._replace(data=line, size=len(line)))
                    line, emitted = b"", True
        if line or not emitted:
            out.append(first._replace(data=line, size=len(line)))
        run.clear()

    for e in evs:
        stream = names.stream(e) if e.data is not None and not e.blocked else None
        if stream in _OUTPUT_STREAMS and e.call not in (Call.STDOUT, Call.STDERR):
            if run and names.stream(run[0]) != stream:
                flush()
            run.append(e)
            continue
        if run:
            flush()
        out.append(e)
    if run:
        flush()
    return out


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
    names = {tid: f"thread#{k}" for tid, k in rank.items() if tid != pid}
    return sorted(events, key=lambda e: (rank[e.tid], e.seq)), names


# -- flows and packets ------------------------------------------------------------------------------


def _call_refs(names: Names, leader: Mapping[EventKey, EventKey]) -> dict[EventKey, CallRef]:
    """`write#2`: the k-th call of that name on that endpoint in its process, for every data call of the form."""
    refs: dict[EventKey, CallRef] = {}
    counts: dict[tuple[Pid, str, str | None], int] = {}
    for e in names.walk_events():
        if e.call not in DATA_CALLS:
            continue
        key = e.key
        first = leader.get(key)
        if first is not None and first in refs:  # a later read of a joined unit: the unit's reference
            refs[key] = refs[first]
            continue
        k = (e.pid, e.call.value, names.on(e))
        counts[k] = counts.get(k, 0) + 1
        refs[key] = CallRef(e.call.value, counts[k])
    return refs


def channel_name(ch: Channel, names: Names) -> str:
    a = names.endpoint(ch.src) if ch.src is not None else names.addr(ch.src_addr) or "?"
    b = names.endpoint(ch.dst) if ch.dst is not None else names.addr(ch.dst_addr) or "?"
    if ch.src is not None and ch.src == ch.dst:  # a pipe: one inode, both ends
        return a
    return f"{a}→{b}"


def _flows(linked: LinkedTrace, names: Names, leader: Mapping[EventKey, EventKey]) -> tuple[CanonicalFlow, ...]:
    refs = _call_refs(names, leader)
    rank = {pid: i for i, pid in enumerate(p.pid for p in names.order)}
    channels = {ch.id: channel_name(ch, names) for ch in linked.channels}
    items = []
    for f in joined_flows(linked.flows, leader):
        send, recv = (refs.get(f.send) if f.send else None), (refs.get(f.recv) if f.recv else None)
        flow = CanonicalFlow(
            channel=channels.get(f.channel, str(f.channel)),
            sender=_role_of(f.send, names),
            send=send,
            receiver=_role_of(f.recv, names),
            recv=recv,
            size=f.length,
            data=short(names.text.payload(f.data).text),
        )
        key = (
            rank.get(f.send.pid, -1) if f.send else -1,
            send.number if send else 0,
            str(send or ""),
            rank.get(f.recv.pid, -1) if f.recv else -1,
            recv.number if recv else 0,
            flow.channel,
        )
        items.append((key, flow))
    return tuple(flow for _, flow in sorted(items, key=lambda kv: kv[0]))


def _role_of(key: EventKey | None, names: Names) -> Role | None:
    return None if key is None else names.roles.get(key.pid)


def _packets(linked: LinkedTrace, names: Names, read_boundaries: bool) -> Packets:
    channels = {ch.id: channel_name(ch, names) for ch in linked.channels}
    per_channel: dict[str, list[tuple[TcpFlags, bytes]]] = {}
    for p in first_copies(sorted(linked.trace.packets, key=lambda p: p.index)):  # a retransmission: once
        plink = linked.packet_link(p.index)
        if plink is not None and plink.channel in channels:
            channel = channels[plink.channel]
        else:
            channel = f"{names.addr(p.src)}→{names.addr(p.dst)}"
        per_channel.setdefault(channel, []).append((p.flags, p.payload))
    return tuple(
        (
            ch,
            tuple(
                _packet(flags, payload, names) for flags, payload in (ps if read_boundaries else joined_segments(ps))
            ),
        )
        for ch, ps in sorted(per_channel.items())
    )


def _packet(flags: TcpFlags, payload: bytes, names: Names) -> CanonicalPacket:
    text = short(names.text.payload(payload).text) if payload else None
    return CanonicalPacket(flags=flags.letters, size=len(payload), data=text)


__all__: Sequence[str] = ("canonicalize", "channel_name")
