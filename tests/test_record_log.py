"""The recorder's log (record/FORMAT.md): pinned ids, damaged records, kills at any moment, fds, transparency."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ipctrace.calls import Call
from ipctrace.model import CallSite
from ipctrace.record import layout, tracing_environment
from ipctrace.record.log import ThreadLog
from ipctrace.record.reader import read_logs
from ipctrace.tracefile import read_trace
from tests.conftest import PROGRAMS
from tests.hot_impl import hot_impl  # noqa: F401 - the fixture, used by pytestmark

#: Every test here runs with each hot-path implementation (compiled and pure Python: record/hot.py).
pytestmark = pytest.mark.usefixtures("hot_impl")

RECORD = PROGRAMS / "record"

#: The log's call ids: a number once given never changes (a native recorder writes the same files).
PINNED = {
    "pipe": 1, "pipe2": 2, "close": 3, "dup": 4, "dup2": 5, "start": 6, "fork": 7, "exec": 8, "spawn": 9,
    "wait": 10, "waitpid": 11, "kill": 12, "exit": 13, "exception": 14, "sleep": 15, "read": 16, "write": 17,
    "socket": 18, "socketpair": 19, "fromfd": 20, "bind": 21, "listen": 22, "accept": 23, "connect": 24,
    "connect_ex": 25, "shutdown": 26, "setsockopt": 27, "send": 28, "sendall": 29, "sendto": 30, "sendmsg": 31,
    "recv": 32, "recv_into": 33, "recvfrom": 34, "recvfrom_into": 35, "recvmsg": 36, "stdin": 37, "stdout": 38,
    "stderr": 39, "stdin-wait": 40, "select": 41, "poll": 42, "pselect6": 43, "ppoll": 44, "epoll_wait": 45,
    "epoll_pwait": 46, "accept4": 47, "wait4": 48, "waitid": 49, "nanosleep": 50, "clock_nanosleep": 51,
    "pause": 52, "futex": 53, "syscall": 54, "open": 55, "readv": 56, "writev": 57, "sendfile": 58, "splice": 59,
    "recvmsg_into": 60, "closerange": 61, "openat": 62,
}  # fmt: skip


def _run(program: str, *args: str, logs: Path, check: bool = True, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(RECORD / program), *args],
        env=tracing_environment(str(logs)),
        capture_output=True,
        timeout=60,
        check=check,
        **kw,
    )


def test_call_ids_are_pinned_and_cover_the_table():
    assert layout.CALL_IDS == PINNED
    assert set(layout.CALL_IDS) == {c.value for c in Call}
    assert len(set(layout.CALL_IDS.values())) == len(layout.CALL_IDS)


def test_the_hot_path_module_is_what_its_templates_generate():
    from ipctrace.record import hotpath

    generated = Path(hotpath.__file__).with_name("hot_generated.py")
    assert generated.read_text() == hotpath.generate(), "run: python -m ipctrace.record.hotpath > " + str(generated)


def test_a_damaged_record_is_reported_with_its_file_and_offset(tmp_path):
    log = ThreadLog(str(tmp_path), os.getpid(), os.getppid(), 7, 4096)
    positions = []
    for _ in range(3):
        pos = log.hot(layout.CALL_IDS["write"], 1, layout.F_FD | layout.F_SIZE | layout.F_RES, None, 1, b"x", 1, 0)
        log.sent(pos, 1)
        positions.append(pos)
    second = positions[1]
    log.buf[second + 4 : second + 8] = (13).to_bytes(4, "little")  # a length no record can have
    records, problems = read_logs(tmp_path)
    assert [r["call"] for r in records] == ["write"], "the record before the damage is kept"
    assert problems.damaged == [(log.path, second, "length 13")]
    assert "damaged record at offset" in problems.sentences()[0]


def test_calls_in_progress_are_read_as_such(tmp_path):
    log = ThreadLog(str(tmp_path), os.getpid(), os.getppid(), 7, 4096)
    pos = log.hot(layout.CALL_IDS["send"], 5, layout.F_FD | layout.F_SIZE | layout.F_RES, None, 5, b"hello", 5, 0)
    log.hot(layout.CALL_IDS["recv"], 5, layout.F_FD | layout.F_SIZE | layout.F_RES, None, 9, None, 0, 9)
    records, _ = read_logs(tmp_path)
    send, recv = records
    assert send["state"] == "in-progress" and send["t1"] is None and send["data"] == b"hello" and send["size"] == 5
    assert recv["state"] == "in-progress" and recv["blocked"] and "data" not in recv
    log.sent(pos, 5)
    records, _ = read_logs(tmp_path)
    assert records[0]["state"] == "done" and records[0]["res"] == 5


def test_the_exiting_process_and_the_reader_find_the_same_calls_in_progress(tmp_path):
    """`ThreadLog.in_progress` (at exit, in the traced process) walks the log by each head's first 8 bytes, read with
    the layout's `FIRST` as the reader reads them: a send in progress, a done write, a point record with a long
    blob, a receive begun with room for its payload (records longer than their heads)."""
    log = ThreadLog(str(tmp_path), os.getpid(), os.getppid(), 7, 4096)
    flags = layout.F_FD | layout.F_SIZE | layout.F_RES
    send = log.hot(layout.CALL_IDS["send"], 5, flags, None, 5, b"hello", 5, 0)
    log.sent(log.hot(layout.CALL_IDS["write"], 6, flags, None, 1, b"x", 1, 0), 1)
    log.point(layout.CALL_IDS["start"], 0, {"argv": ["x" * 3000]})
    recv = log.hot(layout.CALL_IDS["recv"], 5, flags, None, 900, None, 0, 900)
    log.sent(log.hot(layout.CALL_IDS["write"], 7, flags, None, 1, b"y", 1, 0), 1)
    assert log.in_progress() == [send, recv]
    records, _ = read_logs(tmp_path)
    assert [(r.get("fd"), r["state"]) for r in records if r["call"] != "start"] == [
        (5, "in-progress"), (6, "done"), (5, "in-progress"), (7, "done")
    ]  # fmt: skip


def test_a_blob_is_what_json_dumps_writes_though_the_json_package_is_not_imported():
    hostile = {
        "args": {"argv": ["x", 'é\0\n"\\', "\udcff", "\u2028"], "cwd": "/t m p"},
        "numbers": [1.5, -0.0, float("nan"), float("inf"), 10**30, -3, True, None],
        "bytes": b"\xff\x00abc",
        "tuple": (1, (2, bytearray(b"q"))),
        "other": object,
        7: "an int key",
    }
    for value in (hostile, {}, [], "plain\x01", {"site": ["/a/b.py", 12, "<module>"]}):
        want = json.dumps(value, ensure_ascii=True, separators=(",", ":"), default=layout._jsonable)
        assert layout.json_blob(value) == want.encode("ascii")


@pytest.mark.parametrize("how", ["chosen", "ctypes"])
def test_a_logs_mapping_is_the_files_pages_whether_made_compiled_or_through_ctypes(tmp_path, how):
    """The compiled extension maps the log (a traced process then never imports ctypes); ctypes does where it is
    not built: either way a shared, writable view of the file, and no descriptor kept."""
    from ipctrace.record import log as recorder_log

    map_shared, advise = recorder_log._mapping() if how == "chosen" else recorder_log._ctypes_mapping()
    path = tmp_path / "mapped"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    os.ftruncate(fd, 1 << 20)
    addr, view = map_shared(fd, 1 << 20)
    os.close(fd)
    assert isinstance(addr, int) and len(view) == 1 << 20 and view.format == "B" and not view.readonly
    assert advise(addr, 4096, 1) == 0  # MADV_RANDOM
    assert advise(addr + 1, 4096, 1) != 0  # not page-aligned: EINVAL, returned, not raised
    view[5000:5005] = b"hello"
    assert path.read_bytes()[5000:5005] == b"hello"
    with pytest.raises(OSError):
        map_shared(-1, 4096)


@pytest.mark.parametrize("blocked", [False, True], ids=["over-in-the-kernel", "still-inside"])
def test_a_daemon_threads_call_at_the_exit_is_done_when_it_ran_and_in_progress_when_it_still_waits(tmp_path, blocked):
    """The interpreter's exit stops a daemon thread as it takes the GIL back: a call already over in the kernel (the
    byte asyncio's child watcher sends to its loop, seen by strace) stayed in progress in the trace. The recorder
    now lets it store its end before the exit; a call still waiting inside the kernel stays in progress."""
    _run("daemon_call_at_exit.py", *(["blocked"] if blocked else []), logs=tmp_path)
    records, problems = read_logs(tmp_path)
    assert not problems.sentences() and not problems.messages
    (recv,) = [r for r in records if r["call"] == "recv"]
    (end,) = [r for r in records if r["call"] == "exit"]
    if blocked:
        assert recv["state"] == "in-progress" and recv["t1"] is None
    else:
        assert recv["state"] == "done" and recv["err"] == "TimeoutError" and recv["t1"] <= end["t0"]


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM])
def test_a_sender_killed_at_200_random_moments_loses_no_byte(tmp_path, signum):
    """Every byte the peer got is explained by the child's recorded writes, the last maybe in progress."""
    out = _run("kill_sender.py", "200", str(int(signum)), "1", logs=tmp_path / "logs")
    received = json.loads(out.stdout)
    records, problems = read_logs(tmp_path / "logs")
    assert not problems.sentences(), out.stderr.decode()[-2000:]
    writes: dict[int, list[dict]] = {}
    for r in records:
        if r["call"] == "write":
            writes.setdefault(r["pid"], []).append(r)
    in_progress = 0
    for pid, got in received:
        mine = writes.get(pid, [])
        done = [w for w in mine if w["state"] == "done"]
        busy = [w for w in mine if w["state"] == "in-progress"]
        assert len(busy) <= 1 and all(w["t0"] < busy[0]["t0"] for w in done for _ in busy)
        explained = b"".join(w.get("data", b"") for w in done)
        pending = busy[0].get("data", b"") if busy else b""
        in_progress += bool(busy)
        assert got.encode().startswith(explained), f"child {pid}: received bytes no recorded write explains"
        assert explained + pending[: len(got) - len(explained)] == got.encode(), f"child {pid} lost a write"
    assert sum(bool(got) for _, got in received) > 150, "the children were killed while they were sending"
    assert in_progress > 0, "some die inside a write, whose bytes may or may not have gone out"


