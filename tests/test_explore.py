"""The race explorer: real programs run under the gate, every schedule the reduction keeps, outcomes counted.

The synthetic program's outcome count comes from a model of a pipe written here (an oracle that
knows nothing of the explorer); the course examples' counts are the ones their scenarios declare.
"""

from __future__ import annotations

import html
import json
import re
import sys
from pathlib import Path

import pytest

from ipctrace.cli import main
from ipctrace.compare import canonicalize
from ipctrace.explore.exploration import Budget, explore
from ipctrace.explore.scenario import draw_outcomes, explore_scenario, representative
from ipctrace.scenarios import PROGRAMS_DIR, builtin_scenarios, find_scenario
from ipctrace.session import RunOptions, run_scenario

RACE = str(Path(__file__).parent / "programs" / "pipe_race.py")


def model_outcomes(writers: int, writes: int, readers: int, reads: int) -> tuple[int, int, int]:
    """(outcomes, orders of the pipe's reads and writes, orders of its writes and of its reads) of pipe_race.py.

    By walking a model of the pipe. The last: orders that differ only in where a read comes between
    writes whose bytes it does not take count once (such a read and write commute).
    """
    messages = [[f"{chr(97 + i)}{k + 1}" for k in range(writes)] for i in range(writers)]
    found: set[tuple[tuple[str, ...], ...]] = set()
    classes: set[tuple[tuple[int, ...], tuple[int, ...]]] = set()
    orders = 0

    def walk(wrote, read, pipe, got, writes_seq, reads_seq):
        nonlocal orders
        moved = False
        for i in range(writers):
            if wrote[i] < writes:
                moved = True
                after = wrote[:i] + (wrote[i] + 1,) + wrote[i + 1 :]
                walk(after, read, (*pipe, messages[i][wrote[i]]), got, (*writes_seq, i), reads_seq)
        for k in range(readers):
            if read[k] < reads and pipe:
                moved = True
                after = read[:k] + (read[k] + 1,) + read[k + 1 :]
                took = got[:k] + ((*got[k], pipe[0]),) + got[k + 1 :]
                walk(wrote, after, pipe[1:], took, writes_seq, (*reads_seq, k))
        if not moved:
            found.add(got)
            classes.add((writes_seq, reads_seq))
            orders += 1

    walk((0,) * writers, (0,) * readers, (), ((),) * readers, (), ())
    return len(found), orders, len(classes)


def printed(exploration) -> set[tuple[str, ...]]:
    return {tuple(p.printed for p in g.outcome.processes) for g in exploration.outcomes}


def test_two_writers_two_readers_give_the_outcomes_of_the_model():
    outcomes, orders, classes = model_outcomes(2, 1, 2, 1)
    got = explore([sys.executable, RACE, "2", "1", "2", "1"], Budget(max_runs=2000, random_runs=0))
    assert got.exhaustive
    assert len(got.outcomes) == outcomes == 2
    # one schedule per order of the writes and of the reads: a read that takes all it asks for, none of it
    # from a write, commutes with that write, and no order is tried twice (8 orders of all four calls)
    assert got.schedules == classes == 4 < orders == 8 and got.pruned == 0
    readers = {tuple(sorted(p.printed for p in g.outcome.processes if p.printed)) for g in got.outcomes}
    assert readers == {("r1: a1\n", "r2: b1\n"), ("r1: b1\n", "r2: a1\n")}


def test_two_writers_and_two_readers_of_two_messages_each_need_one_schedule_per_order_of_writes_and_of_reads():
    """The issue's program: 504 orders of the pipe's eight calls, 36 orders of its writes and of its reads."""
    outcomes, orders, classes = model_outcomes(2, 2, 2, 2)
    got = explore([sys.executable, RACE, "2", "2", "2", "2"], Budget(max_runs=2000, max_seconds=600, random_runs=0))
    assert got.exhaustive and len(got.outcomes) == outcomes == 16
    assert got.schedules == classes == 36 < orders == 504 and got.pruned == 0
    assert len({g.deciding.sentence for g in got.outcomes if g.deciding}) > 1


@pytest.mark.parametrize("name", ["pipe2_nosleep", "pipe3"])
def test_the_reduction_keeps_every_outcome_and_tries_fewer_schedules(name):
    """Without reduction every interleaving of the gated calls is run (the synthetic program has tens of thousands)."""
    scenario = find_scenario(name)
    command = [sys.executable, str(Path(scenario.roles[0].command[1].replace("{programs}", str(PROGRAMS_DIR))))]
    reduced = explore(command, Budget(max_runs=5000, random_runs=0))
    full = explore(command, Budget(max_runs=5000, max_seconds=600, random_runs=0), reduce=False)
    assert reduced.exhaustive and full.exhaustive
    assert len(reduced.outcomes) == len(full.outcomes) == scenario.outcomes
    assert [g.outcome for g in reduced.outcomes] == [g.outcome for g in full.outcomes]
    assert reduced.schedules < full.schedules


