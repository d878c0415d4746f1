"""`--format perfetto`: a Chrome JSON trace (Trace Event Format) for Perfetto UI and chrome://tracing, every scenario.

Validated against the format as the viewers read it: required fields per
phase, process and thread names, timestamps in order on every track,
complete slices properly nested on their thread, and every flow start
bound inside a slice with exactly one finish bound inside another.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict

import pytest

from ipctrace.cli import main
from ipctrace.render import RenderOptions, render_outputs
from ipctrace.render.perfetto import WIRE_PID
from tests.render_support import scenario_runs

PHASES = {"X", "M", "s", "f"}


@pytest.fixture(scope="module")
def traces(tmp_path_factory):
    root = tmp_path_factory.mktemp("perfetto")
    out = {}
    for name, ordered in scenario_runs(tmp_path_factory).items():
        path = render_outputs(ordered, root / name, RenderOptions(), formats=("perfetto",))["perfetto"]
        assert path.name == "sequence.perfetto.json"
        out[name] = (ordered, json.loads(path.read_text(encoding="utf-8")))
    return out


def _ns(micros: float) -> int:
    return round(micros * 1000)


def validate(doc: dict) -> None:
    """The checks of the module docstring; an AssertionError says which event broke which rule."""
    events = doc["traceEvents"]
    assert isinstance(events, list) and events
    names = {(e["pid"], e["args"]["name"]) for e in events if e["ph"] == "M" and e["name"] == "process_name"}
    threads = {(e["pid"], e["tid"]) for e in events if e["ph"] == "M" and e["name"] == "thread_name"}
    tracks: dict[tuple[int, int], list[dict]] = defaultdict(list)
    for e in events:
        assert e["ph"] in PHASES, e
        assert isinstance(e["pid"], int) and isinstance(e["tid"], int) and isinstance(e["name"], str), e
        if e["ph"] == "M":
            assert e["name"] in ("process_name", "thread_name", "process_sort_index") and "args" in e, e
            continue
        assert isinstance(e["ts"], int | float) and e["ts"] >= 0, e
        assert "cat" in e, e
        if e["ph"] == "X":
            assert isinstance(e["dur"], int | float) and e["dur"] >= 0, e
        else:
            assert isinstance(e["id"], int), e
        tracks[(e["pid"], e["tid"])].append(e)
    named = {pid for pid, _ in names}
    for (pid, tid), items in tracks.items():
        assert pid in named, f"process {pid} has no name"
        assert (pid, tid) in threads, f"thread {pid}/{tid} has no name"
        stamps = [e["ts"] for e in items]
        assert stamps == sorted(stamps), f"timestamps out of order on track {pid}/{tid}"
        # slices are nested: each starts after the enclosing one did and ends inside it. Compared in whole
        # nanoseconds, as the viewers read the microsecond floats (a call may start the nanosecond the last ended)
        open_ends: list[int] = []
        for e in (x for x in items if x["ph"] == "X"):
            begin, end = _ns(e["ts"]), _ns(e["ts"]) + _ns(e["dur"])
            while open_ends and begin >= open_ends[-1]:
                open_ends.pop()
            assert not open_ends or end <= open_ends[-1], f"slice {e['name']} at {e['ts']} overlaps its parent"
            open_ends.append(end)
    slices = {
        track: [(e["ts"], e["ts"] + e["dur"]) for e in items if e["ph"] == "X"] for track, items in tracks.items()
    }

    def bound(e: dict) -> bool:
        return any(a < e["ts"] < b for a, b in slices.get((e["pid"], e["tid"]), ()))

    starts = {e["id"]: e for e in events if e["ph"] == "s"}
    finishes = Counter(e["id"] for e in events if e["ph"] == "f")
    assert len(starts) == sum(1 for e in events if e["ph"] == "s"), "flow ids are unique"
    for e in events:
        if e["ph"] == "f":
            start = starts.get(e["id"])
            assert start is not None, f"flow {e['id']} finishes without a start"
            assert (start["cat"], start["name"]) == (e["cat"], e["name"]), e
            assert e.get("bp") == "e" and e["ts"] >= start["ts"], e
            assert bound(e), f"flow {e['id']} finish is inside no slice"
        if e["ph"] == "s":
            assert finishes[e["id"]] == 1, f"flow {e['id']} has {finishes[e['id']]} finishes"
            assert bound(e), f"flow {e['id']} start is inside no slice"


def test_every_scenario_is_a_valid_trace_event_file(traces):
    for name, (_ordered, doc) in sorted(traces.items()):
        try:
            validate(doc)
        except AssertionError as exc:
            raise AssertionError(f"{name}: {exc}") from None


def test_tracks_calls_and_messages_are_the_runs(traces):
    for name, (ordered, doc) in sorted(traces.items()):
        events = doc["traceEvents"]
        trace = ordered.trace
        slices = [e for e in events if e["ph"] == "X" and e["pid"] != WIRE_PID]
        assert len(slices) == len(trace.events), name
        assert {(e["pid"], e["tid"]) for e in slices} == {(e.pid, e.tid) for e in trace.events}, name
        processes = {e["pid"]: e["args"]["name"] for e in events if e["ph"] == "M" and e["name"] == "process_name"}
        for proc in trace.processes:
            assert proc.role in processes[proc.pid], (name, proc.role)
        flows = [f for f in ordered.linked.flows if f.send is not None and f.recv is not None and f.send != f.recv]
        started = sum(1 for e in events if e["ph"] == "s")
        assert started >= len(flows) * 0.9 and started <= len(flows), (name, started, len(flows))
        packets = [e for e in events if e["pid"] == WIRE_PID and e["ph"] == "X"]
        assert len(packets) == len(trace.packets), name


def test_a_message_flows_from_the_sending_slice_to_the_receiving_one(traces):
    ordered, doc = traces["pipe3"]
    events = doc["traceEvents"]
    flow = next(f for f in ordered.linked.flows if f.data.startswith(b"Who are you?"))
    send, recv = ordered.trace.event(flow.send), ordered.trace.event(flow.recv)
    start = next(e for e in events if e["ph"] == "s" and e["pid"] == send.pid)
    finish = next(e for e in events if e["ph"] == "f" and e["id"] == start["id"])
    assert finish["pid"] == recv.pid and finish["tid"] == recv.tid
    write = next(e for e in events if e["ph"] == "X" and e["args"].get("seq") == send.seq and e["pid"] == send.pid)
    assert write["ts"] < start["ts"] < write["ts"] + write["dur"]
    assert "Who are you?" in write["args"]["data"]


def test_the_cli_writes_it(traces, tmp_path):
    ordered, _doc = traces["tcp_chat"]
    from ipctrace.tracefile import write_trace

    path = tmp_path / "trace.jsonl"
    write_trace(ordered.trace, path)
    assert main(["render", str(path), "--format", "perfetto"]) == 0
    validate(json.loads((tmp_path / "sequence.perfetto.json").read_text(encoding="utf-8")))


def test_packets_closer_than_a_slice_still_nest(traces, tmp_path):
    """Two segments of one connection 0.2 µs apart (a FIN and its ACK can be): their slices must not overlap."""
    from dataclasses import replace

    from ipctrace.order import analyse

    ordered, _ = traces["tcp_hello"]
    trace = ordered.trace
    packets = sorted(trace.packets, key=lambda p: p.ts)
    assert len(packets) >= 2
    squeezed = [replace(p, ts=packets[0].ts + 200 * i) for i, p in enumerate(packets)]  # every one 0.2 µs apart
    close = analyse(replace(trace, packets=tuple(squeezed)))
    path = render_outputs(close, tmp_path, RenderOptions(), formats=("perfetto",))["perfetto"]
    doc = json.loads(path.read_text(encoding="utf-8"))
    validate(doc)
    wire = [e for e in doc["traceEvents"] if e.get("pid") == WIRE_PID and e.get("ph") == "X"]
    assert len(wire) == len(packets) and all(e["dur"] <= 0.2 for e in wire[:-1])
