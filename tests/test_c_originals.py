"""The C originals (reference_programs/c/) do what their Python ports do: the same output, files and IPC.

Two kinds of test, for every scenario, both driven by the scenario file (the same roles, commands,
scripted input, readiness and expected ending as `ipctrace run`):

- untraced, the C original and the Python port run side by side and each role prints the same bytes,
  ends the same way and leaves the same files;
- under `strace -f -yy -xx`, the C original's data calls on pipes, sockets and its standard streams
  (call, byte count, bytes) are, role by role, the ones the Python port's ipctrace trace records.
  Differences in other calls are listed per scenario in reference_programs/c/README.md.

Roles start once the previous one is ready as /proc/net shows it (listening, bound), scripted lines
are given one at a time when a process of the role waits in read() on its standard input, and a run
that by design ends blocked is stopped once its processes wait where the scenario says — never after a
fixed sleep.
"""

from __future__ import annotations

import concurrent.futures
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ipctrace.calls import DATA_CALLS, Call, spec, syscall_name, syscalls_for
from ipctrace.cprograms import C_SOURCES, CProgramsUnavailable, built_programs, program_names
from ipctrace.scenarios import (
    PROGRAMS_DIR,
    Impl,
    Scenario,
    ScenarioError,
    builtin_scenarios,
    find_scenario,
    load_scenario,
)
from ipctrace.session import RunOptions, choose_port, generate_file, run_scenario
from ipctrace.unrecorded import GroupWatch, reached, waits_for_input
from tests import strace_log
from tests.conftest import can_capture, ipctrace, missing, need_tool
from tests.strace_log import BLOCKED, STRACED, Entry

ROOT = Path(__file__).resolve().parents[1]
WAIT = 10.0  # seconds: the most any single wait may take
POLL = 0.005
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
SCENARIOS = sorted(builtin_scenarios())


@pytest.fixture(scope="module")
def cbin() -> Path:
    """The built C originals (set-up builds them; this builds what is missing or stale)."""
    try:
        return built_programs()
    except CProgramsUnavailable as exc:
        missing(f"the C originals built ({exc})")


# -- running a scenario's roles, untraced or under a wrapper (strace) --------------------------------


@dataclass
class RoleRun:
    name: str
    proc: subprocess.Popen[bytes]
    script: deque[str]
    wrapped: bool  # started under strace: proc is strace, the program is its child
    watch: GroupWatch = field(init=False)
    out: bytearray = field(default_factory=bytearray)
    err: bytearray = field(default_factory=bytearray)
    threads: list[threading.Thread] = field(default_factory=list)
    terminated: bool = False

    def __post_init__(self) -> None:
        self.watch = GroupWatch(self.proc.pid)  # each role runs in a session of its own
        for stream, sink in ((self.proc.stdout, self.out), (self.proc.stderr, self.err)):
            thread = threading.Thread(target=_collect, args=(stream, sink), daemon=True)
            thread.start()
            self.threads.append(thread)

    def pids(self, fresh: bool = False) -> set[int]:
        """Its live processes (the wrapper's own excluded)."""
        return {p for p in ({self.proc.pid} | self.watch.scan(force=fresh)) if _alive(p)} - self.tracer()

    def tracer(self) -> set[int]:
        return {self.proc.pid} if self.wrapped else set()

    def ended(self) -> bool:
        return self.proc.poll() is not None and not self.pids(fresh=True)


def _collect(stream, sink: bytearray) -> None:
    for chunk in iter(lambda: os.read(stream.fileno(), 65536), b""):
        sink += chunk
    stream.close()


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


def _waits_in(pid: int) -> str | None:
    """The system call `pid` sleeps in; None while it runs (a process just woken is running, not waiting)."""
    try:
        if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "S":
            return None
        fields = Path(f"/proc/{pid}/syscall").read_text().split()
    except (OSError, IndexError):
        return None
    return syscall_name(int(fields[0])) if fields and fields[0].isdigit() else None