def _fds(case: str, logs: Path, limit: int | None = None) -> dict:
    def lower() -> None:
        if limit is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

    plain = subprocess.run(
        [sys.executable, str(RECORD / "fds.py"), case], capture_output=True, timeout=30, preexec_fn=lower, check=True
    )
    traced = _run("fds.py", case, logs=logs, preexec_fn=lower)
    a, b = json.loads(plain.stdout), json.loads(traced.stdout)
    assert a["fds"] == b["fds"], "the program sees the same descriptor numbers as untraced"
    assert a["read"] == b["read"]
    return b


def test_recording_goes_on_after_closerange_and_never_writes_into_a_dup2_target(tmp_path):
    seen = _fds("closerange", tmp_path / "a")
    assert seen["read"] == "after closerange"
    records, _ = read_logs(tmp_path / "a")
    r, w = seen["fds"]
    calls = [(c["call"], c.get("fd")) for c in records if c["call"] == "closerange" or c.get("fd") in (r, w)]
    assert calls[-3:] == [("closerange", None), ("write", w), ("read", r)]
    assert next(c for c in records if c["call"] == "pipe")["res"] == [r, w]
    seen = _fds("dup2", tmp_path / "b")
    assert seen["read"] == "hello", "nothing of the recorder's reaches a descriptor the program owns"


