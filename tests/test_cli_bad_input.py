"""Bad input to every command, through the real `ipctrace` command: one sentence, a non-zero exit, no traceback.

Each case is one a user can make: a trace damaged by hand or by another tool, a compressed trace, an
output that is full or closed, a script without its `#!` line, a scenario file with a misspelt call.
The traces are a real recorded run (tests/traces/), changed one field at a time.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROGRAMS, ipctrace, refused

pytest_plugins = ["pytester"]

RECORDED = Path(__file__).parent / "traces" / "pipe3_sleep_beside_the_output.jsonl"
WITH_PACKETS = Path(__file__).parent / "traces" / "echo_storeserv_late_reader.jsonl"  # a recorded TCP run


def _lines(trace: Path = RECORDED) -> list[str]:
    return trace.read_text().splitlines(keepends=True)


def _changed(tmp_path: Path, kind: str, field: str, value: object) -> tuple[Path, int]:
    """A recorded trace with `field` of its first `kind` line (the second event line) set to `value`."""
    lines = _lines(WITH_PACKETS if kind == "packet" else RECORDED)
    found = [n for n, line in enumerate(lines) if json.loads(line)["type"] == kind]
    number = found[1] if kind == "event" else found[0]
    obj = json.loads(lines[number])
    obj[field] = value
    lines[number] = json.dumps(obj) + "\n"
    path = tmp_path / f"{kind}-{field}.jsonl"
    path.write_text("".join(lines))
    return path, number + 1


#: A field of a trace line given a value of the wrong kind: each once went past the reader and was a traceback
#: (in the reader itself, in the diagram's layout or in the comparison).
DAMAGED = [
    ("event", "args", [1, 2], "'args' must be a JSON object"),
    ("event", "fd", "three", "'fd' must be a whole number or null"),
    ("event", "fd", [1, 2], "'fd' must be a whole number or null"),
    ("event", "size", 1.5, "'size' must be a whole number or null"),
    ("event", "size", "big", "'size' must be a whole number or null"),
    ("event", "t0", -5, "'t0' must be a time in nanoseconds"),
    ("header", "capture", "yes", "'capture' must be a JSON object"),
    ("header", "command", [1, 2], "'command' must be a list of strings"),
    ("header", "roles", "main", "'roles' must be a JSON object"),
    ("process", "exit", 3, "'exit' must be a JSON object"),
    ("process", "argv", [1, 2], "'argv' must be a list of strings"),
    ("packet", "seq", "one", "'seq' must be a whole number or null"),
    ("packet", "ack", [1, 2], "'ack' must be a whole number or null"),
]


@pytest.mark.parametrize(("kind", "field", "value", "said"), DAMAGED, ids=[f"{k}.{f}={v!r}" for k, f, v, _ in DAMAGED])
def test_a_field_of_the_wrong_kind_is_one_sentence_naming_the_line(tmp_path, kind, field, value, said):
    trace, line = _changed(tmp_path, kind, field, value)
    where = f"{trace}:{line}:"
    refused(ipctrace("show", str(trace)), where, said, "missing or bad field")
    out = tmp_path / "drawn"
    refused(ipctrace("render", str(trace), "--output", str(out), "--format", "mermaid,html"), where, said)
    assert not out.exists() or not any(out.iterdir())
    refused(ipctrace("diff", str(trace), str(trace)), where, said)


def test_a_header_of_no_format_and_a_process_listed_twice_are_damaged_traces(tmp_path):
    lines = _lines()
    header = json.loads(lines[0])
    zero = tmp_path / "version0.jsonl"
    zero.write_text(json.dumps({**header, "version": 0}) + "\n" + "".join(lines[1:]))
    refused(ipctrace("show", str(zero)), f"{zero}:1:", "trace format 0, which no ipctrace writes")

    twice = tmp_path / "twice.jsonl"
    other = {**json.loads(lines[1]), "role": "someone else"}
    twice.write_text(lines[0] + lines[1] + json.dumps(other) + "\n" + "".join(lines[2:]))
    pid = other["pid"]
    refused(ipctrace("show", str(twice)), f"{twice}:3:", f"process {pid} is listed again (first on line 2)")
    refused(ipctrace("diff", str(RECORDED), str(twice)), f"process {pid} is listed again")


def test_an_event_listed_twice_is_a_damaged_trace_named_by_its_lines(tmp_path):
    """Every stage knows an event by (pid, seq): a second line of the same pair would be read as the first."""
    lines = _lines()
    numbered = [(n, json.loads(line)) for n, line in enumerate(lines, 1)]
    events = [(n, obj) for n, obj in numbered if obj["type"] == "event"]
    n, first = events[len(events) // 2]
    tail = len(lines) + 1  # the copy goes at the end: far from the first, after the process's later events
    copied = tmp_path / "copied.jsonl"
    copied.write_text("".join(lines) + lines[n - 1])
    said = f"lines {n} and {tail} both hold event {first['seq']} of process {first['pid']}"
    refused(ipctrace("show", str(copied)), f"{copied}: {said}", "remove the copy")
    refused(ipctrace("render", str(copied), "--format", "text", "--output", str(tmp_path / "r")), said)
    refused(ipctrace("diff", str(RECORDED), str(copied)), said)
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").iterdir()), "nothing drawn from it"

    changed = tmp_path / "changed.jsonl"  # not a copy: another call under the same number, next to it
    other = {**first, "t0": first["t0"] + 1}
    changed.write_text("".join(lines[:n]) + json.dumps(other) + "\n" + "".join(lines[n:]))
    refused(ipctrace("show", str(changed)), f"lines {n} and {n + 1} both hold event {first['seq']}")
    assert ipctrace("show", str(RECORDED)).returncode == 0


def test_a_compressed_trace_says_how_to_uncompress_it(tmp_path):
    packed = tmp_path / "trace.jsonl.gz"
    packed.write_bytes(gzip.compress(RECORDED.read_bytes()))
    for command in (["show", str(packed)], ["render", str(packed)], ["diff", str(RECORDED), str(packed)]):
        refused(ipctrace(*command), f"{packed} is gzip-compressed", f"(gunzip {packed})")
    binary = tmp_path / "noise.bin"
    binary.write_bytes(bytes(range(128, 256)))
    refused(ipctrace("diff", str(RECORDED), str(binary)), "nor a golden file: it is not UTF-8 text")


def test_a_full_or_closed_standard_output_is_one_sentence(tmp_path):
    with open("/dev/full", "w") as full:
        refused(ipctrace("show", str(RECORDED), stdout=full), "cannot write the timeline to standard output (")
        refused(ipctrace("list", stdout=full), "cannot write the list of scenarios to standard output (")
        refused(
            ipctrace("diff", str(RECORDED), str(RECORDED), stdout=full),
            "cannot write the comparison to standard output",
        )
        run = ipctrace(
            "run", "--output", str(tmp_path), "--no-capture", "--no-render", "--", sys.executable,
            str(PROGRAMS / "killed_child.py"), stdout=full,
        )  # fmt: skip
    folder = tmp_path / "killed_child"
    refused(run, "cannot write the run's summary to standard output", f"the run's files are in {folder}")
    assert (folder / "trace.jsonl").stat().st_size > 0  # what the run recorded is kept

    closed = subprocess.run(
        [sys.executable, "-m", "ipctrace", "show", str(RECORDED)],
        stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: os.close(1),
    )  # fmt: skip
    refused(closed, "standard output is closed, so the timeline cannot be shown")


def test_a_script_without_its_hash_bang_line_is_refused_and_the_last_run_kept(tmp_path):
    script = tmp_path / "my_program.py"
    script.write_text("import os\nos.write(1, b'hello\\n')\n")  # no #! line, yet made executable
    script.chmod(0o755)
    good = ipctrace("run", "--output", str(tmp_path / "out"), "--name", "mine", "--no-capture", "--no-render",
                    "--", sys.executable, str(script))  # fmt: skip
    assert good.returncode == 0, good.stderr
    trace = tmp_path / "out" / "mine" / "trace.jsonl"
    before = trace.read_bytes()
    result = ipctrace("run", "--output", str(tmp_path / "out"), "--name", "mine", "--no-capture", "--", str(script))
    refused(result, f"cannot start main: '{script}' is not a program this system can run", "#!/usr/bin/env python3")
    assert trace.read_bytes() == before


def test_explore_says_a_bad_output_folder_or_program_before_it_explores(tmp_path):
    a_file = tmp_path / "a_file"
    a_file.write_text("mine\n")
    result = ipctrace("explore", "pipe2", "--output", str(a_file), "--no-render")
    refused(result, f"cannot write to the output folder {a_file}/pipe2/explore (Not a directory)", "--output DIR")
    assert a_file.read_text() == "mine\n"
    script = tmp_path / "not_executable.sh"
    script.write_text("echo hi\n")
    result = ipctrace("explore", "--output", str(tmp_path / "out"), "--no-render", "--", str(script))
    refused(result, f"cannot start main: '{script}' is not executable.")


def test_a_scenario_file_with_a_misspelt_ready_call_or_of_another_format(tmp_path):
    scenario = tmp_path / "mine.toml"
    scenario.write_text(
        'name = "mine"\n[[roles]]\nname = "server"\ncommand = ["{python}", "-c", "pass"]\nready = ["lisen"]\n'
        '[[roles]]\nname = "client"\ncommand = ["{python}", "-c", "pass"]\n'
    )
    refused(ipctrace("run", str(scenario), "--output", str(tmp_path / "out")), "'ready' in role #1 has 'lisen'")
    assert not (tmp_path / "out").exists()
    as_json = tmp_path / "mine.json"
    as_json.write_text('{"name": "mine"}\n')
    refused(ipctrace("run", str(as_json)), f"{as_json}: not valid TOML", "a scenario file is TOML")
    scenario.write_text('name = "mine"\noutcomes = "two"\n[[roles]]\nname = "main"\ncommand = ["true"]\n')
    refused(ipctrace("run", str(scenario)), "'outcomes' must be a whole number, not 'two'")


def test_diff_runs_a_scenario_file_as_it_runs_a_scenario_name(tmp_path):
    scenario = tmp_path / "mine.toml"
    scenario.write_text('name = "mine"\n[[roles]]\nname = "main"\ncommand = ["{python}", "-c", "print(1)"]\n')
    result = ipctrace("diff", str(scenario), str(scenario), "--output", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("equivalent")
    assert (tmp_path / "out" / "mine" / "diff" / "trace.jsonl").exists()
    assert (tmp_path / "out" / "mine" / "diff-b" / "trace.jsonl").exists()  # the same scenario, both runs kept
    assert f"its files are in {tmp_path / 'out' / 'mine' / 'diff'}" in result.stderr


def test_diff_against_a_scenario_keeps_the_run_it_was_given(tmp_path):
    """`ipctrace diff tests/golden/pipe3.json pipe3` after `ipctrace run pipe3`: the slides of that run stay."""
    kept = tmp_path / "out" / "socketpair_single"
    kept.mkdir(parents=True)
    (kept / "sequence-01.png").write_bytes(b"a lecturer's slide")
    golden = Path(__file__).parent / "golden" / "socketpair_single.json"
    result = ipctrace("diff", str(golden), "socketpair_single", "--output", str(tmp_path / "out"))
    assert result.returncode == 0 and result.stdout.strip() == "equivalent", result
    assert (kept / "sequence-01.png").read_bytes() == b"a lecturer's slide"
    assert (kept / "diff" / "trace.jsonl").is_file()


def test_a_title_with_a_control_character_is_drawn_as_its_escape(tmp_path):
    if shutil.which("neato") is None:
        pytest.skip("needs graphviz (scripts/install.sh installs it)")
    result = ipctrace("render", str(RECORDED), "--output", str(tmp_path), "--format", "svg", "--title", "bell\x07here")
    assert result.returncode == 0, result.stderr
    assert "bell\\x07here" in (tmp_path / "sequence.svg").read_text()


INNER_TEST = """
def test_pipe3(ipctrace):
    ipctrace.assert_matches("pipe3")
