"""Equivalence: two runs that differ only in what the kernel or the scheduler chose have one canonical form.

Every trace comes from a real run of a program in tests/programs/ whose
delays (with `select`, which is not traced) force one interleaving or
another; each test also checks, in the raw trace, that the runs really did
differ, so it cannot pass by accident.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

from ipctrace.calls import Call
from ipctrace.compare import READ_BOUNDARIES, diff_canonical, load
from ipctrace.compare.naming import _argv_item
from ipctrace.compare.runner import run_canonical
from ipctrace.model import Trace
from ipctrace.scenarios import Scenario, adhoc_scenario

PROGRAMS = Path(__file__).parent / "programs"
GOLDEN = Path(__file__).parent / "golden"
#: Runs of the pipe program in the test below: the issue saw 1 run in 25 fail.
RUNS = 50


def _program(name: str, *args: str, env: dict[str, str] | None = None) -> Scenario:
    command = [sys.executable, str(PROGRAMS / name), *args]
    if env:
        command = ["env", *(f"{k}={v}" for k, v in env.items()), *command]
    scenario = adhoc_scenario(command, name=Path(name).stem)
    return replace(scenario, roles=(replace(scenario.roles[0], interactive=False),))


def _reads_with_bytes(trace: Trace) -> int:
    return sum(1 for e in trace.events if e.call is Call.READ and e.size)


def test_a_stream_read_whole_or_in_pieces_matches_one_golden_every_run(ipctrace):
    """The issue's program: `hellobye` in one read or `hello` + `bye` in two is the same IPC, 50 runs in a row."""
    shapes = set()
    for n in range(1 if ipctrace.update else RUNS):
        split = ("", "apart", "whole")[n % 3]  # as it comes, then forced each way
        ipctrace.assert_matches(_program("compare_stream_split.py", env={"COMPARE_SPLIT": split}))
        assert ipctrace.last_run is not None and ipctrace.last_run.ok, ipctrace.last_run.message
        shapes.add(_reads_with_bytes(ipctrace.last_run.trace))
    assert ipctrace.update or shapes == {1, 2}, f"the runs did not split the stream both ways: {shapes}"


def test_a_changed_message_still_fails_against_that_golden(tmp_path):
    golden = load(
        GOLDEN
        / "test_compare_equivalence"
        / f"{test_a_stream_read_whole_or_in_pieces_matches_one_golden_every_run.__name__}.json"
    )
    changed = run_canonical(_program("compare_stream_split.py", "--second", "bye!"), tmp_path / "split")[1]
    lines = [str(d) for d in diff_canonical(golden, changed).differences]
    assert "main: expected write 'bye' (3 B) on pipe#1.w; got write 'bye!' (4 B) on pipe#1.w" in lines
    assert "main/child#1: expected read 'hellobye' (8 B) on pipe#1.r; got read 'hellobye!' (9 B) on pipe#1.r" in lines


def test_read_boundaries_can_be_asserted(tmp_path):
    runs = {
        split: run_canonical(
            _program("compare_stream_split.py", env={"COMPARE_SPLIT": split}),
            tmp_path / split / "split",
            read_boundaries=True,
        )
        for split in ("whole", "apart")
    }
    assert [_reads_with_bytes(runs[p][0].trace) for p in ("whole", "apart")] == [1, 2]
    result = diff_canonical(runs["whole"][1], runs["apart"][1], {READ_BOUNDARIES})
    assert not result.equivalent
    assert "main/child#1: expected read 'hellobye' (8 B) on pipe#1.r; got read 'hello' (5 B) on pipe#1.r" in [
        str(d) for d in result.differences
    ]
    joined = diff_canonical(runs["whole"][1], runs["apart"][1])  # forms kept with boundaries, compared without: said so
    assert [str(d) for d in joined.differences] == [
        "the expected run and this run kept its reads with their boundaries; compare with read-boundaries too, "
        "or record it again without it"
    ]