def test_a_low_descriptor_limit_changes_no_fd_number(tmp_path):
    _fds("closerange", tmp_path / "a", limit=256)
    _fds("dup2", tmp_path / "b", limit=1024)


def test_a_descriptor_closed_behind_the_recorders_back_and_reused_has_its_true_endpoint(tmp_path):
    seen = _fds("reuse", tmp_path / "logs")
    r2 = seen["fds"][2]
    records, _ = read_logs(tmp_path / "logs")
    last_read = [r for r in records if r["call"] == "read" and r.get("fd") == r2][-1]
    assert last_read["data"] == b"new" and last_read["ep"][1] == seen["ino"]
    first_read = [r for r in records if r["call"] == "read"][0]
    assert first_read["ep"][1] != seen["ino"], "the old pipe and the new one are told apart"


def test_hostile_strings_survive_the_log_and_the_trace_file(trace_program, tmp_path):
    folder = tmp_path / "sock"
    folder.mkdir()
    result = trace_program(str(Path("record") / "hostile.py"), str(folder))
    trace = read_trace(result.trace_path)  # what is on disk
    name = 'q"uo\\te\nnl\x01\udcff'
    bind = next(e for e in trace.events if e.call == "bind" and e.local and e.local.host.endswith("\udcff"))
    assert bind.local.host == os.path.join(str(folder), name)
    connect = next(e for e in trace.events if e.call == "connect" and e.error)
    assert connect.args["addr"] in (['a"b\\c\n', 80], ('a"b\\c\n', 80))
    assert any(e.call == "bind" and e.local and e.local.host == '@abs"tr\\act\n' for e in trace.events)
    problems = result.recorder_problems
    assert not problems