"""


def test_a_damaged_golden_fails_its_test_with_one_sentence(pytester):
    pytester.makepyfile(test_inner=INNER_TEST)
    golden = pytester.path / "golden" / "test_inner" / "test_pipe3.json"
    golden.parent.mkdir(parents=True)
    golden.write_text("{not json\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([f"*{golden}: neither a trace (trace.jsonl) nor a golden file: it is not JSON*"])
    result.stdout.fnmatch_lines(["*record it again from a good run with pytest --ipctrace-update*"])
    assert "CanonicalError" not in result.stdout.str()

    a_file = pytester.path / "goldens"
    a_file.write_text("not a folder\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-o", "ipctrace_golden_dir=goldens",
                                           "--ipctrace-update")  # fmt: skip
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*the golden trace *goldens/test_inner/test_pipe3.json cannot be written (*"])
    assert "NotADirectoryError" not in result.stdout.str()
    assert a_file.read_text() == "not a folder\n"


def test_diff_of_a_trace_whose_exit_holds_no_status_compares_it(tmp_path):
    lines = _lines()
    last = json.loads(lines[-1])
    assert last["call"] == "exit"
    odd = tmp_path / "odd_exit.jsonl"
    odd.write_text("".join(lines[:-1]) + json.dumps({**last, "res": [1, 2]}) + "\n")
    result = ipctrace("diff", str(odd), str(odd))
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert result.stdout.startswith("equivalent")


@pytest.fixture
def read_only_folder(tmp_path):
    """A folder nothing can be written in, even by root: a read-only tmpfs (as root), else a mode of 555."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
        return
    subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(folder)], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_render_into_a_read_only_folder_is_one_sentence(read_only_folder):
    result = ipctrace("render", str(RECORDED), "--output", str(read_only_folder), "--format", "svg,mermaid")
    refused(result, f"no diagram: cannot write the diagrams to {read_only_folder} (", "choose another folder")