def test_independent_processes_in_any_interleaving_have_one_canonical_form(tmp_path):
    """Mazurkiewicz equivalence: children that speak and end in opposite orders; the same happens-before graph."""
    orders = {"forward": "0,0.15,0.3", "backward": "0.3,0.15,0"}
    runs = {
        name: run_canonical(_program("compare_interleave.py", env={"COMPARE_DELAYS": d}), tmp_path / name / "inter")
        for name, d in orders.items()
    }
    firsts = {name: _children_in_time_order(r[0].trace) for name, r in runs.items()}
    one_two_three, three_two_one = [f"main/child#{k}" for k in (1, 2, 3)], [f"main/child#{k}" for k in (3, 2, 1)]
    assert firsts["forward"] == (one_two_three, three_two_one)  # (who spoke first, ...), (who ended first, ...)
    assert firsts["backward"] == (three_two_one, one_two_three)
    result = diff_canonical(runs["forward"][1], runs["backward"][1])
    assert result.equivalent, result.explain()
    waits = [c for c in runs["forward"][1].process("main").calls if c.call == "wait"]
    assert [w.result for w in waits] == [f"main/child#{k} exit 0" for k in (1, 2, 3)]


def _children_in_time_order(trace: Trace) -> tuple[list[str], list[str]]:
    """(which child said it was ready first, ..., whom the parent's waits got first, ...) in this run."""
    roles = {p.pid: p.role for p in trace.processes}
    sends = sorted((e for e in trace.events if e.call is Call.SENDALL and roles[e.pid] != "main"), key=lambda e: e.t0)
    waits = [e for e in trace.events if e.call is Call.WAIT and e.reaped is not None]
    return [roles[e.pid] for e in sends], [roles[e.reaped.pid] for e in waits if e.reaped]


def test_a_changed_order_inside_one_process_is_still_a_difference(tmp_path):
    """Program order is kept: the canonical form does not hide a swap that the program made."""
    plain = run_canonical(_program("compare_family.py"), tmp_path / "a" / "family")[1]
    swapped = run_canonical(_program("compare_family.py", "--swap"), tmp_path / "b" / "family")[1]
    assert any("got them swapped" in str(d) for d in diff_canonical(plain, swapped).differences)


def test_interpreters_and_program_folders_are_normalised():
    assert [_argv_item(x, True) for x in ("python", "python3", "python3.11", "/usr/bin/python3", "/opt/py/python")] == [
        "python"
    ] * 5
    assert _argv_item("programs/prog.py", False) == "prog.py"
    assert _argv_item("/tmp/run/prog.py", False) == "prog.py"
    assert _argv_item("--port", False) == "--port"
    assert _argv_item("python3", False) == "python3"  # only the interpreter's place is the interpreter


def test_a_changed_message_is_named_in_each_runs_own_terms():
    """The golden's `write#2` that is `write#3` in this run is said so, not named by the golden's count alone."""
    from ipctrace.compare import CallRef, CanonicalFlow, Role
    from ipctrace.compare.flows import flow_differences

    main, child = Role("main"), Role("main").child(1)
    expected = CanonicalFlow("pipe#1", main, CallRef("write", 2), child, CallRef("read", 1), 3, "bye")
    actual = CanonicalFlow("pipe#1", main, CallRef("write", 3), child, CallRef("read", 1), 3, "bye")
    assert flow_differences([expected], [actual]) == [
        "message 'bye' (3 B) from main (write#2, now write#3) to main/child#1 (read#1) on pipe#1: another call sent "
        "or read it"
    ]
    changed = CanonicalFlow("pipe#1", main, CallRef("write", 3), child, CallRef("read", 2), 4, "bye!")
    assert flow_differences([expected], [changed]) == [
        "message from main (write#2, now write#3) to main/child#1 (read#1, now read#2) on pipe#1: expected 'bye' "
        "(3 B); got 'bye!' (4 B)"
    ]
