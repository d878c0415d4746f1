"""Running under the tracer: hangs stopped with what each process was blocked in, ports, user scenarios."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys

import pytest

from ipctrace.scenarios import ScenarioError, adhoc_scenario, find_scenario, load_scenario
from ipctrace.session import RunError, RunOptions, choose_port, run_scenario
from ipctrace.tracefile import read_trace
from tests.conftest import PROGRAMS, require_capture


def test_a_hang_is_stopped_at_its_timeout_with_a_partial_trace(tmp_path):
    scenario = adhoc_scenario([sys.executable, str(PROGRAMS / "hangs.py")], timeout=1.5)
    result = run_scenario(scenario, RunOptions(outdir=tmp_path, capture="none"))
    assert not result.ok and result.ending == "timeout"
    assert "timeout of 1.5 s" in result.message
    assert sorted(b.role for b in result.blocked) == ["main", "main/child#1"]
    assert all(b.call == "read" for b in result.blocked)
    trace = read_trace(result.trace_path)  # kept on disk, parses
    blocked = [e for e in trace.events if e.blocked]
    assert len(blocked) == 2 and all(e.t1 is None and e.call == "read" for e in blocked)
    pipe = next(e for e in trace.events if e.call == "pipe").endpoint
    assert all(e.endpoint == pipe for e in blocked), "the blocked read names the pipe it waits on"
    assert (tmp_path / "main.out").read_text().count("waiting") == 2
    for proc in trace.processes:
        assert proc.exit is not None and proc.exit.signal == 9  # killed by ipctrace, reaped, reported


def test_a_deadlock_is_stopped_without_waiting_for_the_timeout(tmp_path):
    from dataclasses import replace

    scenario = adhoc_scenario([sys.executable, str(PROGRAMS / "hangs.py")], timeout=120)
    scenario = replace(scenario, roles=(replace(scenario.roles[0], interactive=False),))
    result = run_scenario(scenario, RunOptions(outdir=tmp_path, capture="none"))
    assert result.ending == "deadlock" and not result.ok, result.message
    assert "waiting for another" in result.message
    assert sorted((b.role, b.call) for b in result.blocked) == [("main", "read"), ("main/child#1", "read")]


def test_a_program_reading_the_terminal_is_never_called_deadlocked(tmp_path):
    scenario = adhoc_scenario([sys.executable, str(PROGRAMS / "hangs.py")], timeout=4)  # interactive, as typed
    result = run_scenario(scenario, RunOptions(outdir=tmp_path, capture="none"))
    assert result.ending == "timeout"


def test_busy_port_is_one_clear_error():
    with socket.socket() as busy:
        busy.bind(("0.0.0.0", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(RunError, match=rf"port {port} \(TCP/UDP\) is in use .* --port N"):
            choose_port(port)
        assert choose_port(port, ("udp",)) == port, "a UDP scenario does not need the TCP port"
    assert choose_port(0) > 0


def test_busy_port_from_the_command_line(tmp_path):
    with socket.socket() as busy:
        busy.bind(("0.0.0.0", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "ipctrace",
                "run",
                "tcp_hello",
                "--port",
                str(port),
                "--output",
                str(tmp_path),
                "--no-capture",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"ipctrace: port {port} (TCP) is in use by another program: stop it, or "
        "choose another port with --port N (--port 0 picks a free one)."
    )


def test_a_user_scenario_file_runs_with_readiness_and_script(tmp_path):
    """Programs named relative to the scenario file, wherever ipctrace is run from."""
    for program in ("echo_server.py", "echo_client.py"):
        shutil.copy(PROGRAMS / program, tmp_path / program)
    toml = tmp_path / "my_echo.toml"
    toml.write_text("""
