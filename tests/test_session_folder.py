"""A run owns its folder and nothing else: scenario files cannot reach outside it, two runs never share it,
and a refused run leaves it exactly as it was.
"""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path

import pytest

from ipctrace.tracefile import read_trace
from tests.conftest import PROGRAMS, ipctrace
from tests.test_session_signals import running_with, sleepers_scenario, start, wait_until_both_sleep

QUICK_ROLE = '[[roles]]\nname = "main"\ncommand = ["{python}", "-c", "print(1)"]\n'


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def victim(tmp_path):
    """Somebody's folder full of work, next to the test's output folder."""
    folder = tmp_path / "victim"
    folder.mkdir()
    for name in ("thesis.out", "sequence_ideas.txt", "timeline.txt", "trace.jsonl"):
        (folder / name).write_text(f"my own {name}, written by hand\n")
    return folder


def test_a_scenario_file_cannot_reach_outside_its_runs_folder(tmp_path, victim):
    before = snapshot(tmp_path)
    hostile = {
        f"name = {str(victim)!r}\n": "'name' cannot be used",
        'name = "../../escaped"\n': "'name' cannot be used",
        'name = ".."\n': "'name' cannot be used",
        'generate = { "../victim/thesis.out" = 12 }\n': "the file '../victim/thesis.out' in 'generate'",
        f"generate = {{ {str(victim / 'thesis.out')!r} = 12 }}\n": "in 'generate' cannot be used",
        'same_files = [["a.txt", "../victim/thesis.out"]]\n': "the file '../victim/thesis.out' in 'same_files'",
        'generate = { "big.txt" = 1000000000000 }\n': "give a whole number from 0 to 100,000,000 bytes",
    }
    for n, (line, message) in enumerate(hostile.items()):
        toml = tmp_path / f"hostile{n}.toml"
        toml.write_text(line + QUICK_ROLE)
        result = ipctrace("run", str(toml), "--output", str(tmp_path / "out"), "--no-capture", "--no-render")
        assert result.returncode == 2, (line, result.stdout, result.stderr)
        assert message in result.stderr and str(toml) in result.stderr, (line, result.stderr)
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
        toml.unlink()
    assert snapshot(tmp_path) == before, "nothing written or removed anywhere"
    assert not (tmp_path / "out").exists() and not (tmp_path.parent / "escaped").exists()

    role = tmp_path / "role.toml"
    role.write_text('[[roles]]\nname = "../../x"\ncommand = ["{python}", "-c", "print(1)"]\n')
    result = ipctrace("run", str(role), "--output", str(tmp_path / "out"), "--no-capture")
    assert result.returncode == 2 and "the name of role #1 cannot be used" in result.stderr


def test_a_second_run_into_a_folder_in_use_is_refused(tmp_path):
    toml = sleepers_scenario(tmp_path)
    out = tmp_path / "out"
    first = start(["run", str(toml), "--output", str(out), "--no-capture", "--no-render"])
    wait_until_both_sleep(first)
    second = ipctrace("run", str(toml), "--output", str(out), "--no-capture", "--no-render", "--timeout", "3")
    assert second.returncode == 2, second.stdout + second.stderr
    assert second.stderr.strip() == (
        f"ipctrace: the folder {out / 'sleepers'} is in use by another ipctrace run (pid {first.pid}): wait for it "
        "to end, or give this run a folder of its own with --name NAME or --output DIR."
    )
    first.send_signal(signal.SIGINT)
    _stdout, stderr = first.communicate(timeout=60)
    assert first.returncode == 130, stderr
    trace = read_trace(out / "sleepers" / "trace.jsonl")
    assert len(trace.processes) == 2, "the first run's trace holds its own two processes only"
    assert running_with(str(tmp_path)) == []


def test_the_folder_stays_held_while_the_diagrams_are_drawn(tmp_path):
    """What is written from the trace after the run (the diagrams) is written before another run can start there."""
    from ipctrace.scenarios import load_scenario
    from ipctrace.session import RunError, RunOptions, run_scenario

    toml = tmp_path / "quick.toml"
    toml.write_text(QUICK_ROLE)
    scenario = load_scenario(toml)
    options = RunOptions(outdir=tmp_path / "out", capture="none")
    refusals = []

    def second_run_meanwhile(result):
        assert (result.outdir / "trace.jsonl").exists()
        with pytest.raises(RunError, match="is in use by another ipctrace run") as refused:
            run_scenario(scenario, options)
        refusals.append(str(refused.value))

    first = run_scenario(scenario, options, then=second_run_meanwhile)
    assert first.ok and len(refusals) == 1
    assert run_scenario(scenario, options).ok, "once the first run is done, the folder is free again"


