"""The `ipctrace` command as a user types it: help, version, and one clear sentence for bad input."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROGRAMS, ipctrace


def test_version_and_help():
    version = ipctrace("--version")
    assert version.returncode == 0 and version.stdout.startswith("ipctrace ")
    top = ipctrace("--help")
    assert top.returncode == 0
    for command in ("run", "list", "show"):
        assert command in top.stdout
        sub = ipctrace(command, "--help")
        assert sub.returncode == 0 and "usage: ipctrace " + command in sub.stdout


def test_unknown_option_is_one_clear_error():
    result = ipctrace("run", "--frobnicate")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "ipctrace: `ipctrace run` has no option '--frobnicate'. `ipctrace run --help` lists what it takes."
    )


def test_missing_program_is_one_clear_error(tmp_path):
    result = ipctrace("run", "--output", str(tmp_path), "--no-capture", "--", "no-such-program-here")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "no-such-program-here" in result.stderr and "not found" in result.stderr


def test_run_any_python_program_writes_trace_and_timeline(tmp_path):
    result = ipctrace(
        "run", "--output", str(tmp_path), "--no-capture", "--", sys.executable, str(PROGRAMS / "killed_child.py")
    )
    assert result.returncode == 0, result.stderr
    assert "[main] b'before the kill'" in result.stdout
    assert "write  fd 4 (pipe write end)  'before the kill' (15 B)" in result.stdout
    trace = tmp_path / "killed_child" / "trace.jsonl"
    assert trace.exists() and (tmp_path / "killed_child" / "timeline.txt").exists()
    assert str(trace) in result.stdout
    shown = ipctrace("show", str(trace.parent))
    assert shown.returncode == 0 and "'before the kill' (15 B)" in shown.stdout


def test_unknown_scenario_suggests_close_names():
    result = ipctrace("run", "tcp_chta", "--no-capture")
    assert result.returncode == 2
    assert "unknown scenario 'tcp_chta'" in result.stderr and "tcp_chat" in result.stderr
    assert "Traceback" not in result.stderr


def _good_trace(tmp_path):
    result = ipctrace(
        "run", "--output", str(tmp_path), "--no-capture", "--quiet", "--", sys.executable, str(PROGRAMS / "timeouts.py")
    )
    assert result.returncode == 0, result.stderr
    return tmp_path / "timeouts" / "trace.jsonl"


def test_malformed_and_truncated_traces_name_file_and_line(tmp_path):
    good = _good_trace(tmp_path)
    lines = good.read_text().splitlines(keepends=True)

    broken = tmp_path / "broken.jsonl"
    broken.write_text("".join(lines[:3]) + "{not json\n" + "".join(lines[3:]))
    result = ipctrace("show", str(broken))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"{broken}:4: not valid JSON" in result.stderr

    truncated = tmp_path / "truncated.jsonl"
    truncated.write_text("".join(lines)[:-25])
    result = ipctrace("show", str(truncated))  # shown up to the cut, and said so
    assert result.returncode == 0 and result.stderr.startswith("ipctrace: warning: "), result.stderr
    assert f"{truncated}:{len(lines)}:" in result.stderr and "truncated" in result.stderr
    result = ipctrace("diff", str(truncated), str(good))  # a comparison refuses it
    assert result.returncode == 2 and f"{truncated}:{len(lines)}:" in result.stderr

    missing_field = tmp_path / "missing.jsonl"
    missing_field.write_text(lines[0] + '{"type": "event", "pid": 1}\n')
    result = ipctrace("show", str(missing_field))
    assert result.returncode == 2 and f"{missing_field}:2:" in result.stderr

    not_a_trace = tmp_path / "notes.txt"
    not_a_trace.write_text("hello\n")
    result = ipctrace("show", str(not_a_trace))
    assert result.returncode == 2 and "not valid JSON" in result.stderr

    result = ipctrace("show", str(tmp_path / "nothing.jsonl"))
    assert result.returncode == 2 and "no such trace file" in result.stderr


def test_render_command_draws_next_to_the_trace(tmp_path):
    trace = _good_trace(tmp_path)
    result = ipctrace("render", str(trace.parent), "--format", "svg,mermaid,text", "--view", "kernel")
    assert result.returncode == 0, result.stderr
    for name in ("sequence-kernel.svg", "sequence-kernel.mmd", "sequence-kernel.txt"):
        assert (trace.parent / name).stat().st_size > 0
        assert str(trace.parent / name) in result.stdout


def test_missing_graphviz_is_one_sentence_and_keeps_the_trace(tmp_path):
    import os

    trace = _good_trace(tmp_path)
    bare = tmp_path / "bin"
    bare.mkdir()
    (bare / "python").symlink_to(sys.executable)
    env = {**os.environ, "PATH": str(bare)}  # no dot, no neato
    result = subprocess.run(
        [sys.executable, "-m", "ipctrace", "render", str(trace), "--format", "svg"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1
    assert "graphviz" in result.stderr and "apt-get install graphviz" in result.stderr
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "ipctrace",
            "run",
            "--output",
            str(tmp_path / "r"),
            "--no-capture",
            "--",
            sys.executable,
            str(PROGRAMS / "timeouts.py"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert run.returncode == 2 and "no diagram:" in run.stderr
    folder = tmp_path / "r" / "timeouts"
    assert (folder / "trace.jsonl").exists(), "the trace is kept when drawing fails"
    for name in ("sequence.mmd", "sequence.puml"):  # they need no graphviz
        assert (folder / name).stat().st_size > 0 and str(folder / name) in run.stdout, name
    assert not list(folder.glob("sequence*.svg")) and not list(folder.glob(".drawing*"))


def test_a_diagram_of_too_many_pages_is_refused_with_a_way_to_get_it(tmp_path):
    run = ipctrace(
        "run", "--output", str(tmp_path), "--no-capture", "--quiet", "--no-render", "--",
        sys.executable, str(PROGRAMS / "render_loop.py"), "10",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    folder = tmp_path / "render_loop"
    unfolded = ipctrace("render", str(folder), "--no-fold", "--max-pages", "2", "--format", "svg,png,mermaid")
    assert unfolded.returncode == 2 and unfolded.stderr.count("\n") == 1, unfolded.stderr
    pages = int(unfolded.stderr.split("would have ")[1].split()[0])
    assert pages > 2
    assert unfolded.stderr == (
        f"ipctrace: no diagram: the diagram would have {pages} pages, more than --max-pages 2, so no SVG, PNG or "
        "PDF was drawn: drop --no-fold so that repeated exchanges fold into one row, or pass --max-pages "
        f"{pages} to draw all of it; the text timeline has every call.\n"
    )
    assert (folder / "sequence.mmd").exists() and not list(folder.glob("sequence*.png"))
    folded = ipctrace("render", str(folder), "--max-pages", "2", "--format", "svg")
    assert folded.returncode == 0 and (folder / "sequence.svg").exists(), folded.stderr
    everything = ipctrace("render", str(folder), "--no-fold", "--max-pages", str(pages), "--format", "png")
    assert everything.returncode == 0, everything.stderr
    assert len(list(folder.glob("sequence-*.png"))) == pages


def test_diff_command_exit_status_and_explanation(tmp_path):
    same = ipctrace(
        "diff",
        "tests/golden/socketpair_single.json",
        "socketpair_single",
        "--output",
        str(tmp_path),
        cwd=Path(__file__).parent.parent,
    )
    assert same.returncode == 0 and same.stdout.strip() == "equivalent"
    different = ipctrace("diff", "pipe2", "pipe2_nosleep", "--output", str(tmp_path), "--ignore", "sleeps")
    assert different.returncode == 1
    assert "expected main (read#1) to read it; got main/child#1 (read#1)" in different.stdout
    bad = ipctrace("diff", "a", "b", "--ignore", "colours")
    assert bad.returncode == 2 and "cannot ignore 'colours'" in bad.stderr and "Traceback" not in bad.stderr


def test_say_replaces_a_roles_script_and_tcpdump_backend_captures(tmp_path):
    import shutil

    from tests.conftest import require_capture

    require_capture()
    if shutil.which("tcpdump") is None:
        pytest.skip("tcpdump is not installed: apt-get install tcpdump")
    result = ipctrace(
        "run",
        "tcp_chat_exit",
        "--port",
        "0",
        "--output",
        str(tmp_path),
        "--capture",
        "tcpdump",
        "--no-render",
        "--say",
        "client:hi",
        "--say",
        "client:exit",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[client] Client: hi" in result.stdout and "[server] Client: hi" in result.stdout
    assert "[client] Client: exit" in result.stdout
    from ipctrace.tracefile import read_trace

    trace = read_trace(tmp_path / "tcp_chat_exit" / "trace.jsonl")
    assert trace.header.capture.backend == "tcpdump"
    assert [p.payload for p in trace.packets if p.payload][::2] == [b"hi\n", b"exit\n"]


def test_list_shows_every_scenario_and_one_in_full():
    listing = ipctrace("list")
    assert listing.returncode == 0
    for name in ("pipe3", "tcp_chat", "udp_file_done", "echo_storeserv"):
        assert any(line.startswith(name + " ") for line in listing.stdout.splitlines())
    one = ipctrace("list", "tcp_chat")
    assert one.returncode == 0
    assert "[client] {python} {programs}/tcp_chat_client.py --port {port}" in one.stdout
    assert "types: Hello, server!" in one.stdout


def test_show_ends_its_process_at_once_with_every_line_written(tmp_path, capsys):
    """`show` leaves the process without freeing the trace (ENDS_AT_ONCE): its output must still be whole, on a
    pipe bigger than the pipe's buffer, and a reader that leaves early must not turn into an error."""
    from benchmarks.synthetic import pipe_ping_pong
    from ipctrace.cli import main

    trace = tmp_path / "trace.jsonl"
    pipe_ping_pong(trace, 2000)
    assert main(["show", str(trace)]) == 0
    expected = capsys.readouterr().out
    assert len(expected.encode()) > 65536, "more than a pipe holds: the last of it is written at the exit"
    shown = ipctrace("show", str(trace))
    assert shown.returncode == 0 and shown.stderr == ""
    assert shown.stdout == expected
    head = subprocess.run(
        f"{sys.executable} -m ipctrace show {trace} | head -n 1", shell=True, capture_output=True, text=True, timeout=60
    )
    assert head.returncode == 0 and head.stderr == "" and head.stdout.count("\n") == 1
    failed = ipctrace("show", str(tmp_path / "none.jsonl"))
    assert failed.returncode != 0 and failed.stderr.startswith("ipctrace: ")


