"""The pytest plugin as a course maintainer uses it: pytest twice with pytester, update then check (as syrupy does).

Each inner test traces a real program (tests/programs/compare_stream_split.py,
or a small one written next to the inner test).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

PROGRAMS = Path(__file__).parent / "programs"
SPLIT = PROGRAMS / "compare_stream_split.py"

PARAMETRIZED = f"""
import sys

import pytest


@pytest.mark.parametrize("second", [{{params}}])
def test_echo(ipctrace, second):
    ipctrace.assert_matches(ipctrace.run_command(sys.executable, {str(SPLIT)!r}, "--second", second))
"""


def _write(pytester: pytest.Pytester, params: str) -> None:
    pytester.makepyfile(test_echo=PARAMETRIZED.format(params=params))


def test_parametrized_tests_have_a_golden_each(pytester):
    _write(pytester, '"ping", "pong"')
    result = pytester.runpytest_subprocess("--ipctrace-update")
    result.assert_outcomes(passed=2)
    folder = pytester.path / "golden" / "test_echo"
    assert sorted(p.name for p in folder.iterdir()) == ["test_echo[ping].json", "test_echo[pong].json"]
    for name in ("ping", "pong"):
        calls = json.loads((folder / f"test_echo[{name}].json").read_text())["processes"]["main"]["calls"]
        assert {"call": "write", "on": "pipe#1.w", "size": 4, "data": name} in calls
    result.stdout.fnmatch_lines(
        ["golden traces recorded: 2 new", "golden trace written (new): *test_echo[[]ping].json", "*test_echo[[]pong]*"]
    )
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=2)
    result = pytester.runpytest_subprocess("--ipctrace-update")
    result.stdout.fnmatch_lines(["golden traces recorded: 2 unchanged"])


def test_unused_goldens_are_reported_only_when_the_session_could_know(pytester):
    _write(pytester, '"ping", "pong", "bong"')
    pytester.runpytest_subprocess("--ipctrace-update").assert_outcomes(passed=3)
    _write(pytester, '"ping", "pong"')  # bong is gone from the test
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            "1 golden trace no test used in this session (delete them if no test needs them any more):",
            "unused golden trace: *golden/test_echo/test_echo[[]bong].json",
        ]
    )
    narrowed = pytester.runpytest_subprocess("-k", "ping")
    narrowed.assert_outcomes(passed=1, deselected=1)
    assert "unused golden" not in narrowed.stdout.str(), "a narrowed session cannot know what the others use"
    assert (pytester.path / "golden" / "test_echo" / "test_echo[bong].json").exists(), "reported, never deleted"


def test_a_golden_written_twice_from_different_runs_is_an_error(pytester):
    pytester.makepyfile(
        test_shared=f"""
import sys

import pytest


@pytest.mark.parametrize("second", ["ping", "pong"])
def test_shared(ipctrace, second):
    ipctrace.assert_matches(ipctrace.run_command(sys.executable, {str(SPLIT)!r}, "--second", second), name="shared")
"""
    )
    result = pytester.runpytest_subprocess("--ipctrace-update")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*shared.json was already written in this session by test_shared.py::test_shared[[]ping], from a run that "
            "differs*",
            "*main: expected write 'ping' (4 B) on pipe#1.w; got write 'pong' (4 B) on pipe#1.w*",
        ]
    )
    assert "ping" in (pytester.path / "golden" / "shared.json").read_text(), "the first write stays"


def test_a_golden_recorded_with_one_path_passes_with_another(pytester, monkeypatch):
    """`python3` found on PATH as a wrapper script (argv[0] absolute) when recording, as a link when checking."""
    pytester.makepyfile(
        test_path=f"""
def test_path(ipctrace):
    ipctrace.assert_matches(ipctrace.run_command("python3", {str(SPLIT)!r}))
"""
    )
    wrapper, link = pytester.mkdir("wrapper"), pytester.mkdir("link")
    (wrapper / "python3").write_text(f'#!/bin/sh\nexec {sys.executable} "$@"\n')
    (wrapper / "python3").chmod(0o755)
    (link / "python3").symlink_to(sys.executable)
    path = os.environ.get("PATH", "")
    monkeypatch.setenv("PATH", f"{wrapper}{os.pathsep}{path}")
    pytester.runpytest_subprocess("--ipctrace-update").assert_outcomes(passed=1)
    golden = json.loads((pytester.path / "golden" / "test_path" / "test_path.json").read_text())
    assert golden["processes"]["main"]["argv"] == ["python", "compare_stream_split.py"]
    monkeypatch.setenv("PATH", f"{link}{os.pathsep}{path}")
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=1)


def test_relative_programs_are_found_next_to_the_test_from_any_folder(pytester):
    tests = pytester.mkdir("tests")
    (tests / "programs").mkdir()
    shutil.copy(SPLIT, tests / "programs" / "split.py")
    (tests / "test_relative.py").write_text(
        "def test_relative(ipctrace):\n"
        '    run = ipctrace.run_command("python3", "programs/split.py")\n'
        "    assert run.process('main').argv == ('python', 'split.py')\n"
        "    ipctrace.assert_matches(run)\n"
    )
    pytester.runpytest_subprocess("--ipctrace-update", "tests").assert_outcomes(passed=1)  # from the project's root
    assert (tests / "golden" / "test_relative" / "test_relative.json").exists()
    os.chdir(tests / "programs")  # pytester restores the working directory after the test
    pytester.runpytest_subprocess(str(tests)).assert_outcomes(passed=1)


def test_a_crashed_run_shows_its_exit_status_and_output_not_the_update_hint(pytester):
    crash = pytester.makepyfile(
        crash="import sys\nprint('about to fail', flush=True)\nsys.stderr.write('boom: the config is missing\\n')\n"
        "raise SystemExit(3)\n"
    )
    pytester.makepyfile(
        test_crash=f"""
import sys


def test_crash(ipctrace):
    ipctrace.assert_matches(ipctrace.run_command(sys.executable, {str(crash)!r}))
"""
    )
    for args in (("--ipctrace-update",), ()):
        result = pytester.runpytest_subprocess(*args)
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(["*main ended with exit 3*", "*boom: the config is missing*"])
        assert "record it: pytest --ipctrace-update" not in result.stdout.str()
        assert "run pytest with --ipctrace-update" not in result.stdout.str()
        result.stdout.fnmatch_lines(["*the traced run failed, so it was not compared with its golden trace *"])
        assert "does not match" not in result.stdout.str()
    assert not (pytester.path / "golden").exists(), "no golden is recorded from a failed run"