def test_a_refused_run_leaves_the_previous_results_as_they_were(tmp_path):
    out = tmp_path / "out"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    common = ("--output", str(out), "--no-capture", "--format", "mermaid,text")
    done = ipctrace("run", "tcp_hello", "--port", str(port), *common)
    assert done.returncode == 0, done.stdout + done.stderr
    results = snapshot(out / "tcp_hello")
    assert {"trace.jsonl", "timeline.txt", "server.out", "sequence.mmd", "sequence.txt"} <= set(results)
    with socket.socket() as busy:
        busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # the run's connection may be in TIME_WAIT
        busy.bind(("0.0.0.0", port))
        busy.listen()
        refused = ipctrace("run", "tcp_hello", "--port", str(port), *common)
    assert refused.returncode == 2 and "is in use by another program" in refused.stderr
    assert snapshot(out / "tcp_hello") == results


def test_a_program_that_is_not_there_changes_nothing_on_disk(tmp_path):
    result = ipctrace("run", "--output", str(tmp_path / "out"), "--no-capture", "--", "no-such-program-here")
    assert result.returncode == 2 and "not found" in result.stderr
    assert not (tmp_path / "out").exists()


def test_a_run_that_fails_to_start_its_second_role_restores_the_previous_results(tmp_path):
    """Checked before the run: every role's program, not only the first."""
    toml = tmp_path / "two.toml"
    toml.write_text(QUICK_ROLE + '[[roles]]\nname = "other"\ncommand = ["./not-built-yet"]\n')
    out = tmp_path / "out"
    folder = out / "two"
    folder.mkdir(parents=True)
    (folder / "trace.jsonl").write_text("the previous run's trace\n")
    result = ipctrace("run", str(toml), "--output", str(out), "--no-capture")
    assert result.returncode == 2 and "cannot start other: program './not-built-yet' not found" in result.stderr
    assert snapshot(folder) == {"trace.jsonl": b"the previous run's trace\n"}


def test_a_run_killed_outright_gives_the_previous_results_back_to_the_next(tmp_path):
    """SIGKILL cannot be handled: the next run into the folder finds the results set aside and puts them back."""
    toml = sleepers_scenario(tmp_path)
    out = tmp_path / "out"
    first = ipctrace("run", str(toml), "--output", str(out), "--no-capture", "--no-render", "--timeout", "0.5")
    assert first.returncode == 1
    previous = read_trace(out / "sleepers" / "trace.jsonl").header.started
    killed = start(["run", str(toml), "--output", str(out), "--no-capture", "--no-render"])
    wait_until_both_sleep(killed)
    killed.kill()
    killed.communicate(timeout=30)
    for line in running_with(str(tmp_path)):  # SIGKILL left the sleepers running: a user would kill them
        os.kill(int(line.split(":")[0]), signal.SIGKILL)
    aside = out / "sleepers" / ".previous" / "trace.jsonl"
    assert read_trace(aside).header.started == previous, "the previous results are set aside, not deleted"
    rerun = ipctrace("run", str(toml), "--output", str(out), "--no-capture", "--no-render", "--timeout", "0.5")
    assert rerun.returncode == 1, rerun.stderr
    assert read_trace(out / "sleepers" / "trace.jsonl").header.started > previous
    left = sorted(p.name for p in (out / "sleepers").iterdir())
    assert left == [".ipctrace-run", "main.out", "summary.json", "timeline.txt", "trace.jsonl"], "nothing else is left"


def test_name_chooses_the_runs_folder_and_ad_hoc_names_are_names(tmp_path):
    out = tmp_path / "out"
    program = str(PROGRAMS / "timeouts.py")
    quiet = ("--output", str(out), "--no-capture", "--no-render")
    named = ipctrace("run", "--name", "try2", *quiet, "--", "python3", program)
    assert named.returncode == 0, named.stderr
    assert (out / "try2" / "trace.jsonl").exists() and "scenario    try2" in named.stdout
    code = "import os; r, w = os.pipe(); os.write(w, b'x'); print(os.read(r, 1))"
    snippet = ipctrace("run", "--output", str(out), "--no-capture", "--no-render", "--", "python3", "-c", code)
    assert snippet.returncode == 0, snippet.stderr
    assert sorted(p.name for p in out.iterdir()) == ["python-c", "try2"]
    bad = ipctrace("run", "--name", "../up", "--output", str(out), "--no-capture", "--", "python3", program)
    assert bad.returncode == 2 and "--name '../up' cannot be used" in bad.stderr
    scenario = ipctrace("run", "pipe1", "--name", "pipe1-again", "--output", str(out), "--no-capture", "--no-render")
    assert scenario.returncode == 0 and (out / "pipe1-again" / "trace.jsonl").exists()
