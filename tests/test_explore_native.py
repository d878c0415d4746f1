"""The race explorer on C programs: the native recorder's gate (record/native/gate.c) under the real controller.

The C originals must give the outcomes of their Python ports (both explored here, side by side); a C
port of the synthetic race gives the model's outcomes (the oracle in test_explore.py); a replayed
outcome of a C original gives one canonical trace again and again; and the gate changes nothing the
program can see but the length of its sleeps.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from ipctrace.cli import main
from ipctrace.compare import canonicalize
from ipctrace.explore.exploration import Budget, explore
from ipctrace.explore.scenario import explore_scenario, representative
from ipctrace.scenarios import Impl, find_scenario
from ipctrace.session import RunOptions, run_scenario
from tests.test_c_originals import cbin  # noqa: F401 - fixtures
from tests.test_explore import model_outcomes
from tests.test_native import cprog, native_lib  # noqa: F401 - fixtures

COURSE = ["pipe2", "pipe2_nosleep", "pipe3", "socketpair_fork"]


@pytest.mark.parametrize("name", COURSE)
def test_a_c_original_has_the_outcomes_of_its_python_port(name: str, cbin: Path, tmp_path: Path) -> None:  # noqa: F811
    scenario = find_scenario(name)
    python, _ = explore_scenario(scenario, output_root=tmp_path)
    c, summary = explore_scenario(scenario.for_impl(Impl.C), output_root=tmp_path)
    assert python.exhaustive and c.exhaustive
    assert len(c.outcomes) == len(python.outcomes) == scenario.outcomes
    # the same outcomes, in the same order: the same bytes read, the same lines printed, the same endings
    assert [g.outcome for g in c.outcomes] == [g.outcome for g in python.outcomes]
    assert summary == tmp_path / f"{name}-c" / "explore" / "summary.json"
    assert c.command[0].endswith(f"/{name}")  # the built C original ran, not the port


def test_the_c_race_gives_the_model_outcomes_with_one_schedule_per_order(
    cprog: Callable[..., Path],  # noqa: F811
    native_lib: Path,  # noqa: F811
) -> None:
    race = str(cprog("pipe_race"))
    outcomes, _, classes = model_outcomes(2, 1, 2, 1)
    got = explore([race, "2", "1", "2", "1"], Budget(max_runs=2000, random_runs=0), native=native_lib)
    assert got.exhaustive
    assert len(got.outcomes) == outcomes == 2
    assert got.schedules == classes and got.pruned == 0  # as for the Python port: one per order of writes and of reads
    readers = {tuple(sorted(p.printed for p in g.outcome.processes if p.printed)) for g in got.outcomes}
    assert readers == {("r1: a1\n", "r2: b1\n"), ("r1: b1\n", "r2: a1\n")}


def test_a_parent_waiting_for_its_children_is_held_until_one_has_ended(
    cprog: Callable[..., Path],  # noqa: F811
    native_lib: Path,  # noqa: F811
) -> None:
    """`wait` is enabled only once a child ended (`R child`): let go earlier it would block, and the run get stuck."""
    race = str(cprog("pipe_race"))
    outcomes, _, _ = model_outcomes(1, 2, 2, 1)
    got = explore([race, "1", "2", "2", "1", "wait"], Budget(max_runs=2000, random_runs=0), native=native_lib)
    assert got.exhaustive and len(got.outcomes) == outcomes == 2
    for group in got.outcomes:
        assert {p.ending() for p in group.outcome.processes} == {"exited"}
        waits = [r for p in group.outcome.processes if p.path == "main" for r in p.received]
        assert waits == []  # the parent reads nothing: it only waits
    assert got.schedules > 2  # the waits interleave with the children's exits


def test_the_gate_moves_no_descriptor_and_makes_sleeps_virtual(
    cprog: Callable[..., Path],  # noqa: F811
    native_lib: Path,  # noqa: F811
) -> None:
    program = str(cprog("gate_fds"))
    plain = subprocess.run([program], capture_output=True, text=True, timeout=30, check=True).stdout
    assert plain.endswith("slept 1 s\n")
    got = explore([program], Budget(max_runs=10, random_runs=0), native=native_lib)
    assert got.exhaustive and len(got.outcomes) == 1
    printed = {p.path: p.printed for p in got.outcomes[0].outcome.processes}
    untraced = plain.splitlines(keepends=True)
    child = next(line for line in untraced if line.startswith("child"))
    parent = next(line for line in untraced if line.startswith("parent"))
    assert printed["main.1"] == child  # the numbers a forked child gets after its own gate connected
    assert printed["main"] == "start\n" + parent.replace("slept 1 s", "slept not at all")


def test_a_replayed_outcome_of_a_c_original_gives_the_same_trace_every_time(
    cbin: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    scenario = find_scenario("pipe2_nosleep").for_impl(Impl.C)
    explore_scenario(scenario, output_root=tmp_path)
    forms = {}
    for number, times in ((1, 20), (2, 3)):  # outcome 2 ends blocked: each run waits out the scenario's idle second
        schedule = representative(scenario, number, tmp_path)
        seen = []
        for n in range(times):
            options = RunOptions(outdir=tmp_path / f"replay-{number}-{n}", port=0, capture="none", schedule=schedule)
            seen.append(canonicalize(run_scenario(scenario, options).trace))
        assert all(form == seen[0] for form in seen)
        forms[number] = seen[0]
    assert forms[1] != forms[2]


def test_child_first_of_a_c_original_is_the_gates_named_schedule(cbin: Path, tmp_path: Path) -> None:  # noqa: F811
    """`schedule = "child-first"` (pipe2_nosleep) for the C original: the child reads its own message back."""
    scenario = find_scenario("pipe2_nosleep").for_impl(Impl.C)
    result = run_scenario(scenario, RunOptions(outdir=tmp_path / "run", port=0, capture="none"))
    assert result.ok, result.message
    reads = sorted((e.blocked, e.data or b"") for e in result.trace.events if e.call == "read")
    assert reads == [(False, b"Who are you?\0"), (True, b"")]  # the child's, then its parent's, blocked forever


def test_explore_and_replay_a_c_original_from_the_command_line(cbin: Path, tmp_path: Path, capsys) -> None:  # noqa: F811
    assert main(["explore", "pipe2", "--impl", "c", "--no-render", "--output", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("2 schedules, 2 outcomes, exhaustive: yes")
    assert "replay: ipctrace run pipe2 --impl c --schedule 2" in out
    args = ["run", "pipe2", "--impl", "c", "--schedule", "1", "--no-capture", "--no-render", "--quiet"]
    assert main([*args, "--output", str(tmp_path)]) == 0
    printed = (tmp_path / "pipe2-c" / "main.out").read_text()
    assert "Parent proc output: Who are you?" in printed  # outcome 1: the parent read the child's message
    assert main(["explore", "--impl", "c", "--output", str(tmp_path), "--", "./x"]) == 2
    assert "--impl chooses" in capsys.readouterr().err