@dataclass(frozen=True)
class Outcome:
    outputs: dict[str, bytes]  # what each role printed
    errors: dict[str, bytes]
    codes: dict[str, int | None]  # exit status; None: stopped where the scenario expects it to block
    files: dict[str, bytes]  # the files the run left in its folder
    ending: str  # complete or expected-blocked


def run_roles(
    scenario: Scenario,
    workdir: Path,
    cbin: Path,
    wrap: Callable[[str, list[str]], list[str]] | None = None,
) -> Outcome:
    """Run the scenario's roles as `ipctrace run` would, without any recorder."""
    workdir.mkdir(parents=True, exist_ok=True)
    for name, size in scenario.generate.items():
        generate_file(workdir / name, size)
    port = choose_port(0, scenario.protocols) if scenario.uses_port else 0
    subst = {
        "python": sys.executable,
        "programs": str(PROGRAMS_DIR),
        "cbin": str(cbin),
        "port": str(port),
        "outdir": str(workdir),
        "here": str(workdir),
    }
    runs: list[RoleRun] = []
    try:
        for role in scenario.roles:
            argv = [arg.format(**subst) for arg in role.command]
            if wrap is not None:
                argv = wrap(role.name, argv)
            proc = subprocess.Popen(
                argv,
                cwd=workdir,
                env=ENV,
                stdin=subprocess.PIPE if role.stdin is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
            runs.append(RoleRun(role.name, proc, deque(role.stdin or ()), wrap is not None))
            if role.ready:
                _wait(runs, lambda r=runs[-1], c=role.ready: reached(r.pids(), c) or r.ended(), f"{role.name} ready")
        ending = _finish(scenario, runs, workdir)
        codes = {r.name: r.proc.poll() for r in runs}  # None: left blocked, as the scenario expects
        _stop(runs)
        return Outcome(
            outputs={r.name: bytes(_joined(r).out) for r in runs},
            errors={r.name: bytes(r.err) for r in runs},
            codes=codes,
            files={p.name: p.read_bytes() for p in sorted(workdir.iterdir()) if p.is_file()},
            ending=ending,
        )
    finally:
        _stop(runs)


def _stop(runs: list[RoleRun]) -> None:
    """Kill what is left of the run (by pid, each role's own processes only) and collect its output.

    A tracer is left to end by itself once its programs are gone, so its log is complete.
    """
    for run in runs:
        for pid in run.pids(fresh=True):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            run.proc.wait(WAIT)
        except subprocess.TimeoutExpired:
            run.proc.kill()
            run.proc.wait(WAIT)
        _joined(run)


def _joined(run: RoleRun) -> RoleRun:
    for thread in run.threads:
        thread.join(WAIT)
    return run


def _give_input(runs: list[RoleRun]) -> None:
    """A role whose process waits in read() on its empty stdin gets its next line, or end of input."""
    for run in runs:
        stdin = run.proc.stdin
        if stdin is None or stdin.closed or not waits_for_input(run.pids(), stdin.fileno()):
            continue
        if run.script:
            stdin.write(run.script.popleft().encode())
            stdin.flush()
        else:
            stdin.close()


def _wait(runs: list[RoleRun], done: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not done():
        if time.monotonic() > deadline:
            shown = {r.name: (bytes(r.out), bytes(r.err)) for r in runs}
            pytest.fail(f"timed out waiting for {what}; so far: {shown}")
        _give_input(runs)
        time.sleep(POLL)


def _program_pid(run: RoleRun) -> int:
    """The role's first program: the process ipctrace would have started (under strace, strace's child)."""
    if not run.wrapped:
        return run.proc.pid
    for pid in run.pids(fresh=True):
        try:
            if int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1]) == run.proc.pid:
                return pid
        except (OSError, IndexError, ValueError):
            continue
    return run.proc.pid


