"""Comparing traces: golden traces of every reference scenario, the diff on real program variants, the plugin.

Every trace here comes from a real run. The "different" runs are small
programs in tests/programs/compare_*.py with a flag that changes one thing,
or a scenario with another script, never a hand-edited JSON file.

Regenerate the goldens in tests/golden/ with `pytest tests/test_compare.py
--ipctrace-update`.
"""

from __future__ import annotations

import json
import re
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from ipctrace.compare import (
    CanonicalTrace,
    canonicalize,
    diff_canonical,
    diff_traces,
    dumps,
    load,
    loads,
    without,
)
from ipctrace.compare.runner import run_canonical
from ipctrace.model import Trace
from ipctrace.scenarios import adhoc_scenario, builtin_scenarios, find_scenario
from tests.conftest import require_capture

pytest_plugins = ["pytester"]  # the `ipctrace` fixture comes from the installed pytest11 entry point

HERE = Path(__file__).parent
GOLDEN = HERE / "golden"
PROGRAMS = HERE / "programs"
SCENARIOS = sorted(builtin_scenarios())

#: Golden checks repeated this many times in a row: no flakiness from scheduling, pids, ports or timing.
#: Only the fast scenarios (about 0.15 s a run) go 20 times; pipe2 and pipe3 sleep 3 s by design, and
#: pipe2_nosleep and udp_file end only after 1 s without progress, so they run once (the suite must stay
#: well under its time budget on 2 cores).
REPEAT = {
    name: 20 for name in ("socketpair_single", "socketpair_fork", "pipe1", "unix_stream", "tcp_hello", "udp_hello")
}


def _program(name: str, *args: str, env: dict[str, str] | None = None):
    """A tests/programs file as a one-role scenario that reads no terminal."""
    from dataclasses import replace

    command = [sys.executable, str(PROGRAMS / name), *args]
    if env:
        command = ["env", *(f"{k}={v}" for k, v in env.items()), *command]
    scenario = adhoc_scenario(command, name=Path(name).stem)
    return replace(scenario, roles=(replace(scenario.roles[0], interactive=False),))


# -- golden traces of the reference scenarios --------------------------------------------------------


def test_every_reference_scenario_has_a_golden_trace():
    assert sorted(p.stem for p in GOLDEN.glob("*.json")) == SCENARIOS


@pytest.mark.parametrize("name", SCENARIOS)
def test_golden_trace_matches_consecutive_runs(ipctrace, name):
    runs = 1 if ipctrace.update else REPEAT.get(name, 1)
    for _ in range(runs):
        ipctrace.assert_matches(name, name=name)  # tests/golden/NAME.json: the golden of each course example
        assert ipctrace.last_run is not None and ipctrace.last_run.ok, ipctrace.last_run.message


def test_golden_files_are_readable_json_with_one_call_a_line():
    text = (GOLDEN / "pipe3.json").read_text(encoding="utf-8")
    assert json.loads(text)["format"] == "ipctrace-canonical/1"
    assert '        {"call": "fork", "result": "main/child#1"},\n' in text
    assert '{"call": "read", "on": "pipe#1.r", "max": 30, "size": 13, "data": "Who are you?\\\\x00"}' in text


def test_canonical_form_has_no_pids_ports_or_inodes(tmp_path):
    result, canonical = run_canonical("tcp_hello", tmp_path / "tcp_hello")
    text = dumps(canonical)
    trace = result.trace
    numbers = {p.pid for p in trace.processes} | {result.port}
    numbers |= {e.endpoint.ino for e in trace.events if e.endpoint is not None}
    numbers |= {e.local.port for e in trace.events if e.local is not None and e.local.port}
    found = {int(n) for n in re.findall(r"\d+", text)}
    assert not numbers & found, f"run-chosen numbers left in the canonical form: {numbers & found}"
    assert "127.0.0.1:PORT" in text and "127.0.0.1:EPHEMERAL#1" in text


