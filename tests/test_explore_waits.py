"""What the explorer does not hold: time (a select with a timeout is virtual, like a sleep), a program that varies.

With a timeout the wait is a point where others may run, and once let go it only looks: nothing
ready means it timed out at once (a real wait of 30 s would outlast the explorer's step timeout
and the run would be called stuck). Without a timeout it is chosen only once a descriptor is ready.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ipctrace.explore.exploration import Budget, explore
from ipctrace.scenarios import adhoc_scenario
from ipctrace.session import RunOptions, run_scenario

PROGRAM = str(Path(__file__).parent / "programs" / "select_timeout.py")


def _printed(result) -> set[str]:
    return {next(p.printed for p in g.outcome.processes if p.path == "main") for g in result.outcomes}


def test_a_select_with_a_timeout_races_its_writer_and_times_out_at_once():
    result = explore([sys.executable, PROGRAM, "30"], Budget(max_runs=100, random_runs=0))
    assert result.exhaustive
    assert _printed(result) == {"timed out\n", "got hi\n"}
    assert all(p.ending() == "exited" for g in result.outcomes for p in g.outcome.processes)


def test_a_select_without_a_timeout_waits_for_its_writer():
    result = explore([sys.executable, PROGRAM, "none"], Budget(max_runs=100, random_runs=0))
    assert result.exhaustive
    assert _printed(result) == {"got hi\n"}
    assert all(p.ending() == "exited" for g in result.outcomes for p in g.outcome.processes)


def test_the_timed_out_outcome_replays_in_a_traced_run(tmp_path):
    result = explore([sys.executable, PROGRAM, "30"], Budget(max_runs=100, random_runs=0))
    timed_out = next(g for g in result.outcomes if "timed out\n" in {p.printed for p in g.outcome.processes})
    scenario = adhoc_scenario([sys.executable, PROGRAM, "30"], name="select_timeout", timeout=20)
    for n in range(3):
        options = RunOptions(outdir=tmp_path / f"r{n}", capture="none", schedule=timed_out.representative)
        run = run_scenario(scenario, options)
        assert (tmp_path / f"r{n}" / "main.out").read_text() == "timed out\n"
        selects = [e for e in run.trace.events if e.call == "select"]
        assert len(selects) == 1 and selects[0].args.get("timeout") == 30.0  # the call as the program made it


def test_a_program_that_does_not_repeat_itself_is_said_to_be_explored_partly(tmp_path):
    """A replayed prefix that offers other choices ends the systematic search: not exhaustive, and why."""
    changing = str(Path(__file__).parent / "programs" / "changes_each_run.py")
    result = explore([sys.executable, changing, str(tmp_path / "ran")], Budget(max_runs=100, random_runs=2))
    assert not result.exhaustive
    assert "did not offer the same choices again" in result.method
    assert result.random_runs == 2 and result.schedules >= 1