def test_a_wrong_argument_type_raises_what_it_raises_untraced(tmp_path):
    plain = subprocess.run([sys.executable, str(RECORD / "bad_args.py")], capture_output=True, timeout=30)
    traced = _run("bad_args.py", logs=tmp_path / "logs", check=False)
    assert plain.returncode == 0 and traced.returncode == 0, traced.stderr.decode()
    assert traced.stdout.decode().splitlines() == plain.stdout.decode().splitlines()
    assert traced.stderr == plain.stderr == b"", "and the recorder has nothing to say about it"
    assert len(plain.stdout.splitlines()) >= 50


@pytest.mark.parametrize("how, copies", [("exit", 2), ("_exit", 1)])
def test_a_line_buffered_before_fork_is_written_by_each_process_that_flushes_it(trace_program, how, copies):
    result = trace_program(str(Path("record") / "fork_buffer.py"), how)
    trace = result.trace
    writes = [e for e in trace.events if trace.stream_of(e) == "stdout"]
    assert [e.data for e in writes] == [b"printed once, before fork\n"] * copies
    assert len({e.pid for e in writes}) == copies
    assert (result.outdir / "main.out").read_bytes() == b"printed once, before fork\n" * copies


_ONE_SITE = """
import json, os, socket, sys
pipes = [os.pipe(), os.pipe()]
def put(fd, data):
    return os.write(fd, data)  # one call site: other descriptors, endpoints and sizes each time
sizes = []
for i, data in enumerate([b"a", b"bb", b"cc", bytearray(b"ddd"), memoryview(b"eeee"), b"f" * 5000]):
    r, w = pipes[i % 2]
    sizes.append([w, put(w, data), os.read(r, 8192) == bytes(data)])
a, b = socket.socketpair()
a.setblocking(False)
big = b"x" * (1 << 22)
moved = a.send(big)  # more than the socket holds: a partial send
try:
    a.send(big)
    failed = None
except BlockingIOError as exc:
    failed = exc.errno
r, w = os.pipe()
os.set_blocking(w, False)
partial = os.write(w, big)
r, w = os.pipe()
os.set_blocking(r, False)
raw = open(r, "rb", buffering=0)
empty = [raw.read(10), raw.readinto(bytearray(10))]  # nothing to read: None, as untraced
os.write(w, b"later")
got = [raw.read(3), raw.readinto(into := bytearray(10)), bytes(into[:2])]
print(json.dumps({"sizes": sizes, "moved": moved, "failed": failed, "partial": partial, "empty": empty,
                  "got": [g.decode() if isinstance(g, bytes) else g for g in got]}))
"""