def _finish(scenario: Scenario, runs: list[RoleRun], workdir: Path) -> str:
    """Wait for the run's end: every role done (a service gets SIGTERM once the others are done and its
    children have ended), or the processes blocked where the scenario's [ending] says, its files complete."""
    by_name = {r.name: r for r in runs}
    services = [r for r, role in zip(runs, scenario.roles, strict=True) if role.service]
    ending = scenario.ending

    def expected_blocked() -> bool:
        if ending is None:
            return False
        blocked_roles = {role for role, _ in ending.blocked}
        if not all(r.ended() for r in runs if r.name not in blocked_roles):
            return False
        for role, call in ending.blocked:
            # Looked at twice: a child forked while one pass over /proc ran is in the second pass.
            first, second = by_name[role].pids(fresh=True), by_name[role].pids(fresh=True)
            if not first or first != second or any(_waits_in(p) not in syscalls_for([call]) for p in second):
                return False
        return all(_same_file(workdir / a, workdir / b) for a, b in scenario.same_files)

    def done() -> bool:
        if expected_blocked():
            return True
        if not all(r.ended() for r in runs if r not in services):
            return False
        for service in services:
            if not service.terminated and len(service.pids(fresh=True)) <= 1:  # its children have ended
                os.kill(_program_pid(service), signal.SIGTERM)
                service.terminated = True
        return all(r.ended() for r in runs)

    _wait(runs, done, "the run to end")
    return "complete" if all(r.proc.poll() is not None for r in runs) else "expected-blocked"


def _same_file(a: Path, b: Path) -> bool:
    return a.exists() and b.exists() and a.read_bytes() == b.read_bytes()


# -- what a run printed, made comparable -------------------------------------------------------------

_PIDS = re.compile(rb"(\[(?:parent|child):|removed proc id: )\d+")
#: Roles whose lines interleave as the timing falls (SIGCHLD reports between the handlers' lines).
UNORDERED = {("echo_storeserv", "server")}
#: Scenarios whose outcome the scheduler decides when nothing forces it (ipctrace forces child-first).
RACES = {
    "pipe2_nosleep": {
        b"Child proc output: Who are you? \n": "expected-blocked",
        b"Parent proc output: Who are you? \nChild proc output: Thank you for your message \n": "complete",
    }
}


def _pidless(data: bytes) -> bytes:
    return _PIDS.sub(rb"\1PID", data)


def _comparable(scenario: str, role: str, output: bytes) -> bytes | list[bytes]:
    output = _pidless(output)
    return sorted(output.splitlines(keepends=True)) if (scenario, role) in UNORDERED else output


# -- untraced: the same output, ending and files ------------------------------------------------------


@pytest.mark.parametrize("name", SCENARIOS)
def test_c_original_prints_and_writes_what_the_python_port_does(name: str, cbin: Path, tmp_path: Path) -> None:
    scenario = find_scenario(name)
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        c_run = pool.submit(run_roles, scenario.for_impl(Impl.C), tmp_path / "c", cbin)
        py_run = pool.submit(run_roles, scenario, tmp_path / "python", cbin)
        c, py = c_run.result(), py_run.result()

    assert c.errors == py.errors == {role.name: b"" for role in scenario.roles}
    assert b"".join(c.outputs.values()), "every example prints something"
    if name in RACES:  # untraced, either process may read first; each outcome has its own ending
        for run in (c, py):
            (output,) = run.outputs.values()
            assert output in RACES[name] and run.ending == RACES[name][output], output
        return
    for role in scenario.roles:
        assert _comparable(name, role.name, c.outputs[role.name]) == _comparable(name, role.name, py.outputs[role.name])
    assert c.ending == py.ending == ("expected-blocked" if scenario.ending else "complete")
    assert c.codes == py.codes
    assert all(code in (0, None) for code in c.codes.values()), c.codes
    assert c.files == py.files
    for first, second in scenario.same_files:
        assert c.files[first] == c.files[second] and len(c.files[first]) > 1024  # several datagrams


def test_echo_storeserv_c_stores_the_first_ten_reads(cbin: Path, tmp_path: Path) -> None:
    """The file the storing child writes is the first 10 of the 12 lines, whichever program wrote it."""
    scenario = find_scenario("echo_storeserv")
    c = run_roles(scenario.for_impl(Impl.C), tmp_path, cbin)
    lines = [line for role in scenario.roles[1:] for line in role.stdin or () if line != "q\n"]
    assert c.files["echomsg.txt"] == "".join(lines[:10]).encode()
    removed = re.findall(rb"removed proc id: \d+ \n", c.outputs["server"])
    assert len(set(removed)) == 3  # the storing child and both client handlers, each reaped once