def test_load_reads_traces_output_folders_and_golden_files_alike(tmp_path):
    result, canonical = run_canonical("socketpair_fork", tmp_path / "socketpair_fork")
    assert load(result.trace_path) == canonical
    assert load(result.outdir) == canonical
    assert loads(dumps(canonical)) == canonical
    assert load(GOLDEN / "socketpair_fork.json") == canonical
    assert "[parent:main] From Child" in dumps(canonical)  # the pid the program printed, as a role


# -- what the diff says ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def family(tmp_path_factory) -> CanonicalTrace:
    """The plain run of compare_family.py, compared with each variant."""
    return run_canonical(_program("compare_family.py"), tmp_path_factory.mktemp("family") / "compare_family")[1]


def _variant(tmp_path: Path, *flags: str) -> CanonicalTrace:
    return run_canonical(_program("compare_family.py", *flags), tmp_path / "compare_family")[1]


def _started(flags: str) -> str:
    return f"main: expected to start by exec python compare_family.py; got exec python compare_family.py {flags}"


def test_diff_of_two_runs_of_the_same_program_is_empty(family, tmp_path):
    result = diff_canonical(family, _variant(tmp_path))
    assert result.equivalent, result.explain()
    assert result.explain() == "equivalent"


def test_diff_reports_a_changed_message(family, tmp_path):
    result = diff_canonical(family, _variant(tmp_path, "--message", "hullo child 1"))
    lines = [str(d) for d in result.differences]
    assert (
        "message from main (write#1) to main/child#1 (read#1) on socketpair#1.a→socketpair#1.b: "
        "expected 'hello child 1' (13 B); got 'hullo child 1' (13 B)"
    ) in lines
    assert (
        "main: expected write 'hello child 1' (13 B) on socketpair#1.a; "
        "got write 'hullo child 1' (13 B) on socketpair#1.a"
    ) in lines
    assert (
        "main/child#1: expected read 'hello child 1' (13 B) on socketpair#1.b; "
        "got read 'hullo child 1' (13 B) on socketpair#1.b"
    ) in lines


def test_diff_reports_a_missing_close(family, tmp_path):
    result = diff_canonical(family, _variant(tmp_path, "--no-close"))
    assert [str(d) for d in result.differences] == [
        _started("--no-close"),
        "main/child#1: expected close socketpair#1.b before exit (_exit, code 0); got exit (_exit, code 0)",
    ]


def test_diff_reports_two_calls_swapped_within_a_process(family, tmp_path):
    result = diff_canonical(family, _variant(tmp_path, "--swap"))
    assert [str(d) for d in result.differences] == [
        _started("--swap"),
        "main: expected write 'hello child 1' (13 B) on socketpair#1.a before write 'hello child 2' (13 B) on "
        "socketpair#2.a; got them swapped",
    ]
    assert not result.of_kind("flow"), "the same bytes still went the same way"


def test_diff_reports_a_message_sent_to_the_wrong_peer(family, tmp_path):
    result = diff_canonical(family, _variant(tmp_path, "--wrong-peer"))
    assert [str(d) for d in result.of_kind("flow")] == [
        "message 'hello child 1' (13 B) from main (write#1) went to the wrong peer: expected main/child#1 "
        "(read#1) on socketpair#1.a→socketpair#1.b; got main/child#2 (read#1) on socketpair#2.a→socketpair#2.b",
        "message 'hello child 2' (13 B) from main (write#1) went to the wrong peer: expected main/child#2 "
        "(read#1) on socketpair#2.a→socketpair#2.b; got main/child#1 (read#1) on socketpair#1.a→socketpair#1.b",
    ]
    assert (
        "main: expected write 'hello child 1' (13 B) on socketpair#1.a; "
        "got write 'hello child 1' (13 B) on socketpair#2.a"
    ) in [str(d) for d in result.differences]