name = "my_echo"
lesson = "echo"
timeout = 20.0
[[roles]]
name = "server"
command = ["{python}", "echo_server.py", "{port}"]
ready = ["listen"]
[[roles]]
name = "client"
command = ["{python}", "{here}/echo_client.py", "{port}"]
stdin = ["hello there\\n"]
""")
    result = run_scenario(load_scenario(toml), RunOptions(outdir=tmp_path / "out", capture="none", port=0))
    assert result.ok, result.message
    assert (tmp_path / "out" / "client.out").read_text() == "say: echo: HELLO THERE\n"
    events = result.trace.events
    listen = next(e for e in events if e.call == "listen")
    client_start = next(e for e in events if e.call == "start" and e.pid != listen.pid)
    assert client_start.t0 > listen.t1, "the client starts only once the server's listen is recorded"
    stdin = next(e for e in events if result.trace.stream_of(e) == "stdin")  # the bytes read from fd 0
    assert stdin.data == b"hello there\n"


#: A server that puts itself in the background, as a daemon does: its first process ends at once, and the
#: child it forked listens only once that process has been reaped (its /proc entry gone).
BACKGROUND_SERVER = """
import os, socket, sys, time
parent = os.getpid()
if os.fork():
    sys.exit(0)
deadline = time.monotonic() + 10
while os.path.exists(f"/proc/{parent}") and time.monotonic() < deadline:
    time.sleep(0.001)  # polls for the reap (no event says it), then goes on