def test_render_of_a_golden_file_says_what_it_is(tmp_path):
    golden = Path(__file__).parent / "golden" / "pipe3.json"
    result = ipctrace("render", str(golden), "--output", str(tmp_path))
    refused(result, f"{golden} is a golden file", "cannot be drawn: render the run's trace.jsonl")
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("summary", ["[1, 2]", '{"outcomes": [{"x": 1}]}', '{"outcomes": [{"id": 1, "schedule": 7}]}'])
def test_replaying_from_a_damaged_exploration_summary_says_to_explore_again(tmp_path, summary):
    path = tmp_path / "pipe2" / "explore" / "summary.json"
    path.parent.mkdir(parents=True)
    path.write_text(summary)
    result = ipctrace("run", "pipe2", "--schedule", "1", "--output", str(tmp_path), "--no-capture")
    refused(result, f"{path} is not shaped as an exploration's summary", "run `ipctrace explore pipe2` again")
    assert path.read_text() == summary


def test_a_program_typed_without_its_double_dash_is_told_how_to_trace_it(tmp_path):
    """The most common slip: the program's command where a scenario name goes; nothing runs, nothing is written."""
    (tmp_path / "hello.py").write_text("print('hi')\n")
    compiled = tmp_path / "pipe3"  # a course example compiled into this folder under the example's own name
    shutil.copy("/bin/true", compiled)
    python = Path(sys.executable).name
    refused(ipctrace("run", "python3", "hello.py", cwd=tmp_path), "'python3 hello.py' is not a scenario name",
            "ipctrace run -- python3 hello.py")  # fmt: skip
    refused(ipctrace("explore", "python3", "hello.py", cwd=tmp_path), "ipctrace explore -- python3 hello.py")
    refused(ipctrace("run", "hello.py", cwd=tmp_path), "hello.py is a program, not a scenario",
            f"ipctrace run -- {python} hello.py")  # fmt: skip
    refused(ipctrace("run", str(compiled), cwd=tmp_path), f"ipctrace run -- {compiled}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hello.py", "pipe3"]
    listed = ipctrace("list", "pipe3", cwd=tmp_path)  # the example's name still means the example
    assert listed.returncode == 0 and listed.stdout.startswith("pipe3: "), listed