def test_diff_reports_an_extra_process(family, tmp_path):
    result = diff_canonical(family, _variant(tmp_path, "--extra"))
    first = str(result.differences[0])
    assert first.startswith("main/child#3: extra process: started by main (fork), 6 calls (close socketpair#1.a;")
    assert first.endswith("exit 0")
    lines = [str(d) for d in result.differences]
    assert "main: unexpected fork → main/child#3 before close socketpair#1.b" in lines
    assert "main: expected print '… main/child#2'; got print '… main/child#2 and main/child#3'" in lines


def test_equivalence_ignores_which_process_ran_first(tmp_path):
    runs = {
        first: run_canonical(
            _program("compare_two_writers.py", env={"COMPARE_FIRST": first}), tmp_path / first / "compare_two_writers"
        )[0]
        for first in ("1", "2")
    }
    for first, result in runs.items():  # the runs really did interleave differently
        assert _writers_in_time_order(result.trace) == (
            ["child 1", "child 2"] if first == "1" else ["child 2", "child 1"]
        )
    result = diff_traces(runs["1"].trace, runs["2"].trace)
    assert result.equivalent, result.explain()


def _writers_in_time_order(trace: Trace) -> list[str]:
    writes = sorted((e for e in trace.events if e.call == "write" and trace.stream_of(e) is None), key=lambda e: e.t0)
    return [e.data.decode().split("from ")[1].strip() for e in writes if e.data]


def test_diff_reports_the_pipe2_race(ipctrace):
    """pipe2_nosleep forces the child to read back its own message: a different flow, and the parent blocks."""
    result = diff_canonical(ipctrace.run("pipe2"), ipctrace.run("pipe2_nosleep"))
    lines = [str(d) for d in result.differences]
    assert (
        "message 'Who are you?\\x00' (13 B) from main/child#1 (write#1) on pipe#1: expected main (read#1) to "
        "read it; got main/child#1 (read#1)"
    ) in lines
    assert (
        "main: expected read 'Who are you?\\x00' (13 B) on pipe#1.r; got read on pipe#1.r (still blocked when "
        "the run ended)"
    ) in lines
    assert (
        "main/child#1: expected read 'Thank you for your message\\x00' (27 B) on pipe#1.r; got read "
        "'Who are you?\\x00' (13 B) on pipe#1.r"
    ) in lines
    assert "the run ended with every process done; got blocked, as the scenario expects" in lines


def test_diff_reports_a_missing_exit_message_like_the_issue_says(ipctrace):
    script = ("Hello, server!\n", "Nice to meet you.\n")  # the client's script without its final exit
    run = ipctrace.run("tcp_chat_exit", stdin={"client": script})
    result = diff_canonical(load(GOLDEN / "tcp_chat_exit.json"), run)
    lines = [str(d) for d in result.differences]
    assert (
        "client: expected send 'exit\\n' (5 B) on tcp#1.client before close tcp#1.client; got close tcp#1.client"
    ) in lines
    assert "server: expected read 'exit\\n' (5 B) on tcp#1.server; got read on tcp#1.server → end of file" in lines


def test_ignore_payloads_and_output(ipctrace):
    script = ("Hallo, server!\n", "Good to meet you.\n", "exit\n")  # the same lengths, other words
    changed = ipctrace.run("tcp_chat_exit", stdin={"client": script})
    golden = load(GOLDEN / "tcp_chat_exit.json")
    assert not diff_canonical(golden, changed).equivalent
    assert not diff_canonical(golden, changed, {"payloads"}).equivalent  # the printed lines still differ
    result = diff_canonical(golden, changed, {"payloads", "output"})
    assert result.equivalent, result.explain()
    assert (
        "note: ignored: printed lines (stdout and stderr), payload text and input lines (sizes still count)"
        in result.explain()
    )


def test_ignore_sleeps_and_unknown_names():
    pipe3 = load(GOLDEN / "pipe3.json")
    assert any(c.call == "sleep" for p in pipe3.processes for c in p.calls)
    assert not any(c.call == "sleep" for p in without(pipe3, {"sleeps"}).processes for c in p.calls)
    with pytest.raises(ValueError, match="cannot ignore 'acks2'; choose among: packets"):
        diff_canonical(pipe3, pipe3, {"acks2"})