def test_chat_exit_c_ends_on_any_line_starting_with_exit(cbin: Path, tmp_path: Path) -> None:
    """The quirk kept from the notes: strncmp(buffer, "exit", 4) also ends on `exiting now`."""
    scenario = find_scenario("tcp_chat_exit").for_impl(Impl.C).with_stdin("client", ("exiting now\n",))
    c = run_roles(scenario, tmp_path, cbin)
    assert c.outputs == {
        "server": b"Waiting for a connection...\nConnection established with client.\n",
        "client": b"Connected to server.\nClient: ",
    }


# -- under strace: the data calls of the Python port's trace ------------------------------------------

#: How the Python trace names the program's standard streams.
_STREAMS = {Call.STDIN: "stdin", Call.STDOUT: "stdout", Call.STDERR: "stderr"}


def strace_calls(log: Path, role: str) -> dict[str, list[Entry]]:
    """Per process of a role (named as ipctrace names them: role, role/child#1, ...), its data calls on
    pipes, sockets and the standard streams, from `strace -f -yy -xx` output."""
    seen = strace_log.processes(log, failures=False)
    roles, queue = {seen.first: role}, [seen.first]
    while queue:
        parent = queue.pop(0)
        for k, child in enumerate(seen.children.get(parent, ()), 1):
            roles[child] = f"{roles[parent]}/child#{k}"
            queue.append(child)
    return {roles[pid]: seen.entries.get(pid, []) for pid in roles}


def python_calls(trace) -> dict[str, list[Entry]]:
    """Per process of a Python port's trace, its data calls and standard-stream reads and writes."""
    out: dict[str, list[Entry]] = {}
    for proc in trace.processes:
        entries: list[Entry] = []
        for event in trace.events_of(proc.pid):
            call = Call(event.call) if event.call in {c.value for c in Call} else Call.UNKNOWN
            stream = trace.stream_of(event)
            if stream is not None:  # the bytes the program read or wrote at fd 0, 1, 2
                key = stream.value
            elif call in _STREAMS:
                key = _STREAMS[call]
            elif call in DATA_CALLS:
                key = spec(call).syscalls[0]
            else:
                continue
            if event.blocked:
                entries.append((key, BLOCKED))
            else:
                assert event.data is not None and len(event.data) == event.size, "payload capped"
                entries.append((key, event.data))
        out[proc.role] = entries
    return out


def _joined_streams(entries: list[Entry]) -> list[Entry]:
    """Consecutive writes to one standard stream as one: how output is cut depends on buffering, not the program."""
    out: list[Entry] = []
    for key, value in entries:
        if out and key in ("stdout", "stderr") and out[-1][0] == key and isinstance(value, bytes):
            previous = out[-1][1]
            if isinstance(previous, bytes):
                out[-1] = (key, previous + value)
                continue
        out.append((key, value))
    return out


def _fidelity_form(scenario: str, calls: dict[str, list[Entry]]) -> dict[str, list[Entry]]:
    out = {}
    for role, entries in calls.items():
        entries = _joined_streams(entries)
        entries = [(k, _pidless(v) if isinstance(v, bytes) and k == "stdout" else v) for k, v in entries]
        if (scenario, role) in UNORDERED:  # its printed lines too: the joined output holds them in the run's order
            lines = [("stdout", line) for k, v in entries if k == "stdout" for line in v.splitlines(keepends=True)]
            entries = sorted([e for e in entries if e[0] != "stdout"] + lines, key=repr)
        out[role] = entries
    return out


@pytest.fixture(scope="module")
def strace() -> str:
    return need_tool("strace")