def test_an_option_a_command_does_not_have_names_the_closest_ones(tmp_path):
    refused(ipctrace("run", "pipe3", "--ouput", str(tmp_path)), "`ipctrace run` has no option '--ouput'",
            "Did you mean --output", "`ipctrace run --help`")  # fmt: skip
    refused(ipctrace("render", str(RECORDED), "--fromat=svg"), "Did you mean --format?")
    refused(ipctrace("show", str(RECORDED), "again"), "`ipctrace show` does not take 'again' as well")
    assert list(tmp_path.iterdir()) == []


def test_show_takes_a_scenarios_name_for_its_run_and_a_folder_of_runs_names_them(tmp_path):
    nothing_yet = ipctrace("show", "pipe3", cwd=tmp_path)
    refused(nothing_yet, "pipe3 has no run in output/ yet", "`ipctrace run pipe3` records one.")
    (tmp_path / "output" / "pipe3").mkdir(parents=True)
    shutil.copy(RECORDED, tmp_path / "output" / "pipe3" / "trace.jsonl")
    shown = ipctrace("show", "pipe3", cwd=tmp_path)
    assert shown.returncode == 0 and " pipe " in shown.stdout and " fork " in shown.stdout, shown
    refused(ipctrace("render", "output", cwd=tmp_path), "output holds runs, not a trace of its own", "output/pipe3")


def test_a_runs_summary_given_for_its_trace_names_the_trace(tmp_path):
    shutil.copy(RECORDED, tmp_path / "trace.jsonl")
    (tmp_path / "summary.json").write_text('{\n  "ending": "complete"\n}\n')
    for command in ("show", "render"):
        refused(ipctrace(command, str(tmp_path / "summary.json")), "is one of a run's other files, not its trace",
                f"the trace is {tmp_path / 'trace.jsonl'}.")  # fmt: skip


def test_a_trace_cut_short_is_shown_and_drawn_up_to_the_cut_and_said_so(tmp_path):
    whole = RECORDED.read_bytes()
    cut = tmp_path / "trace.jsonl"
    cut.write_bytes(whole[: whole.index(b"\n", len(whole) // 2) + 30])  # half the file and a piece of a line
    lines = cut.read_bytes().count(b"\n")
    shown = ipctrace("show", str(cut))
    assert shown.returncode == 0 and " pipe " in shown.stdout, shown
    assert shown.stderr.strip() == (
        f"ipctrace: warning: {cut}:{lines + 1}: the last line is cut short (the file is truncated); "
        f"the {lines} whole lines before it are read, the rest of the run is not there."
    )
    drawn = ipctrace("render", str(tmp_path), "--format", "svg")
    assert drawn.returncode == 0 and (tmp_path / "sequence.svg").is_file(), drawn.stderr
    refused(ipctrace("diff", str(cut), str(RECORDED)), "the last line is cut short")  # a comparison stays strict