s = socket.socket()
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen()
c, _ = s.accept()
print("got", c.recv(10).decode())
"""


def test_a_role_is_ready_when_a_child_reaches_it_after_the_first_process_ended(tmp_path):
    """A role is its processes: its first one ending unready fails the run only once none is left to get ready."""
    (tmp_path / "server.py").write_text(BACKGROUND_SERVER)
    (tmp_path / "client.py").write_text(
        "import socket, sys\nsocket.create_connection(('127.0.0.1', int(sys.argv[1]))).sendall(b'hi')\n"
    )
    toml = tmp_path / "background.toml"
    toml.write_text(
        'name = "background"\ntimeout = 20.0\n'
        '[[roles]]\nname = "server"\ncommand = ["{python}", "server.py", "{port}"]\nready = ["listen"]\n'
        '[[roles]]\nname = "client"\ncommand = ["{python}", "client.py", "{port}"]\n'
    )
    result = run_scenario(load_scenario(toml), RunOptions(outdir=tmp_path / "out", capture="none", port=0))
    assert result.ok, result.message
    assert (tmp_path / "out" / "server.out").read_text() == "got hi\n"
    listen = next(e for e in result.trace.events if e.call == "listen")
    first = next(
        p
        for p in result.trace.processes
        if p.role == "server" and p.ppid not in {q.pid for q in result.trace.processes}
    )
    assert listen.pid != first.pid, "the child listened, not the first process"


def test_bad_scenario_files_say_what_is_wrong(tmp_path):
    with pytest.raises(ScenarioError, match="no such scenario file"):
        find_scenario(str(tmp_path / "nothing.toml"))
    bad = tmp_path / "bad.toml"
    bad.write_text("name = \n")
    with pytest.raises(ScenarioError, match="not valid TOML"):
        load_scenario(bad)
    empty = tmp_path / "empty.toml"
    empty.write_text('name = "x"\n')
    with pytest.raises(ScenarioError, match=r"at least one \[\[roles\]\]"):
        load_scenario(empty)
    role = '[[roles]]\nname = "a"\ncommand = ["{python}", "x.py"]\n'
    mistakes = {
        "timout = 3\n" + role: "unknown key 'timout'; did you mean 'timeout'",
        'timeout = "ten"\n' + role: "'timeout' must be a number, not 'ten'",
        role + 'stdin = "hello"\n': "'stdin' in role #1 must be a list, not 'hello'",
        role.replace(
            '"x.py"', '"{prot}"'
        ): r"has '\{prot\}': the placeholders are \{python\}, \{programs\}, \{port\}, \{outdir\}",
        role + role: "two roles are named 'a'",
        '[[roles]]\nname = "a"\n': "role #1 needs 'command'",
        'generate = { "f.txt" = "big" }\n' + role: "'generate' maps file names to sizes in bytes",
        '[ending]\nblocked = ["b:read"]\n' + role: "must be ROLE:CALL with one of the roles a",
    }
    for n, (text, message) in enumerate(mistakes.items()):
        bad = tmp_path / f"bad{n}.toml"
        bad.write_text(text)
        with pytest.raises(ScenarioError, match=message):
            load_scenario(bad)
    braces = tmp_path / "braces.toml"
    braces.write_text(role.replace('"x.py"', '"-c", "print({{1: 2}})"'))
    assert load_scenario(braces).roles[0].command[-1] == "print({{1: 2}})"  # {{ }} become braces when run


def test_a_run_that_records_nothing_says_why(tmp_path):
    scenario = adhoc_scenario([sys.executable, "-I", str(PROGRAMS / "timeouts.py")])
    result = run_scenario(scenario, RunOptions(outdir=tmp_path, capture="none"))
    assert not result.ok and "nothing was recorded" in result.message and "-I" in result.message


def test_without_capture_privilege_the_run_continues_with_syscalls_only(tmp_path):
    """Without CAP_NET_RAW: one clear sentence about capture, then the run goes on."""
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or setpriv is None:
        pytest.skip("needs root and setpriv (util-linux) to run ipctrace without CAP_NET_RAW")
    result = subprocess.run(
        [
            setpriv,
            "--bounding-set=-net_raw",
            "--inh-caps=-net_raw",
            sys.executable,
            "-m",
            "ipctrace",
            "run",
            "udp_hello",
            "--port",
            "0",
            "--output",
            str(tmp_path),
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "packets     none: packet capture needs root or CAP_NET_RAW" in result.stdout
    trace = read_trace(tmp_path / "udp_hello" / "trace.jsonl")
    assert any(e.call == "sendto" for e in trace.events) and not trace.packets
    assert not (tmp_path / "udp_hello" / "capture.pcap").exists()


def test_capture_keeps_only_this_runs_packets(tmp_path):
    require_capture()
    result = run_scenario(find_scenario("udp_hello"), RunOptions(outdir=tmp_path, capture="scapy", port=0))
    assert result.ok
    trace = result.trace
    assert trace.header.capture.kernel_drops == 0
    assert [p.payload for p in trace.packets] == [b"Hello from client", b"Hello from server"]
    assert (tmp_path / "capture.pcap").stat().st_size > 0


def test_ctrl_c_keeps_the_partial_trace(tmp_path):
    import signal

    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ipctrace",
            "run",
            "--output",
            str(tmp_path),
            "--no-capture",
            "--timeout",
            "60",
            "--",
            sys.executable,
            str(PROGRAMS / "hangs.py"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    waiting = 0
    while waiting < 2:  # both processes have printed that they wait: the deadlock is there
        line = proc.stdout.readline()
        assert line, proc.stderr.read()
        waiting += line.count("waiting")  # the two processes share stdout: their lines can run together
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "interrupted: stopped with Ctrl-C" in out and "Traceback" not in err
    trace = read_trace(tmp_path / "hangs" / "trace.jsonl")
    assert sorted(e.call for e in trace.events if e.blocked) == ["read", "read"]


@pytest.mark.parametrize(
    ("wait", "said"),
    [
        ("select.select([r, r2], [], [])", "select(fds {r}, {r2})"),
        ("p = select.poll(); p.register(r); p.poll()", "poll(fd {r})"),
        ("e = select.epoll(); e.register(r); print(e.fileno(), flush=True); e.poll()", "epoll_wait(epoll fd {e})"),
    ],
)
def test_a_process_stopped_in_a_readiness_wait_is_said_to_wait_on_its_descriptors(tmp_path, wait, said):
    program = tmp_path / "waits.py"
    program.write_text(f"import os, select\nr, w = os.pipe()\nr2, w2 = os.pipe()\nprint(r, r2, flush=True)\n{wait}\n")
    from dataclasses import replace

    scenario = adhoc_scenario([sys.executable, str(program)], timeout=2)
    scenario = replace(scenario, roles=(replace(scenario.roles[0], interactive=False),))
    result = run_scenario(scenario, RunOptions(outdir=tmp_path / "out", capture="none"))
    assert not result.ok and len(result.blocked) == 1, result.message
    printed = [*map(int, (tmp_path / "out" / "main.out").read_text().split()), None]
    assert result.blocked[0].detail == said.format(r=printed[0], r2=printed[1], e=printed[2])


def test_a_run_imports_what_its_caller_needs_afterwards_while_the_programs_run(tmp_path):
    """`RunOptions.preload`: loaded by the end of the run (and a function entry called); a bad entry is harmless."""
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from ipctrace.scenarios import adhoc_scenario\n"
        "from ipctrace.session import RunOptions, run_scenario\n"
        "before = 'ipctrace.render.layout' in sys.modules\n"
        "preload = ('ipctrace.session.diagrams', 'no.such.module', 'ipctrace.render.i18n:korean_font')\n"
        "options = RunOptions(output_root=Path(sys.argv[1]), capture='none', preload=preload)\n"
        "result = run_scenario(adhoc_scenario([sys.executable, '-c', 'print(1)']), options)\n"
        "from ipctrace.render.i18n import korean_font\n"
        "print(before, 'ipctrace.render.layout' in sys.modules, result.ok, korean_font.cache_info().currsize)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.split() == ["False", "True", "True", "1"], out.stdout + out.stderr


def test_a_prompt_is_shown_before_the_line_typed_after_it(tmp_path):
    """A pump can have read a prompt and not fed it yet while its pipe already looks empty; the typed line
    waits for `wait_taken`, which returns only once every byte in the pipe has been fed (a loaded machine once
    showed `[client] exit` and then a bare `[client] Client: `)."""
    import io

    from ipctrace.session.output import OutputPrinter

    shown = io.StringIO()
    printer = OutputPrinter(tmp_path, shown)
    r, w = os.pipe()
    pump = printer.pump("client", os.fdopen(r, "rb", buffering=0))
    turns = 5000
    for turn in range(turns):
        os.write(w, b"Client: ")
        printer.wait_taken([r], timeout=10)
        assert printer.pending.get("client") == "Client: ", f"turn {turn}: the pipe looked empty, the prompt not fed"
        printer.feed("client", f"line {turn}\n".encode(), typed=True)
    os.close(w)
    pump.join(timeout=10)
    printer.close()
    assert shown.getvalue() == "".join(f"[client] Client: line {turn}\n" for turn in range(turns))


def test_scripted_lines_a_program_never_asked_for_are_named_in_the_notes(tmp_path):
    """The client leaves on `exit`; the two lines after it are never typed, and the run says so (not silently)."""
    chat = find_scenario("tcp_chat_exit")
    scenario = chat.with_stdin("client", ("Hello, server!\n", "exit\n", "one more\n", "and another\n"))
    result = run_scenario(scenario, RunOptions(outdir=tmp_path / "out", capture="none", port=0))
    assert result.ok, result.message
    unused = [note for note in result.notes if "never asked for" in note]
    assert unused == [
        "server never asked for 1 scripted line, so it was not typed: 'Nice to meet you too.'",  # the client left
        "client never asked for 2 scripted lines, so they were not typed: 'one more', 'and another'",
    ]
    typed = b"".join(e.data or b"" for e in result.trace.events if result.trace.stream_of(e) == "stdin")
    assert b"one more" not in typed and b"exit" in typed

    everything_read = run_scenario(chat, RunOptions(outdir=tmp_path / "all", capture="none", port=0))
    assert not [note for note in everything_read.notes if "never asked for" in note]


def _scripted_command(tmp_path, source: str, lines: tuple[str, ...]):
    """Run a Python program written from `source` as a command with `lines` as its script (`--say`).

    Returns the run and the lines it printed; the run must have ended well.
    """
    program = tmp_path / "program.py"
    program.write_text(source, encoding="utf-8")
    scenario = adhoc_scenario([sys.executable, str(program)]).with_stdin("main", lines)
    result = run_scenario(scenario, RunOptions(outdir=tmp_path / "out", capture="none", timeout=20))
    assert result.ok, result.message
    return result, (result.outdir / "main.out").read_text(encoding="utf-8").splitlines()


_READS_FD0 = {
    "os.read": "import os\nread = lambda: os.read(0, 100)\n",
    "libc read through ctypes": (
        "import ctypes\nlibc = ctypes.CDLL(None)\nbuf = ctypes.create_string_buffer(100)\n"
        "def read():\n    n = libc.read(0, buf, 100)\n    return buf.raw[:n]\n"
    ),
}


@pytest.mark.parametrize("how", list(_READS_FD0))
def test_a_program_reading_fd_0_itself_gets_each_scripted_line_once_and_an_unmarked_read_is_noted(tmp_path, how):
    """`--say` on a command: each read of fd 0 gets one line, whether or not the recorder marks the read."""
    source = _READS_FD0[how] + "for _ in range(3):\n    print('got', read(), flush=True)\n"
    result, printed = _scripted_command(tmp_path, source, ("hello\n", "world\n"))
    assert printed == ["got b'hello\\n'", "got b'world\\n'", "got b''"], "a line per read, then end of input"
    unmarked = [note for note in result.notes if "does not mark" in note]
    if how == "os.read":
        assert unmarked == [], "os.read of fd 0 is marked by the recorder: answered at once"
    else:
        assert unmarked == [
            "main waited for input 3 times in a read the recorder does not mark (libc's read through ctypes, "
            "a raw system call): ipctrace saw it in /proc and gave it its next scripted line each time"
        ]


_WAITS_ON_FD0 = {
    "select.select": "import select\nwait = lambda: bool(select.select([sys.stdin], [], [], 30)[0])\n",
    "select.poll": (
        "import select\np = select.poll()\np.register(0, select.POLLIN)\nwait = lambda: bool(p.poll(30000))\n"
    ),
    "selectors (epoll)": (
        "import selectors\ns = selectors.DefaultSelector()\ns.register(sys.stdin, selectors.EVENT_READ)\n"
        "wait = lambda: bool(s.select(30))\n"
    ),
}


@pytest.mark.parametrize("how", list(_WAITS_ON_FD0))
def test_a_program_waiting_on_fd_0_among_others_gets_one_line_per_wait(tmp_path, how):
    """A chat loop's select over stdin (and sockets): the wait asks for the line, the readline after it not again."""
    source = "import sys\n" + _WAITS_ON_FD0[how] + "for _ in range(2):\n"
    source += "    ready = wait()\n    print('ready', ready, 'line', sys.stdin.readline().strip(), flush=True)\n"
    result, printed = _scripted_command(tmp_path, source, ("hello\n", "world\n"))
    assert printed == ["ready True line hello", "ready True line world"]
    assert [n for n in result.notes if "does not mark" in n or "never asked" in n] == []