@pytest.mark.parametrize("name", ["pipe2", "pipe2_nosleep", "pipe3", "socketpair_fork"])
def test_course_examples_have_the_outcomes_their_scenarios_say(name, tmp_path):
    scenario = find_scenario(name)
    result, summary_path = explore_scenario(scenario, output_root=tmp_path)
    assert result.exhaustive
    assert len(result.outcomes) == scenario.outcomes
    summary = json.loads(summary_path.read_text())
    assert summary["outcomes_count"] == scenario.outcomes and summary["exhaustive"] is True
    assert sum(o["schedules"] for o in summary["outcomes"]) == summary["schedules"] == result.schedules


def test_pipe2_nosleep_shows_the_parent_blocked_forever_every_time(tmp_path):
    scenario = find_scenario("pipe2_nosleep")
    first, _ = explore_scenario(scenario, output_root=tmp_path)
    again, _ = explore_scenario(scenario, output_root=tmp_path)
    endings = {tuple(p.ending() for p in g.outcome.processes) for g in first.outcomes}
    assert ("blocked forever in read", "exited") in endings  # main waits forever, its child took the message
    assert ("exited", "exited") in endings
    assert [g.outcome for g in first.outcomes] == [g.outcome for g in again.outcomes]
    assert [g.representative for g in first.outcomes] == [g.representative for g in again.outcomes]


def test_each_outcome_is_drawn_with_a_caption_saying_which_outcome_it_is(tmp_path):
    """The scenario's lesson tells one outcome: each outcome's slides say their own instead."""
    scenario = find_scenario("pipe2_nosleep")
    result, _ = explore_scenario(scenario, output_root=tmp_path)
    folders = draw_outcomes(scenario, result, output_root=tmp_path)
    assert sorted(folders) == [1, 2]
    for number, folder in folders.items():
        svg = (folder / "sequence.svg").read_text(encoding="utf-8")
        assert f"Outcome {number} of 2" in svg
        assert ("blocked forever in read" in svg) == any(
            p.ending() == "blocked forever in read" for p in result.outcomes[number - 1].outcome.processes
        )
        # the scenario's own explanation tells of its child-first schedule, not of this outcome's
        assert "child-first" not in svg
        if "blocked forever in read" in svg:
            assert f"the schedule of outcome {number}," in svg


def test_every_racy_example_is_marked_in_the_list(capsys):
    declared = {name for name, sc in builtin_scenarios().items() if (sc.outcomes or 1) > 1}
    assert declared == {"pipe2", "pipe2_nosleep"}
    assert main(["list"]) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[1:] if line.strip()}
    for name in builtin_scenarios():
        marked = "  R  " in rows[name]
        assert marked == (name in declared), rows[name]


def test_a_replayed_outcome_gives_the_same_trace_twenty_times(tmp_path):
    scenario = find_scenario("pipe2_nosleep")
    explore_scenario(scenario, output_root=tmp_path)
    forms = {}
    for number in (1, 2):
        schedule = representative(scenario, number, tmp_path)
        seen = []
        for n in range(20 if number == 2 else 3):
            options = RunOptions(outdir=tmp_path / f"replay-{number}-{n}", port=0, capture="none", schedule=schedule)
            seen.append(canonicalize(run_scenario(scenario, options).trace))
        assert all(form == seen[0] for form in seen)
        forms[number] = seen[0]
    assert forms[1] != forms[2]  # two outcomes, two traces


