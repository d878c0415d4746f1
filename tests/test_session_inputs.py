"""Bad input is one sentence and a non-zero exit, before anything runs: numbers out of range, files that are
not what they should be (devices, FIFOs with no writer, binary files, JSON of another shape).

The commands run with a memory limit and a time limit, so a reader without a bound fails the test
instead of the machine.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROGRAMS, refused

MEMORY_LIMIT = 2 * 1024**3  # bytes of address space: far more than ipctrace needs, far less than /dev/zero


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def ipctrace(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ipctrace", *args],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        cwd=cwd,
        preexec_fn=_limit_memory,
    )


ROLE = '[[roles]]\nname = "main"\ncommand = ["{python}", "-c", "print(1)"]\n'


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--timeout", "nan", "--timeout is nan: give a number above 0 and at most 86400 seconds"),
        ("--timeout", "inf", "--timeout is inf"),
        ("--timeout", "-3", "--timeout is -3.0"),
        ("--port", "70000", "--port is 70000: give a whole number from 0 to 65,535"),
        ("--payload-cap", "99999999999", "--payload-cap is 99999999999"),
        ("--max-pages", "0", "--max-pages 0 is not a number of pages"),
        ("--font-size", "nan", "font size nan is out of range"),
    ],
)
def test_a_bad_number_on_the_command_line_is_refused_before_the_run(tmp_path, option, value, message):
    result = ipctrace(
        "run",
        option,
        value,
        "--output",
        str(tmp_path),
        "--no-capture",
        "--",
        sys.executable,
        str(PROGRAMS / "timeouts.py"),
    )
    refused(result, message)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("timeout = nan\n" + ROLE, "'timeout' is nan"),
        ("timeout = inf\n" + ROLE, "'timeout' is inf"),
        ("timeout = 5\n[ending]\nidle = -5\n" + ROLE, "'idle' in [ending] is -5: give a number above 0 and at most 5"),
        ("[ending]\nidle = nan\n" + ROLE, "'idle' in [ending] is nan"),
    ],
)
def test_a_bad_number_in_a_scenario_file_is_refused_with_its_key(tmp_path, text, message):
    toml = tmp_path / "numbers.toml"
    toml.write_text(text)
    result = ipctrace("run", str(toml), "--output", str(tmp_path / "out"), "--no-capture")
    refused(result, str(toml), message)
    assert not (tmp_path / "out").exists()


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "fifo"
    os.mkfifo(path)
    return path


def test_show_reads_only_trace_files(tmp_path, fifo):
    refused(ipctrace("show", "/dev/zero"), "/dev/zero is a character device, not a trace file")
    refused(ipctrace("show", str(fifo)), f"{fifo} is a FIFO (named pipe), not a trace file")
    array = tmp_path / "list.json"
    array.write_text("[1, 2, 3]")
    refused(ipctrace("show", str(array)), "starts with a JSON list; it is not a trace file")
    huge = tmp_path / "huge.bin"
    with open(huge, "wb") as f:
        f.truncate(4 * 1024**3)  # 4 GiB of zeros (sparse): refused after its first megabyte
    refused(ipctrace("show", str(huge)), "not a trace file")
    event = tmp_path / "event.jsonl"
    header = {"type": "header", "version": 1, "command": [], "host": "h", "clock": "c", "started": 0}
    event.write_text(json.dumps(header) + "\n" + '{"type": "event", "pid": 1}\n')
    refused(ipctrace("show", str(event)), f"{event}:2: an event with a missing or bad field")


def test_run_reads_only_scenario_and_script_files(tmp_path, fifo):
    refused(ipctrace("run", "/dev/zero", "--no-capture"), "/dev/zero is a character device, not a scenario file")
    refused(ipctrace("run", str(fifo), "--no-capture"), "is a FIFO (named pipe), not a scenario file")
    binary = tmp_path / "script.bin"
    binary.write_bytes(b"client: \xff\xfe hello\n")
    result = ipctrace("run", "tcp_chat", "--script", str(binary), "--output", str(tmp_path / "out"), "--no-capture")
    refused(result, f"{binary} is not UTF-8 text (byte 8 is 0xff), so it cannot be a script file")
    result = ipctrace("run", "tcp_chat", "--script", "/dev/zero", "--output", str(tmp_path / "out"), "--no-capture")
    refused(result, "/dev/zero is a character device, not a script file")
    script = tmp_path / "chat.txt"
    script.write_text("client: hello\n\nclient hi\n")  # its third line lacks the colon
    result = ipctrace("run", "tcp_chat", "--script", str(script), "--output", str(tmp_path / "out"), "--no-capture")
    refused(result, f"{script}:3: scripted input 'client hi' must look like ROLE:TEXT")
    refused(ipctrace("run", "tcp_chat", "--say", "hello", "--no-capture"), "--say: scripted input 'hello' must look")
    assert not (tmp_path / "out").exists()


def test_diff_says_what_a_file_is_in_words(tmp_path, fifo):
    array = tmp_path / "list.json"
    array.write_text("[1, 2, 3]\n")
    empty = tmp_path / "empty.json"
    empty.write_text("")
    shapeless = tmp_path / "shapeless.json"
    shapeless.write_text(json.dumps({"format": "ipctrace-canonical/1", "processes": [1, 2]}) + "\n")
    golden = Path(__file__).parent / "golden" / "pipe1.json"
    cases = {
        array: "it is JSON, but a list, and a golden file is an object of format",
        empty: "it is empty",
        shapeless: "are not shaped as a golden file's are",
        fifo: "is a FIFO (named pipe), not a trace or golden file",
    }
    for path, message in cases.items():
        result = ipctrace("diff", str(path), str(golden))
        refused(result, message)
        for internal in ("object has no attribute", "Expecting value", "char 0", "KeyError", "TypeError"):
            assert internal not in result.stderr, result.stderr