def test_a_program_computing_for_longer_than_the_expected_endings_idle_time_is_not_taken_for_it(tmp_path):
    """The expected ending (a reader left blocked) is reached once the program waits, not while it computes."""
    (tmp_path / "thinker.py").write_text(
        "import os, time\nr, w = os.pipe()\nos.write(w, b'start')\nos.read(r, 5)\n"
        "end = time.monotonic() + 1.5\nwhile time.monotonic() < end:\n    pass  # no call recorded for 1.5 s\n"
        "print('thought', flush=True)\nos.read(r, 5)  # nobody writes again: blocked, as the scenario expects\n",
        encoding="utf-8",
    )
    toml = tmp_path / "thinker.toml"
    toml.write_text(
        'name = "thinker"\ntimeout = 20.0\n[ending]\nidle = 0.3\nblocked = ["main:read"]\n'
        '[[roles]]\nname = "main"\ncommand = ["{python}", "{here}/thinker.py"]\n'
    )
    result = run_scenario(load_scenario(toml), RunOptions(outdir=tmp_path / "out", capture="none"))
    assert result.ok, result.message
    assert (result.outdir / "main.out").read_text(encoding="utf-8") == "thought\n", "it was not stopped mid-thought"
    reads = [e for e in result.trace.events if e.call == "read"]
    assert [e.blocked for e in reads] == [False, True]


def test_the_run_ends_with_its_programs_while_the_warm_up_goes_on_importing(tmp_path, monkeypatch):
    """`ended` (the summary's duration) is the programs' end, not when the post-run imports were done;
    the result still comes only after them (a module taking 1 s to import stands for the drawing stack)."""
    import time

    (tmp_path / "slow_to_import_for_the_warm_up.py").write_text("import time\ntime.sleep(1.0)\nLOADED = True\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "quick.py").write_text("import os\nr, w = os.pipe()\nos.write(w, b'x')\nos.read(r, 1)\n")
    scenario = adhoc_scenario([sys.executable, str(tmp_path / "quick.py")])
    options = RunOptions(outdir=tmp_path / "out", capture="none", preload=("slow_to_import_for_the_warm_up",))
    begun = time.monotonic()
    result = run_scenario(scenario, options)
    took = time.monotonic() - begun
    assert result.ok, result.message
    assert sys.modules["slow_to_import_for_the_warm_up"].LOADED, "the warm-up was done before the result"
    header = result.trace.header
    last_end = max(p.end for p in result.trace.processes if p.end is not None)
    assert took >= 1.0
    assert (header.ended - last_end) / 1e9 < 0.5, "ended waited for the warm-up's imports"