def test_events_of_a_process_no_process_line_lists_are_compared_not_left_out():
    """A hand-edited trace that lost a process line: that process's calls are still in the canonical form."""
    from dataclasses import replace

    from ipctrace.tracefile import read_trace

    trace = read_trace(Path(__file__).parent / "traces" / "echo_storeserv_late_reader.jsonl")
    lost = next(p for p in trace.processes if p.role == "client1")
    cut = replace(trace, processes=tuple(p for p in trace.processes if p is not lost))
    whole, without_line = canonicalize(trace), canonicalize(cut)
    calls = {str(p.role): p.calls for p in whole.processes}
    recovered = {str(p.role): p.calls for p in without_line.processes}
    assert f"pid {lost.pid}" in recovered and "client1" not in recovered
    as_before = [(c.call, c.on, c.data) for c in calls["client1"]]
    assert [(c.call, c.on, c.data) for c in recovered[f"pid {lost.pid}"]] == as_before, "every call, as before"
    assert len(without_line.flows) == len(whole.flows)
    unsent = [f for f in whole.flows if f.sender is None]
    assert [f for f in without_line.flows if f.sender is None] == unsent, "its sends keep their sender"
    assert diff_canonical(without_line, without_line).equivalent


@pytest.mark.capture
def test_packets_compare_per_channel_and_pure_acks_can_be_ignored(tmp_path):
    require_capture()
    a = run_canonical("tcp_hello", tmp_path / "a" / "tcp_hello", capture="scapy")[1]
    b = run_canonical("tcp_hello", tmp_path / "b" / "tcp_hello", capture="scapy")[1]
    assert a.packets is not None
    channels = dict(a.packets)
    flags = [p.flags for p in channels["tcp#1.client→tcp#1.server"] if not p.pure_ack]
    assert flags == ["S", "PA", "FA"]
    assert [(p.flags, p.data) for p in channels["tcp#1.server→tcp#1.client"] if p.size] == [("PA", "Hello from server")]
    result = diff_canonical(a, b, {"acks"})  # pure ACKs come and go with timing (delayed ACKs, who closes first)
    assert result.equivalent, result.explain()
    result = diff_canonical(load(GOLDEN / "tcp_hello.json"), a)
    assert result.equivalent, result.explain()
    assert "note: packets not compared: the expected run was recorded without packet capture" in result.explain()


@pytest.mark.capture
def test_a_segment_tcp_sent_again_is_compared_once(tmp_path):
    """A loaded machine's TCP retransmits: the copy (a data segment, a SYN, a FIN) carries nothing new."""
    from dataclasses import replace

    from ipctrace.compare import canonicalize
    from ipctrace.model import Proto, TcpFlags

    require_capture()
    trace = run_canonical("tcp_chat", tmp_path / "tcp_chat", capture="scapy")[0].trace
    packets = sorted(trace.packets, key=lambda p: p.index)
    tcp = [p for p in packets if p.proto is Proto.TCP]
    data = [p for p in tcp if p.payload]
    assert len(data) >= 4, "tcp_chat's six lines, a segment each"
    syn = next(p for p in tcp if p.flags == TcpFlags.SYN)
    fin = next(p for p in tcp if TcpFlags.FIN in p.flags)
    first, second = data[0], next(p for p in data[1:] if (p.src, p.dst) == (data[0].src, data[0].dst))
    assert second.seq == (first.seq or 0) + len(first.payload), "the next segment of that direction"
    # Each copy right after its original; `second` replaced by a copy of `first` that also carries `second`.
    again = []
    for p in packets:
        if p is second:
            again.append(replace(p, seq=first.seq, payload=first.payload + second.payload))
            continue
        again.append(p)
        if p in (first, syn, fin):
            again.append(replace(p, ts=p.ts + 1))
    again = [replace(p, index=i) for i, p in enumerate(again)]
    with_copies = replace(trace, packets=tuple(again))
    assert len(with_copies.packets) == len(trace.packets) + 3
    original, copied = canonicalize(trace), canonicalize(with_copies)
    assert copied.packets == original.packets
    assert diff_canonical(original, copied).equivalent
    # What a copy of every byte compares with is what was sent once: a new byte is still a difference.
    grown = replace(trace, packets=tuple(replace(p, payload=p.payload + b"!") if p is first else p for p in packets))
    assert canonicalize(grown).packets != original.packets