#: A real SIGINT delivered to the command itself while its command line is being imported (the moment a
#: hurried Ctrl-C lands), by an import hook: deterministic, no timing.
_CTRL_C_WHILE_IMPORTING = """
import os, signal, sys

class CtrlC:
    def find_spec(self, name, path=None, target=None):
        if name == {module!r}:
            os.kill(os.getpid(), signal.SIGINT)
        return None

sys.meta_path.insert(0, CtrlC())
sys.argv = ["ipctrace", "list"]
from ipctrace.entry import console
console()
"""


@pytest.mark.parametrize("module", ["ipctrace.cli", "ipctrace.arguments", "argparse"])
def test_ctrl_c_while_the_command_starts_is_one_line_not_a_traceback(module):
    code = _CTRL_C_WHILE_IMPORTING.format(module=module)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "Traceback" not in done.stderr, done.stderr
    assert done.stderr == "ipctrace: interrupted.\n"
    assert done.returncode == 130
    assert done.stdout == "", "interrupted before the list was printed"


def test_render_again_leaves_no_part_of_the_longer_drawing_before(tmp_path):
    """A Mermaid diagram in two parts, drawn again in one: its second part goes, as the second slide does."""
    shutil.copy(Path(__file__).parent / "traces" / "pipe3_sleep_beside_the_output.jsonl", tmp_path / "trace.jsonl")
    (tmp_path / "notes.txt").write_text("mine\n")
    first = ipctrace("render", str(tmp_path), "--format", "mermaid,png")
    assert first.returncode == 0, first.stderr
    assert (tmp_path / "sequence-02.mmd").is_file() and (tmp_path / "sequence-02.png").is_file()
    again = ipctrace("render", str(tmp_path), "--format", "mermaid,png", "--font-size", "6")
    assert again.returncode == 0, again.stderr
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == ["notes.txt", "sequence-01.png", "sequence.mmd", "trace.jsonl"], left


def test_a_program_killed_by_a_signal_is_said_so_with_where_its_output_is(tmp_path):
    program = tmp_path / "dies.py"
    program.write_text("import os, signal\nprint('about to die', flush=True)\nos.kill(os.getpid(), signal.SIGKILL)\n")
    options = ("--output", str(tmp_path), "--no-capture", "--no-render")
    result = ipctrace("run", *options, "--", sys.executable, str(program))
    assert result.returncode == 1, result.stderr
    assert "ending      failed: main was killed by SIGKILL; what it printed is in main.out" in result.stdout
    assert "was still in kill when it was killed by SIGKILL" in result.stdout
    assert (tmp_path / "dies" / "main.out").read_text() == "about to die\n"