@pytest.mark.parametrize("name", SCENARIOS)
def test_c_original_makes_the_data_calls_of_the_python_port(name: str, cbin: Path, strace: str, tmp_path: Path) -> None:
    scenario = find_scenario(name)
    logs = tmp_path / "strace"
    logs.mkdir()
    # schedule = "child-first" is the recorders' to force; here strace delays the parent's return from
    # fork instead, and the test checks below that the child did read first.
    child_first = ["-e", "inject=clone:delay_exit=500000"] if scenario.schedule == "child-first" else []

    def wrap(role: str, argv: list[str]) -> list[str]:
        trace = ["-e", "trace=" + ",".join(STRACED), *child_first, "-o", str(logs / role)]
        return [strace, "-f", "-qq", "-yy", "-xx", "-s", "65536", *trace, *argv]

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        c_run = pool.submit(run_roles, scenario.for_impl(Impl.C), tmp_path / "c", cbin, wrap)
        result = run_scenario(scenario, RunOptions(outdir=tmp_path / "python", capture="none", port=0))
        c = c_run.result()
    assert result.ok, result.message
    if scenario.schedule == "child-first":
        assert c.outputs["main"] == b"Child proc output: Who are you? \n", "the forced interleaving did not happen"

    native: dict[str, list[Entry]] = {}
    for role in scenario.roles:
        native.update(strace_calls(logs / role.name, role.name))
    python = python_calls(result.trace)
    assert sorted(native) == sorted(python), "the same processes"
    native, python = _fidelity_form(name, native), _fidelity_form(name, python)
    for role in python:
        assert native[role] == python[role], role
    assert any(k not in ("stdin", "stdout", "stderr") for entries in native.values() for k, _ in entries)


# -- building, the scenario files, the catalogue ------------------------------------------------------