# -- the pytest plugin -------------------------------------------------------------------------------

TEST_FILE = """
import sys

PROGRAM = {program!r}
ARGS = {args!r}


def test_assert_matches(ipctrace):
    run = ipctrace.run_command(sys.executable, PROGRAM, *ARGS, name="family")
    ipctrace.assert_matches(run, golden="family")


def test_equals_golden(ipctrace):
    assert ipctrace.run_command(sys.executable, PROGRAM, *ARGS, name="family") == ipctrace.golden("family")
"""


def test_plugin_is_registered_through_its_entry_point():
    assert "ipctrace.compare.pytest_plugin" in {ep.value for ep in entry_points(group="pytest11")}


def test_plugin_records_goldens_then_checks_them_then_explains_a_change(pytester):
    program = str(PROGRAMS / "compare_family.py")
    pytester.makepyfile(test_family=TEST_FILE.format(program=program, args=[]))

    result = pytester.runpytest_subprocess("--ipctrace-update")
    result.assert_outcomes(passed=2)
    golden = pytester.path / "golden" / "family.json"
    assert json.loads(golden.read_text())["processes"]["main/child#2"]["parent"] == "main"
    result.stdout.fnmatch_lines(["golden trace written (new): *family.json"])

    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=2)

    recorded = golden.read_text()
    pytester.makepyfile(test_family=TEST_FILE.format(program=program, args=["--swap"]))
    result = pytester.runpytest_subprocess("-vv")
    result.assert_outcomes(failed=2)
    swapped = (
        "*main: expected write 'hello child 1' (13 B) on socketpair#1.a before write 'hello child 2' "
        "(13 B) on socketpair#2.a; got them swapped*"
    )
    result.stdout.fnmatch_lines(
        [
            "the traced run does not match its golden trace *family.json",
            "not equivalent: 2 differences (expected: golden *family.json; got: this run)",
            swapped,
            "*pytest --ipctrace-update*",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*the traced run does not match its golden trace *family.json",
            "*not equivalent*",
            "*- main: expected to start by exec python compare_family.py; got exec python compare_family.py --swap",
            swapped,
        ]
    )
    assert golden.read_text() == recorded, "a failed check leaves the golden trace as it was"


def test_plugin_says_how_to_record_a_missing_golden(pytester):
    pytester.makepyfile(test_family=TEST_FILE.format(program=str(PROGRAMS / "compare_family.py"), args=[]))
    result = pytester.runpytest_subprocess("-k", "assert_matches")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*there is no golden trace *family.json yet; run pytest with --ipctrace-update to record it from this run"]
    )


def test_scenario_names_and_files_resolve_to_the_same_golden(ipctrace):
    path = find_scenario("socketpair_single").path
    assert path is not None
    run = ipctrace.run(path)
    assert run == ipctrace.golden("socketpair_single")
    assert canonicalize(ipctrace.last_run.trace) == run


def test_show_reads_a_golden_file():
    import subprocess

    shown = subprocess.run(
        [sys.executable, "-m", "ipctrace", "show", str(GOLDEN / "pipe3.json")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0] == "canonical trace of pipe3: the run ended with every process done"
    assert "main (exec python pipe3.py; exit 0)" in lines
    assert "  read 'Who are you?\\x00' (13 B) on pipe#1.r" in lines
    assert "  'Who are you?\\x00' (13 B) main/child#1 (write#1) → main (read#1) on pipe#1" in lines
