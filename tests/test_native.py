"""The native recorder (record/native/): the LD_PRELOAD library that records every program that is not Python.

It writes the Python recorder's log format (record/FORMAT.md, writer 2). These tests run small C programs
(tests/programs/native/) under it, directly and through `ipctrace run`, and check the records: every
wrapped call with its fields, output where libc really writes it, programs that behave as untraced, kills,
descriptors reused behind its back, threads, the hand-over between the two recorders, and the programs it
cannot enter. The course examples' C originals are tests/test_native_scenarios.py.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

import pytest

from ipctrace.calls import Call, native_wrapped
from ipctrace.cprograms import NativeUnavailable, native_library
from ipctrace.model import Stream
from ipctrace.record import layout, tracing_environment
from ipctrace.record.native import NATIVE_SOURCES
from ipctrace.record.reader import read_logs
from ipctrace.scenarios import Impl, adhoc_scenario
from ipctrace.session import RunOptions, RunResult, run_scenario
from tests.conftest import missing, need_tool

PROGRAMS = Path(__file__).parent / "programs" / "native"
#: What the library exports besides the calls of the table: streams and the descriptor table, the map of
#: loaded libraries, and the stand-down the Python recorder calls.
NOT_CALLS = {
    "fdopen": "a pipe or socket stream whose reads and writes are the recorded calls",
    "fclose": "forgets the descriptor libc closes",
    "pclose": "forgets the descriptor libc closes",
    "fopen": "forgets a number libc reuses",
    "fopen64": "forgets a number libc reuses",
    "freopen": "forgets a number libc reuses",
    "dlopen": "the maps record again, for call sites in the new library",
    "ipctrace_native_stand_down": "the Python recorder's start-up: one owner per process",
    "ipctrace_native_active": "whether this process is recorded here",
}


def _need(tool: str, why: str) -> str:
    return need_tool(tool, why)


@pytest.fixture(scope="session")
def native_lib() -> Path:
    """The built library (set-up builds it; this builds it when missing or stale)."""
    try:
        return native_library()
    except NativeUnavailable as exc:
        missing(f"the native recorder built ({exc})")


@pytest.fixture(scope="session")
def cprog(tmp_path_factory) -> Callable[..., Path]:
    """Builds tests/programs/native/NAME.c (once) and returns the program."""
    gcc = _need("gcc", "it builds the test programs")
    out = tmp_path_factory.mktemp("native-programs")
    built: dict[tuple[str, bool], Path] = {}

    def build(name: str, static: bool = False, source: Path | None = None) -> Path:
        key = (name, static)
        if key not in built:
            target = out / (name + ("-static" if static else ""))
            flags = ["-static"] if static else ["-D_FORTIFY_SOURCE=2"]
            source = source or PROGRAMS / f"{name}.c"
            cmd = [gcc, "-Wall", "-Wextra", "-O2", "-g", *flags, "-o", str(target), str(source)]
            done = subprocess.run([*cmd, "-lpthread"], capture_output=True, text=True, check=False)
            assert done.returncode == 0 and done.stderr == "", done.stderr
            built[key] = target
        return built[key]

    return build


def run_native(
    argv: list[str], logs: Path, lib: Path, *, stdin: bytes = b"", cap: int = 4096, **kw
) -> subprocess.CompletedProcess[bytes]:
    """Run a program with the native recorder (and the Python recorder's start-up hook) into `logs`."""
    logs.mkdir(parents=True, exist_ok=True)
    environment = tracing_environment(str(logs), cap, native=lib)
    return subprocess.run(argv, env=environment, input=stdin, capture_output=True, timeout=60, check=False, **kw)


def header(path: Path) -> dict[str, int]:
    """A log file's header fields (FORMAT.md): which writer, pid, n."""
    with open(path, "rb") as f:
        fields = layout.FILE_HEADER.unpack(f.read(layout.FILE_HEADER.size))
    return dict(zip(("writer", "pid", "ppid", "tid", "n"), fields[4:9], strict=True))


def records(logs: Path) -> list[dict]:
    got, problems = read_logs(logs)
    assert not problems.damaged and not problems.skipped, problems.sentences()
    return got


def run_session(argv: list[str], tmp_path: Path, stdin: tuple[str, ...] | None = None) -> RunResult:
    from dataclasses import replace

    scenario = adhoc_scenario(argv)
    if stdin is not None:
        scenario = replace(scenario, roles=(replace(scenario.roles[0], stdin=stdin, interactive=False),))
    return run_scenario(scenario, RunOptions(outdir=tmp_path / "run", capture="none", port=0))


# -- the library itself ----------------------------------------------------------------------------------


def test_the_library_builds_without_a_warning(tmp_path: Path) -> None:
    _need("make", "it builds the native recorder")
    _need("gcc", "it builds the native recorder")
    done = subprocess.run(
        ["make", "-s", "-C", str(NATIVE_SOURCES), f"BUILD={tmp_path}"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert (tmp_path / "libipctrace.so").stat().st_size > 0


def test_the_library_interposes_exactly_the_calls_the_table_names(native_lib: Path) -> None:
    nm = _need("nm", "it lists the library's symbols")
    listed = subprocess.run([nm, "-D", "--defined-only", str(native_lib)], capture_output=True, text=True, check=True)
    exported = {line.split()[-1] for line in listed.stdout.splitlines() if line.split()[1:2] in (["T"], ["W"])}
    assert exported == set(native_wrapped()) | set(NOT_CALLS)


def test_an_installed_copy_is_built_into_the_cache(native_lib: Path, tmp_path: Path, monkeypatch) -> None:
    """A wheel's sources are never written to: the library goes to $XDG_CACHE_HOME/ipctrace/native/."""
    src = tmp_path / "site-packages" / "ipctrace" / "record" / "native"
    src.mkdir(parents=True)
    for path in NATIVE_SOURCES.iterdir():
        if path.is_file():
            shutil.copy2(path, src / path.name)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    built = native_library(src)
    assert built.parent.parent == tmp_path / "cache" / "ipctrace" / "native"
    assert not (src / "build").exists()
    assert native_library(src) == built


# -- every call, with its fields -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def all_calls(cprog, native_lib, tmp_path_factory) -> tuple[list[dict], bytes, bytes]:
    """all_calls.c traced (its records and output) and untraced (its output)."""
    program = cprog("all_calls")
    work = tmp_path_factory.mktemp("all-calls")
    (work / "traced").mkdir()
    (work / "untraced").mkdir()
    traced = run_native([str(program), str(work / "traced")], work / "logs", native_lib)
    untraced = subprocess.run([str(program), str(work / "untraced")], capture_output=True, timeout=60, check=False)
    assert traced.returncode == untraced.returncode == 3, traced.stderr
    return records(work / "logs"), traced.stdout, untraced.stdout


def _one(recs: list[dict], call: str, **where) -> dict:
    found = [r for r in recs if r["call"] == call and all(r.get(k) == v for k, v in where.items())]
    assert found, f"no {call} record with {where}"
    return found[0]


def _printed(out: bytes) -> dict[str, int]:
    """What all_calls printed: `name = value` lines (the descriptors it got, what calls returned)."""
    values = {}
    for line in out.decode().splitlines():
        name, sep, value = line.partition(" = ")
        if sep:
            values[name] = int(value.split()[0])
    return values


def test_every_wrapped_call_is_recorded_with_its_fields(all_calls) -> None:
    recs, out, _ = all_calls
    got = _printed(out)
    main = recs[0]["pid"]
    assert all(r["state"] == "done" for r in recs)
    pipe = _one(recs, "pipe")
    assert pipe["res"] == [3, 4] and pipe["ep"][2] == "pipe"
    r, w = pipe["res"]
    assert _one(recs, "write", fd=w)["data"] == b"ping" and _one(recs, "read", fd=r)["data"] == b"ping"
    assert _one(recs, "pipe2")["args"] == {"flags": os.O_CLOEXEC}
    assert _one(recs, "writev")["data"] == b"abcde" and _one(recs, "readv")["data"] == b"abcde"
    assert _one(recs, "dup")["res"] == got["dup"] and _one(recs, "dup2", res=20)["args"] == {"fd2": 20}
    assert _one(recs, "dup2", res=21)["args"] == {"fd2": 21, "flags": os.O_CLOEXEC}  # dup3
    assert _one(recs, "dup", res=30)["ep"] == pipe["ep"]  # fcntl(F_DUPFD)
    assert _one(recs, "closerange")["args"] == {"low": 20, "high": 41}
    assert _one(recs, "close", fd=999)["err"] == "EBADF" and _one(recs, "read", fd=-1)["err"] == "EBADF"
    fortified = _one(recs, "read", data=b"fort")  # __read_chk
    assert fortified["args"] == {"n": 4} and fortified["size"] == 4
    pair = _one(recs, "socketpair")
    assert pair["ep"][2] == pair["ep2"][2] == "unix-stream" and pair["ep"][1] != pair["ep2"][1]
    assert _one(recs, "send", data=b"hello")["ep"] == pair["ep"]
    peek = _one(recs, "recv", data=b"he")
    assert peek["flags"] == ["peek"] and peek["args"]["flags"] == 2 and peek["ep"] == pair["ep2"]
    assert _one(recs, "recv", data=b"hell")["args"] == {"n": 4}  # __recv_chk
    assert _one(recs, "send", data=b"x")["args"]["flags"] == 64  # MSG_DONTWAIT
    sent, received = _one(recs, "sendmsg"), _one(recs, "recvmsg")
    assert sent["data"] == received["data"] == b"fd"
    assert sent["args"]["passed"] == [pipe["ep"]] == received["args"]["passed"]
    assert sent["args"]["fds"] == [r] and received["args"]["fds"] == [got["passed fd"]]
    listen = _one(recs, "listen")
    listener = _one(recs, "socket", res=listen["fd"])
    assert listener["args"] == {"family": 2, "type": 1, "proto": 0} and listener["ep"][2] == "tcp"
    assert _one(recs, "setsockopt", fd=listen["fd"])["args"] == {"level": 1, "opt": 2, "value": 1}
    port = _one(recs, "bind", fd=listen["fd"])["local"][1]
    assert listen["local"] == ["127.0.0.1", port] and listen["args"] == {"backlog": 5}
    connect = _one(recs, "connect", peer=["127.0.0.1", port])
    assert connect["args"]["addr"] == ["127.0.0.1", port]
    accept = _one(recs, "accept", res=got["accept"])
    assert accept["peer"] == connect["local"] and accept["local"] == ["127.0.0.1", port] and accept["ep2"][2] == "tcp"
    assert _one(recs, "accept", res=got["accept4"])["args"] == {"flags": os.O_CLOEXEC}
    assert _one(recs, "recv", data=b"over tcp")["ep"] == accept["ep2"]
    assert _one(recs, "shutdown")["args"] == {"how": 1} and _one(recs, "recv", size=0)["data"] == b""
    assert _one(recs, "connect", err="ECONNREFUSED")["args"]["addr"][0] == "127.0.0.1"
    sendto, recvfrom = _one(recs, "sendto", data=b"datagram"), _one(recs, "recvfrom", data=b"datagram")
    assert sendto["peer"] == recvfrom["local"] and recvfrom["peer"][1] == sendto["local"][1]
    assert _one(recs, "recvfrom", data=b"again")["peer"] == recvfrom["peer"], "the peer, though the caller asked none"
    assert _one(recs, "select")["args"] == {"r": [r], "w": [], "x": [], "timeout": 1.5}
    assert _one(recs, "select")["res"] == [[r], [], []]
    assert _one(recs, "poll")["args"] == {"fds": [r], "timeout": 1000.0} and _one(recs, "poll")["res"] == [[r, 1]]
    assert _one(recs, "epoll_wait")["res"] == [[r, 1]]
    assert [s["args"]["seconds"] for s in recs if s["call"] == "sleep"] == [0.001, 0.002, 0.0]
    fifo = _one(recs, "open")
    assert fifo["args"]["path"].endswith("/fifo") and fifo["ep"][2] == "fifo" and fifo["res"] == got["open fifo"]
    assert [o for o in recs if o["call"] == "open"] == [fifo], "an open of a regular file is not IPC"
    fork = _one(recs, "fork")
    child = [c for c in recs if c["pid"] == fork["res"]]
    assert [c["call"] for c in child] == ["start", "write", "exit"] and child[0]["args"] == {"how": "fork"}
    assert child[1]["data"] == b"from child" and child[2]["args"] == {"how": "_exit"} and child[2]["res"] == 7
    assert _one(recs, "waitpid")["res"] == [fork["res"], 7 << 8]
    kill = _one(recs, "kill")
    assert kill["args"]["sig"] == signal.SIGTERM and _one(recs, "wait", pid=main)["res"][0] == kill["args"]["pid"]
    assert _one(recs, "wait", err="ECHILD")
    exec_ = _one(recs, "exec")
    assert exec_["args"]["executable"] == "/proc/self/exe" and exec_["args"]["argv"][1:] == ["exec"]
    after = recs[recs.index(exec_) + 1 :]
    assert [a["call"] for a in after if a["pid"] == main][:3] == ["start", "write", "exit"]
    assert _one(after, "write", pid=main)["data"] == b"exec'd with the log folder\n", "given back to the new program"
    recorded = {Call(rec["call"]) for rec in recs}
    assert set(native_wrapped().values()) - recorded == {Call.SPAWN}, "every call but spawn is in this program"


def test_the_program_prints_and_ends_as_it_does_untraced(all_calls) -> None:
    _, traced, untraced = all_calls
    # The one line that must differ: the program looks for the log folder in the environment after exec.
    assert traced.replace(b"the log folder", b"no log folder") == untraced
    assert b"fcntl = 30\n" in untraced and b"accept4 = " in untraced, "the same descriptor numbers"


def test_writes_to_stdout_and_stderr_are_the_ones_libc_makes(cprog, native_lib, tmp_path: Path) -> None:
    """printf's bytes are recorded where they reach fd 1, in the pieces libc writes them: as strace sees them."""
    strace = _need("strace", "the ground truth of the writes")
    program = cprog("stdio")
    lines = b"a\nb\nc\n"
    traced = run_native([str(program)], tmp_path / "logs", native_lib, stdin=lines)
    log = tmp_path / "strace.log"
    subprocess.run(
        [strace, "-qq", "-e", "trace=write", "-xx", "-s", "4096", "-o", str(log), str(program)],
        input=lines,
        capture_output=True,
        check=True,
        timeout=60,
    )
    seen = [
        (int(m[1]), bytes.fromhex(m[2].replace("\\x", "")))
        for m in re.finditer(r'write\((\d), "((?:\\x[0-9a-f]{2})*)"', log.read_text())
    ]
    writes = [(r["fd"], r["data"]) for r in records(tmp_path / "logs") if r["call"] == "write"]
    assert writes == seen
    assert [fd for fd, _ in writes] == [2, 1, 2, 2, 1], "stderr unbuffered, stdout in two blocks (the fflush)"
    assert b"".join(d for fd, d in writes if fd == 1) == traced.stdout
    reads = [r for r in records(tmp_path / "logs") if r["call"] == "read"]
    assert {r["fd"] for r in reads} == {0} and b"".join(r["data"] for r in reads) == lines


def test_scripted_input_is_given_when_the_c_program_waits_for_it(cprog, native_lib, tmp_path: Path) -> None:
    result = run_session([str(cprog("stdio"))], tmp_path, stdin=("one\n", "two\n", "three\n"))
    assert result.ok, result.message
    printed = b"".join(e.data or b"" for e in result.trace.events if result.trace.stream_of(e) == Stream.STDOUT)
    assert printed == b"first line\ngot [one]\ngot [two]\ngot [three]\n3 lines\nlast line\n"
    reads = [e for e in result.trace.events if e.call == "read" and e.fd == 0]
    assert [e.data for e in reads] == [b"one\n", b"two\n", b"three\n", b""], "one line per read: given when asked"
    assert all(e.call != "stdin-wait" for e in result.trace.events), "the markers steer the run, then go"


# -- processes -----------------------------------------------------------------------------------------------


def test_a_c_program_killed_by_sigkill_keeps_every_event_up_to_the_kill(cprog, native_lib, tmp_path: Path) -> None:
    """Every byte the parent got from each killed child is explained by the child's recorded writes."""
    out = run_native([str(cprog("kill_sender")), "60", str(int(signal.SIGKILL)), "7"], tmp_path / "logs", native_lib)
    assert out.returncode == 0, out.stderr
    received = json.loads(out.stdout)
    recs, problems = read_logs(tmp_path / "logs")
    assert not problems.damaged, problems.sentences()
    writes: dict[int, list[dict]] = defaultdict(list)
    for r in recs:
        if r["call"] == "write" and r.get("fd") != 1:
            writes[r["pid"]].append(r)
    in_progress = 0
    for pid, got in received:
        mine = writes[pid]
        done = [w for w in mine if w["state"] == "done"]
        busy = [w for w in mine if w["state"] == "in-progress"]
        assert len(busy) <= 1 and all(w["t0"] < b["t0"] for w in done for b in busy)
        explained = b"".join(w["data"] for w in done)
        pending = busy[0].get("data", b"") if busy else b""
        in_progress += bool(busy)
        assert got.encode().startswith(explained), f"child {pid}: bytes no recorded write explains"
        assert explained + pending[: len(got) - len(explained)] == got.encode(), f"child {pid} lost a write"
    assert sum(bool(got) for _, got in received) > 50, "the children were killed while they were sending"
    assert in_progress > 0, "some die inside a write"
    parent = recs[0]["pid"]
    assert {r["call"] for r in recs if r["pid"] == parent} <= {"start", "pipe", "fork", "close", "read", "kill",
                                                                "waitpid", "write", "exit"}  # fmt: skip


def test_each_thread_writes_its_own_log(cprog, native_lib, tmp_path: Path) -> None:
    out = run_native([str(cprog("threads"))], tmp_path / "logs", native_lib)
    assert out.stdout == b"from thread a;from thread b;\n"
    writes = [r for r in records(tmp_path / "logs") if r["call"] == "write" and r["fd"] != 1]
    assert [w["data"] for w in writes] == [b"from thread a;", b"from thread b;"]
    assert len({w["tid"] for w in writes} | {writes[0]["pid"]}) == 3
    assert len(list((tmp_path / "logs").glob("*.ipclog"))) == 3


def test_a_descriptor_closed_and_reused_behind_the_recorders_back_has_its_true_endpoint(
    cprog, native_lib, tmp_path: Path
) -> None:
    (tmp_path / "work").mkdir()
    out = run_native([str(cprog("fd_reuse")), str(tmp_path / "work")], tmp_path / "logs", native_lib)
    assert out.returncode == 0, out.stderr
    truth = [tuple(map(int, line.split())) for line in out.stdout.decode().splitlines()]
    writes = [r for r in records(tmp_path / "logs") if r["call"] == "write" and r["fd"] == 4]
    assert [(w["fd"], w["ep"][1]) for w in writes] == truth
    assert [w["ep"][2] for w in writes] == ["pipe", "file", "file"]


def test_the_payload_cap_keeps_the_true_size(cprog, native_lib, tmp_path: Path) -> None:
    program = cprog("all_calls")
    (tmp_path / "work").mkdir()
    run_native([str(program), str(tmp_path / "work")], tmp_path / "logs", native_lib, cap=3)
    recs = records(tmp_path / "logs")
    ping = _one(recs, "write", fd=4)
    assert ping["data"] == b"pin" and ping["size"] == 4 and ping["flags"] == ["capped"]
    assert _one(recs, "read", fd=3)["data"] == b"pin"


def test_a_full_disk_stops_recording_with_one_sentence_and_the_program_runs_on(cprog, native_lib, tmp_path) -> None:
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    loop = cprog("native_loop", source=Path(__file__).parents[1] / "benchmarks" / "programs" / "native_loop.c")
    disk = tmp_path / "disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=192k", "tmpfs", str(disk)], check=True)
    try:
        traced = run_native([str(loop), "pipe", "20000"], disk / "logs", native_lib)
        assert traced.returncode == 0 and json.loads(traced.stdout)["n"] == 20000, "no SIGBUS, the program ran on"
        said = traced.stderr.decode()
        assert said.count("ipctrace: a log cannot grow (disk full") == 1, said
        recs, problems = read_logs(disk / "logs")
        assert problems.skipped > 0 and any("could not record" in s for s in problems.sentences())
        assert recs and recs[0]["call"] == "start" and not problems.damaged, "what fitted is kept"
    finally:
        subprocess.run(["umount", str(disk)], check=True)


def test_a_c_program_that_execs_a_python_child_gets_one_lane_per_process_and_no_doubled_event(
    cprog, native_lib, tmp_path: Path
) -> None:
    program = [str(cprog("forks_python")), sys.executable, str(PROGRAMS / "python_child.py")]
    out = run_native(program, tmp_path / "logs", native_lib)
    assert out.stdout == b"parent read: from python: os.write\nfrom python: print\nchild exit: 0\n", out.stderr
    writers: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for path in (tmp_path / "logs").glob("*.ipclog"):
        fields = header(path)
        writers[fields["pid"]].append((fields["n"], fields["writer"]))
    recs = records(tmp_path / "logs")
    parent = recs[0]["pid"]
    (child,) = set(writers) - {parent}
    assert sorted(writers[parent]) == [(0, 2)], "the C parent: the native recorder only"
    assert sorted(writers[child]) == [(0, 2), (1, 1)], "the child: native until its exec, then Python's"
    mine = [r["call"] for r in recs if r["pid"] == child]
    assert mine[:6] == ["start", "dup2", "close", "close", "exec", "start"]
    sent = Counter(r["data"] for r in recs if r["pid"] == child and r["call"] == "write")
    assert sent == {b"from python: os.write\n": 1, b"from python: print": 1, b"\n": 1}, "each write once"

    result = run_session(program, tmp_path)
    assert result.ok, result.message
    assert [p.role for p in result.trace.processes] == ["main", "main/child#1"]


def test_nothing_is_recorded_twice_in_a_python_process(native_lib, tmp_path: Path) -> None:
    """With the library loaded into a Python process, the Python recorder alone records it: the same events."""
    program = [sys.executable, str(Path(__file__).parent / "programs" / "link_pipe_split.py")]
    with_native = run_native(program, tmp_path / "both", native_lib)
    alone = subprocess.run(program, env=tracing_environment(str(tmp_path / "python")), capture_output=True, check=False)
    assert with_native.stdout == alone.stdout and with_native.returncode == alone.returncode == 0
    assert {header(p)["writer"] for p in (tmp_path / "both").glob("*.ipclog")} == {1}

    def calls(folder: Path) -> list[list[tuple]]:
        """Each process's calls in its order (the parent first): how two processes' calls interleave is timing."""
        by_pid: dict[int, list[tuple]] = {}
        for r in records(folder):
            by_pid.setdefault(r["pid"], []).append((r["call"], r.get("data")))
        return list(by_pid.values())

    assert calls(tmp_path / "both") == calls(tmp_path / "python")


def test_a_python_program_that_runs_sort_through_a_pipe_gets_a_sort_lane(native_lib, tmp_path: Path) -> None:
    _need("sort", "the program it runs")
    result = run_session([sys.executable, str(PROGRAMS / "sorter.py")], tmp_path)
    assert result.ok, result.message
    trace = result.trace
    main, sort = trace.processes
    assert sort.role == "main/child#1" and Path(sort.argv[0]).name == "sort"
    fed = next(e for e in trace.events_of(main.pid) if e.call == "write" and e.data == b"pear\napple\nfig\n")
    took = next(e for e in trace.events_of(sort.pid) if e.call == "read" and e.data)
    gave = next(e for e in trace.events_of(sort.pid) if e.call == "write")
    back = next(e for e in trace.events_of(main.pid) if e.call == "read" and e.data)
    assert took.data == fed.data and took.endpoint == fed.endpoint
    assert gave.data == back.data == b"apple\nfig\npear\n" and gave.endpoint == back.endpoint
    assert trace.stream_of(gave) is None, "sort's stdout is a pipe to its parent: IPC, not the run's output"


def test_a_calls_site_is_its_line_in_the_c_source(native_lib, tmp_path: Path) -> None:
    """The return address of each call, turned into file:line with addr2line (the C originals are built -g)."""
    from ipctrace.cprograms import C_SOURCES, built_programs

    _need("addr2line", "it turns addresses into source lines")
    run_native([str(built_programs() / "pipe1")], tmp_path / "logs", native_lib)
    source = (C_SOURCES / "pipe1.c").read_text().splitlines()
    sites = {r["call"]: r.get("site") for r in records(tmp_path / "logs") if r["call"] in ("pipe", "fork", "read")}
    child_write = _one(records(tmp_path / "logs"), "write", fd=4)
    for call, site in [*sites.items(), ("write", child_write.get("site"))]:
        assert site is not None and Path(site[0]) == C_SOURCES / "pipe1.c" and site[2] == "main", (call, site)
        assert f"{call}(" in source[site[1] - 1], (call, source[site[1] - 1])
    assert "fds[1]" in source[child_write["site"][1] - 1], "the slides can name the descriptor as the code does"


def test_without_the_native_recorder_a_c_run_says_why_nothing_was_recorded(monkeypatch, tmp_path: Path) -> None:
    import ipctrace.session.runner as runner
    from ipctrace.scenarios import find_scenario

    monkeypatch.setattr(runner, "_native_library", lambda: (None, "the native recorder is built with gcc, not here."))
    scenario = find_scenario("pipe1").for_impl(Impl.C)
    result = run_scenario(scenario, RunOptions(outdir=tmp_path / "run", capture="none"))
    assert not result.ok and result.message.startswith("nothing was recorded: pipe1 ran untraced")
    assert "(the native recorder is built with gcc, not here)" in result.message
    assert result.message.endswith("`ipctrace run pipe1` traces the Python port")
    assert (result.outdir / "main.out").read_bytes() == b"Who are you?\n"


def test_a_users_scenario_file_names_a_students_c_program(cprog, native_lib, tmp_path: Path) -> None:
    """A C server built in the scenario's folder and a Python client: both recorded, readiness from the C listen."""
    from ipctrace.scenarios import load_scenario

    shutil.copy(cprog("homework_echo"), tmp_path / "homework_echo")
    shutil.copy(Path(__file__).parent / "programs" / "echo_client.py", tmp_path / "echo_client.py")
    toml = tmp_path / "homework.toml"
    toml.write_text(
        'name = "homework"\nlesson = "echo"\ntimeout = 20.0\n'
        '[[roles]]\nname = "server"\ncommand = ["./homework_echo", "{port}"]\nready = ["listen"]\n'
        '[[roles]]\nname = "client"\ncommand = ["{python}", "echo_client.py", "{port}"]\nstdin = ["hello there\\n"]\n'
    )
    result = run_scenario(load_scenario(toml), RunOptions(outdir=tmp_path / "out", capture="none", port=0))
    assert result.ok, result.message
    assert not result.recorder_problems, result.recorder_problems
    assert (tmp_path / "out" / "client.out").read_text() == "say: echo: HELLO THERE\n"
    trace = result.trace
    server = next(p for p in trace.processes if p.role == "server")
    calls = [(e.call, e.data) for e in trace.events_of(server.pid) if e.call in ("listen", "accept", "recv", "send")]
    assert calls == [("listen", None), ("accept", None), ("recv", b"hello there"), ("send", b"HELLO THERE")]
    listen = next(e for e in trace.events_of(server.pid) if e.call == "listen")
    client = next(p for p in trace.processes if p.role == "client")
    started = next(e for e in trace.events_of(client.pid) if e.call == "start")
    assert started.t0 > listen.t1, "the client starts only once the C server's listen is recorded"
    site = next(e.site for e in trace.events_of(server.pid) if e.call == "send")
    assert site is not None and Path(site.file).name == "homework_echo.c" and site.function == "main"


def test_a_program_found_through_env_has_the_canonical_form_of_the_program(native_lib, tmp_path: Path) -> None:
    """`env` is recorded (start, exec), and is how the program was found: the canonical form leaves it out."""
    from ipctrace.compare import canonicalize
    from ipctrace.compare.diff import diff_canonical
    from ipctrace.cprograms import built_programs

    pipe1 = str(built_programs() / "pipe1")
    plain = run_session([pipe1], tmp_path / "plain")
    wrapped = run_session(["env", "COURSE=ipc", pipe1], tmp_path / "wrapped")
    assert plain.ok and wrapped.ok, (plain.message, wrapped.message)
    main = wrapped.trace.processes[0]
    assert [e.call for e in wrapped.trace.events_of(main.pid)][:3] == ["start", "exec", "start"]
    result = diff_canonical(canonicalize(plain.trace), canonicalize(wrapped.trace))
    assert result.equivalent, result.explain()


# -- what no recorder enters -------------------------------------------------------------------------------


def test_a_static_binary_is_said_in_one_sentence(cprog, native_lib, tmp_path: Path) -> None:
    static = cprog("hello_static", static=True)
    alone = run_session([str(static)], tmp_path / "alone")
    assert not alone.ok and "is statically linked: LD_PRELOAD cannot enter it" in alone.message
    assert (alone.outdir / "main.out").read_bytes() == b"hello from a static binary\n"
    started = run_session([str(cprog("execs_static")), str(static)], tmp_path / "started")
    assert started.ok, started.message
    said = [p for p in started.recorder_problems if "statically linked" in p]
    assert len(said) == 1 and str(static) in said[0]
    (parent, child) = started.trace.processes
    assert [e.call for e in started.trace.events_of(child.pid)] == ["start", "exec"], "seen until its exec"