def test_one_call_site_with_other_descriptors_sizes_and_partial_or_failed_sends_is_recorded_as_it_ran(tmp_path):
    program = tmp_path / "site.py"
    program.write_text(_ONE_SITE)
    out = subprocess.run(
        [sys.executable, str(program)], env=tracing_environment(str(tmp_path / "logs")), capture_output=True, check=True
    )
    seen = json.loads(out.stdout)
    assert all(same for _, _, same in seen["sizes"]), "the program read what it wrote"
    records, problems = read_logs(tmp_path / "logs")
    assert not problems.sentences()
    writes = [r for r in records if r["call"] == "write"]
    put = [w for w in writes if w["site"][2] == "put"]
    assert [[w["fd"], w["res"], w["size"]] for w in put] == [[fd, n, n] for fd, n, _ in seen["sizes"]]
    assert [w["data"] for w in put] == [b"a", b"bb", b"cc", b"ddd", b"eeee", b"f" * 4096]
    assert put[-1]["flags"] == ["capped"] and put[-1]["args"] == {"n": 5000}
    pipe_ep = {r["res"][1]: r["ep"] for r in [r for r in records if r["call"] == "pipe"][:2]}
    assert len({tuple(ep) for ep in pipe_ep.values()}) == 2
    assert [w["ep"] for w in put] == [pipe_ep[w["fd"]] for w in put], "each write on its own pipe's endpoint"
    send, again = [r for r in records if r["call"] == "send"]
    assert send["res"] == send["size"] == seen["moved"] < 1 << 22 and send["args"] == {"n": 1 << 22}
    assert again["err"] == "EAGAIN" and "size" not in again and "res" not in again
    (partial,) = [w for w in writes if w["args"] == {"n": 1 << 22}]
    assert partial["res"] == partial["size"] == seen["partial"] < 1 << 22 and len(partial["data"]) == 4096
    assert seen["empty"] == [None, None] and seen["got"] == ["lat", 2, "er"]
    raw_reads = [r for r in records if r["call"] == "read"][-4:]
    assert [r.get("err") for r in raw_reads] == ["EAGAIN", "EAGAIN", None, None]
    assert [r.get("data") for r in raw_reads[2:]] == [b"lat", b"er"]


def test_each_call_knows_the_line_of_the_program_that_made_it(tmp_path):
    program = tmp_path / "site.py"
    program.write_text("import os\nr, w = os.pipe()\n\n\ndef f():\n    os.write(w, b'x')\n\n\nf()\nos.read(r, 1)\n")
    subprocess.run([sys.executable, str(program)], env=tracing_environment(str(tmp_path / "logs")), check=True)
    records, _ = read_logs(tmp_path / "logs")
    sites = {r["call"]: r.get("site") for r in records if r["call"] in ("pipe", "write", "read")}
    assert sites == {
        "pipe": [str(program), 2, "<module>"],
        "write": [str(program), 6, "f"],
        "read": [str(program), 10, "<module>"],
    }