def test_every_c_original_builds_without_a_warning(tmp_path: Path) -> None:
    need_tool("make")
    need_tool("gcc")
    done = subprocess.run(
        ["make", "-s", "-j2", "-C", str(C_SOURCES), f"BUILD={tmp_path}"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == program_names()
    assert len(program_names()) == 24  # 17 printed in the seeds, pipe2_nosleep, echo ×2, Unix sockets ×4


def test_an_installed_copy_is_built_into_the_cache(cbin: Path, tmp_path: Path, monkeypatch) -> None:
    """A wheel's sources are never written to: the programs go to $XDG_CACHE_HOME/ipctrace/c-programs/."""
    src = tmp_path / "site-packages" / "ipctrace" / "reference_programs" / "c"
    src.mkdir(parents=True)
    for path in C_SOURCES.iterdir():
        if path.is_file():
            shutil.copy2(path, src / path.name)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    built = built_programs(src)
    assert built.parent == tmp_path / "cache" / "ipctrace" / "c-programs"
    assert sorted(p.name for p in src.iterdir()) == sorted(p.name for p in C_SOURCES.iterdir() if p.is_file())
    done = subprocess.run([str(built / "socketpair_single")], capture_output=True, check=True)
    assert done.stdout == b"[send] This is from sd[0]\n[received] This is from sd[0]\n"
    assert built_programs(src) == built  # built once: the second call finds them up to date
    assert (built / "pipe1").stat().st_mode & stat.S_IXUSR


def test_every_scenario_has_a_c_original_with_the_python_ports_arguments() -> None:
    used = set()
    for name in SCENARIOS:
        scenario = find_scenario(name)
        assert scenario.has_c_original, name
        for role in scenario.roles:
            assert role.c_command is not None
            program, *args = role.c_command
            assert program.startswith("{cbin}/") and (C_SOURCES / f"{program[7:]}.c").is_file(), program
            assert role.command[1] == "{programs}/" + program[7:] + ".py", "the C original of the same port"
            assert args == list(role.command[2:]), "the same options as the Python port"
            used.add(program[7:])
    assert used == set(program_names())


def test_catalogue_lists_every_program_its_seed_and_every_scenario() -> None:
    catalogue = (C_SOURCES / "README.md").read_text(encoding="utf-8")
    for program in program_names():
        heading = f"### {program}.c"
        assert heading in catalogue, heading
        section = catalogue.split(heading, 1)[1].split("\n### ", 1)[0]
        assert "Seed:" in section and "Deviations:" in section, program
        source = (C_SOURCES / f"{program}.c").read_text(encoding="utf-8")
        if "none" not in section.split("Deviations:", 1)[1].split("\n", 1)[0].lower():
            assert "deviation" in source, f"{program}.c comments its deviations where they are"
    for name in SCENARIOS:
        assert f"#### {name}\n" in catalogue, name


def test_c_command_is_checked_like_the_rest_of_the_file(tmp_path: Path) -> None:
    role = '[[roles]]\nname = "a"\ncommand = ["{python}", "a.py"]\n'
    mistakes = {
        role + 'c_command = "a"\n': "'c_command' in role #1 must be a list",
        role + 'c_command = ["{cbin}/a", "{prot}"]\n': r"'c_command' in role #1 has '\{prot\}'",
        role + "c_command = []\n": "'c_command' in role #1 is empty",
        role + 'c_command = ["{cbin}/a"]\n' + role.replace('"a"', '"b"', 1): "role 'b' has no 'c_command'",
    }
    for n, (text, message) in enumerate(mistakes.items()):
        path = tmp_path / f"bad{n}.toml"
        path.write_text(text)
        with pytest.raises(ScenarioError, match=message):
            load_scenario(path)
    plain = tmp_path / "plain.toml"
    plain.write_text(role)
    with pytest.raises(ScenarioError, match="has no C original.*these have one: echo_storeserv"):
        load_scenario(plain).for_impl(Impl.C)


# -- ipctrace run --impl c, and a C program after `--` -------------------------------------------------


def test_run_impl_c_runs_the_same_scenario_and_keeps_outputs_and_packets(cbin: Path, tmp_path: Path) -> None:
    """The run starts, scripts and ends the C programs as it does the ports, records them (the native
    recorder), keeps what they printed and their packets, and draws them."""
    py = run_roles(find_scenario("tcp_chat"), tmp_path / "python", cbin)
    done = ipctrace("run", "tcp_chat", "--impl", "c", "--port", "0", "--output", str(tmp_path), timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    outdir = tmp_path / "tcp_chat-c"
    assert (outdir / "sequence.svg").is_file()
    for role in ("server", "client"):
        assert (outdir / f"{role}.out").read_bytes() == py.outputs[role]
    assert "[client] Client: Hello, server!" in done.stdout  # the script, given when asked
    from ipctrace.tracefile import read_trace

    trace = read_trace(outdir / "trace.jsonl")
    assert {"socket", "connect", "accept", "send", "read", "write"} <= {e.call for e in trace.events}
    if can_capture() is None:
        assert trace.header.capture.kept >= 3 + 6 + 3, trace.header.capture  # handshake, six lines, closing
    listing = ipctrace("list", timeout=60)
    assert re.search(r"^tcp_chat +004 +C ", listing.stdout, re.M), listing.stdout
    one = ipctrace("list", "tcp_chat", timeout=60)
    assert "C original (--impl c): {cbin}/tcp_chat_client --port {port}" in one.stdout


def test_run_a_c_program_after_the_double_dash(cbin: Path, tmp_path: Path) -> None:
    done = ipctrace("run", "--output", str(tmp_path), "--no-render", "--", "./socketpair_single", cwd=cbin, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"main \[\d+\] +socketpair .* -> 3, 4\n", done.stdout), done.stdout  # recorded
    assert (tmp_path / "socketpair_single" / "main.out").read_bytes() == (
        b"[send] This is from sd[0]\n[received] This is from sd[0]\n"
    )
    refused = ipctrace("run", "--impl", "c", "--", "./socketpair_single", cwd=cbin, timeout=60)
    assert refused.returncode == 2 and "runs as it is" in refused.stderr


def test_without_a_compiler_the_c_originals_are_one_sentence(tmp_path: Path, monkeypatch) -> None:
    src = tmp_path / "site-packages" / "c"
    shutil.copytree(C_SOURCES, src, ignore=shutil.ignore_patterns("build"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    with pytest.raises(CProgramsUnavailable, match=r"gcc and make are not installed here: install them \(Debian"):
        built_programs(src)
    assert not (tmp_path / "cache").exists(), "nothing written before the tools are there"