def test_replay_of_an_unknown_outcome_is_one_sentence(tmp_path, capsys):
    assert main(["run", "pipe3", "--schedule", "1", "--output", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "run `ipctrace explore pipe3` first" in err and "Traceback" not in err


def test_the_explorer_moves_no_descriptor_number():
    """The gate's socket sits near the descriptor limit: a pipe made after a print gets its untraced number."""
    import subprocess

    program = str(Path(__file__).parent / "programs" / "explore_fd_numbers.py")
    untraced = subprocess.run([sys.executable, program], capture_output=True, text=True, timeout=30, check=True)
    got = explore([sys.executable, program], Budget(max_runs=50, random_runs=0))
    assert got.exhaustive and len(got.outcomes) == 1
    printed = {p.path: p.printed for p in got.outcomes[0].outcome.processes}
    lines = {line.split()[0]: line for line in untraced.stdout.splitlines() if line.split()[0] in ("parent", "child")}
    assert lines["parent"] in printed["main"] and lines["child"] in printed["main.1"], (printed, untraced.stdout)


def test_the_synthetic_race_has_the_outcomes_of_the_model_and_each_its_own_deciding_read():
    """Two writers of one message, two readers of two: some reads find the end of file, which the model leaves out."""
    outcomes, _, _ = model_outcomes(2, 1, 2, 2)
    got = explore([sys.executable, RACE, "2", "1", "2", "2"], Budget(max_runs=2000, max_seconds=600, random_runs=0))
    assert got.exhaustive and len(got.outcomes) == outcomes == 6
    for group in got.outcomes:
        deciding = group.deciding
        assert deciding is not None and group.calls[deciding.step] == deciding.call
        assert deciding.call == "read" and deciding.path in {"main.3", "main.4"}
        assert {number for number, _ in deciding.against} <= {g.number for g in got.outcomes} - {group.number}
        assert deciding.against, "a deciding read parts from at least one other outcome"
        reader = next(p for p in group.outcome.processes if p.path == deciding.path)
        got_there = reader.received[deciding.nth - 1]
        assert got_there.sender in {"main.1", "main.2", ""} and (got_there.sender != "") == bool(got_there.data)
        assert f"took child {got_there.sender[-1]}'s message" in deciding.sentence or not got_there.data


def test_each_outcome_marks_its_deciding_read_in_words_and_on_every_drawing(tmp_path):
    """pipe2_nosleep: the child's read takes its own message, or the parent's read takes it first."""
    from ipctrace.explore.scenario import deciding_mark
    from ipctrace.order import analyse
    from ipctrace.render import RenderOptions
    from ipctrace.render.layout import build_diagram
    from ipctrace.tracefile import read_trace
    from tests.render_support import check_diagram

    scenario = find_scenario("pipe2_nosleep")
    result, summary_path = explore_scenario(scenario, output_root=tmp_path)
    sentences = {
        tuple(p.ending() for p in g.outcome.processes): g.deciding.sentence for g in result.outcomes if g.deciding
    }
    assert sentences == {
        ("blocked forever in read", "exited"): "Here the child's read took its own message “Who are you?”",
        ("exited", "exited"): "Here the parent's read took the child's message “Who are you?”",
    }
    summary = json.loads(summary_path.read_text())
    assert {o["deciding"]["sentence"] for o in summary["outcomes"]} == set(sentences.values())
    folders = draw_outcomes(scenario, result, output_root=tmp_path)
    for group in result.outcomes:
        folder = folders[group.number]
        svg = (folder / "sequence.svg").read_text(encoding="utf-8")
        drawn = html.unescape(" ".join(re.findall(r">([^<]*)</text>", svg)))  # the note's lines, in order
        assert 'class="node mark"' in svg and 'marked"' in svg
        assert "★ here " + group.deciding.sentence[len("Here ") :] in drawn
        page = (folder / "sequence.html").read_text(encoding="utf-8")
        assert '"mk":["★ here' in page and '"mk":true' in page  # the call's note and its message
        trace = read_trace(folder / "trace.jsonl")
        mark = deciding_mark(trace, group.deciding)
        assert mark is not None and trace.event(mark.key).call.value == "read"
        ordered = analyse(trace)
        diagram = build_diagram(ordered, RenderOptions(caption="", marks=(mark,)))
        marked = [c for c in diagram.calls if c.mark]
        assert len(marked) == 1 and marked[0].text.startswith("read(")
        check_diagram(diagram, ordered)  # on a 1920 × 1080 slide, text ≥ 28 px, nothing overlapping


def test_processes_are_named_in_words_by_their_place_in_the_run():
    from ipctrace.explore.deciding import who

    assert who("main", ["main"]) == "the program"
    assert who("main.1", ["main", "main.1"]) == "the child" and who("main", ["main", "main.1"]) == "the parent"
    assert who("main.2", ["main", "main.1", "main.2"]) == "child 2"
    assert who("server", ["server", "client"]) == "server"  # a role's first process: the role
    assert who("server.1", ["server", "server.1"]) == "child 1 of server"


def test_ctrl_c_during_an_exploration_keeps_what_it_found(tmp_path):
    """echo_storeserv takes minutes to explore: Ctrl-C once its runs have begun ends it with a partial summary."""
    import os
    import signal
    import subprocess
    import time

    env = {**os.environ, "TMPDIR": str(tmp_path)}  # where the exploration keeps its runs' logs: the event to wait on
    command = [sys.executable, "-m", "ipctrace", "explore", "echo_storeserv", "--output", str(tmp_path / "out")]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 60
    while not any(tmp_path.glob("ipctrace-explore-*/run-2")):  # the first schedule ran, the second began
        assert proc.poll() is None and time.monotonic() < deadline, "the exploration never began a second run"
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "exhaustive: no (interrupted)" in stdout.splitlines()[0] and "Traceback" not in stderr
    summary = json.loads((tmp_path / "out" / "echo_storeserv" / "explore" / "summary.json").read_text())
    assert summary["interrupted"] is True and summary["exhaustive"] is False
    assert summary["schedules"] >= 1 and summary["schedules"] == sum(o["schedules"] for o in summary["outcomes"])