def test_install_and_uninstall_leave_every_attribute_as_it_was(tmp_path):
    import _posixsubprocess
    import builtins
    import io
    import select
    import socket
    import time

    from ipctrace.record import patches, start_recording, stop_recording

    owners = [os, socket, socket.socket, time, builtins, sys, io, select, _posixsubprocess]
    before = [{name: vars(o).get(name) for name in dir(o)} for o in owners]
    start_recording(str(tmp_path / "logs"))
    try:
        assert patches.patched(), "something was patched"
        assert os.write is not before[0]["write"]
    finally:
        stop_recording()
    after = [{name: vars(o).get(name) for name in dir(o)} for o in owners]
    for owner, b, a in zip(owners, before, after, strict=True):
        changed = [name for name in b if a.get(name) is not b[name]]
        assert not changed, f"{owner.__name__}: {changed} not restored"
        assert set(a) == set(b)


def test_wrappers_a_program_kept_record_nothing_once_recording_stopped(tmp_path):
    """A wrapper a program took before the stop (`write = os.write`) runs the call untraced, and says nothing."""
    code = (
        "import os\n"
        "from ipctrace.record import start_recording, stop_recording\n"
        f"start_recording({str(tmp_path / 'logs')!r})\n"
        "write, read = os.write, os.read\n"
        "r, w = os.pipe()\n"
        "write(w, b'a'); read(r, 1)\n"
        "stop_recording()\n"
        "write(w, b'b'); print(read(r, 1).decode(), write is not os.write)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert (run.returncode, run.stdout, run.stderr) == (0, "b True\n", "")
    records, problems = read_logs(tmp_path / "logs")
    data = [(r["call"], r["data"]) for r in records if r["call"] in ("write", "read")]
    assert data == [("write", b"a"), ("read", b"a")], "the calls after the stop are not recorded"
    assert not problems.sentences()


def test_a_full_disk_stops_recording_with_one_sentence_and_the_program_runs_on(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    disk = tmp_path / "disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=192k", "tmpfs", str(disk)], check=True)
    try:
        program = (
            "import os\nr, w = os.pipe()\nfor i in range(20000):\n    os.write(w, b'x'); os.read(r, 1)\nprint('ran')\n"
        )
        traced = subprocess.run(
            [sys.executable, "-c", program],
            env=tracing_environment(str(disk / "logs")),
            capture_output=True,
            timeout=60,
        )
        assert traced.returncode == 0 and traced.stdout == b"ran\n", "no SIGBUS, nothing changed for the program"
        said = traced.stderr.decode()
        assert said.count("cannot grow (disk full") == 1, said
        records, problems = read_logs(disk / "logs")
        assert problems.skipped > 0 and any("could not record" in s for s in problems.sentences())
        assert records and records[0]["call"] == "start", "what fitted is kept"
    finally:
        subprocess.run(["umount", str(disk)], check=True)


def test_the_call_site_reaches_the_trace_file(trace_program):
    result = trace_program("all_calls.py", stdin=["a line\n"])
    trace = read_trace(result.trace_path)
    pipe = next(e for e in trace.events if e.call == "pipe")
    assert pipe.site == CallSite(str(PROGRAMS / "all_calls.py"), 9, "<module>")  # r, w = os.pipe()


def test_subprocess_own_exec_error_pipe_is_not_recorded_but_its_pipes_to_the_child_are(tmp_path):
    """subprocess's private pipe (the child's exec error) is plumbing, known by its function in subprocess's file."""
    code = "import subprocess; subprocess.run(['cat'], input=b'hi', stdout=subprocess.PIPE, check=True)"
    subprocess.run([sys.executable, "-c", code], env=tracing_environment(str(tmp_path)), check=True, timeout=60)
    records, _ = read_logs(tmp_path)
    parent = [r for r in records if r["pid"] == records[0]["pid"]]
    pipes = [r for r in parent if r["call"] in ("pipe", "pipe2")]
    assert len(pipes) == 2  # the child's stdin and stdout; not the exec-error pipe
    assert [r["call"] for r in parent if r["call"] == "spawn"] == ["spawn"]
