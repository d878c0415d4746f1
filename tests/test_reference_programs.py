"""Run every reference program for real, untraced, and check what it prints and the files it writes.

The reference programs are the ground truth ipctrace traces and draws; these
tests make sure each one behaves like the C original on its own, as the course
notes run it (a server, then its client), before any tracer is involved. The
command lines and scripted input come from the scenario files, so a broken
scenario fails here too.

Servers are started first and clients only once the server is reachable —
found in /proc/net (a probe connection would be taken for the one client a
single-accept server serves), never after a fixed sleep.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "reference_programs"
SCENARIOS = PACKAGE / "scenarios"
WAIT = 10.0  # seconds: the most any single wait in these tests may take

#: The catalogue (scenarios.md): its 14 `##` headings and the variant pipe2_nosleep described under pipe2.
CATALOGUE = (
    "socketpair_single",
    "socketpair_fork",
    "pipe1",
    "pipe2",
    "pipe2_nosleep",
    "pipe3",
    "echo_storeserv",
    "unix_stream",
    "unix_dgram",
    "tcp_hello",
    "udp_hello",
    "tcp_chat",
    "tcp_chat_exit",
    "udp_file",
    "udp_file_done",
)
EXTRA_SCENARIOS = ("tcp_chat_exit_server",)  # the second exit script the catalogue asks for

ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}


# -- starting programs ----------------------------------------------------------------------------


class Program:
    """A program started as a subprocess; a thread collects its stdout lines so waits can time out."""

    def __init__(
        self, argv: list[str], cwd: Path, stderr: Path, stdin: str | None = None, interactive: bool = False
    ) -> None:
        self.argv = argv
        self._stderr = stderr
        with stderr.open("w") as err:  # a file, not a pipe: forked children may keep it open
            self.proc = subprocess.Popen(
                argv,
                cwd=cwd,
                env=ENV,
                text=True,
                encoding="utf-8",
                stdin=subprocess.PIPE if stdin is not None or interactive else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=err,
            )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._pump, daemon=True)
        self._reader.start()
        if stdin is not None:
            self.send(stdin)
            if not interactive:
                self.close_stdin()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._queue.put(line)
        self._queue.put(None)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def send(self, text: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text)
        self.proc.stdin.flush()

    def close_stdin(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()

    def next_line(self, timeout: float = WAIT) -> str | None:
        """The next printed line without its newline; None at end of output."""
        try:
            line = self._queue.get(timeout=timeout)
        except queue.Empty:
            pytest.fail(f"{self.argv[2:]} printed nothing for {timeout} s; so far: {self.lines}")
        if line is None:
            self._queue.put(None)  # stay at end of output for later calls
            return None
        line = line.removesuffix("\n")
        self.lines.append(line)
        return line

    def expect(self, wanted: str | re.Pattern[str], timeout: float = WAIT) -> str:
        """Read lines until one equals (or fully matches) `wanted`; fail if output ends first."""
        deadline = time.monotonic() + timeout
        while True:
            line = self.next_line(max(0.0, deadline - time.monotonic()))
            if line is None:
                pytest.fail(
                    f"{self.argv[2:]} ended without printing {wanted!r}; it printed {self.lines}\n"
                    f"stderr: {self.stderr()}"
                )
            if line == wanted if isinstance(wanted, str) else wanted.fullmatch(line):
                return line

    def finish(self, timeout: float = WAIT) -> list[str]:
        """Wait for the program (and every child holding its stdout) to end; all its printed lines."""
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{self.argv[2:]} still running after {timeout} s; printed {self.lines}")
        while self.next_line(timeout) is not None:
            pass
        return self.lines

    def expect_count(self, pattern: re.Pattern[str], count: int, timeout: float = WAIT) -> list[str]:
        """Read lines until `count` printed lines (so far, in all) fully match `pattern`."""
        deadline = time.monotonic() + timeout
        while len(found := [line for line in self.lines if pattern.fullmatch(line)]) < count:
            if self.next_line(max(0.0, deadline - time.monotonic())) is None:
                pytest.fail(
                    f"{self.argv[2:]} ended with {len(found)} of {count} lines matching "
                    f"{pattern.pattern!r}: {self.lines}\nstderr: {self.stderr()}"
                )
        return found

    def stderr(self) -> str:
        return self._stderr.read_text()

    def stop(self) -> None:
        """Kill it if it is still running (by its own pid only) and release its pipes."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()


@pytest.fixture
def start(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Program]]:
    """Start programs for one test (in tmp_path); any still running at the end is killed."""
    started: list[Program] = []
    logs = tmp_path_factory.mktemp("stderr")

    def _start(argv: list[str], stdin: str | None = None, interactive: bool = False) -> Program:
        program = Program(argv, tmp_path, logs / f"{len(started)}.txt", stdin, interactive)
        started.append(program)
        return program

    yield _start
    for program in started:
        program.stop()


def module_argv(module: str, *args: str) -> list[str]:
    return [sys.executable, str(PACKAGE / f"{module}.py"), *args]


def run(module: str, *args: str, timeout: float = WAIT) -> subprocess.CompletedProcess[str]:
    """Run a single-process example to its end."""
    return subprocess.run(
        module_argv(module, *args), env=ENV, capture_output=True, text=True, timeout=timeout, check=False
    )


def scenario(name: str) -> dict[str, Any]:
    with (SCENARIOS / f"{name}.toml").open("rb") as f:
        return tomllib.load(f)


def roles(name: str, port: int, outdir: Path) -> dict[str, tuple[list[str], str | None]]:
    """Each role of a scenario: its command with the placeholders filled in, and its scripted input."""
    out = {}
    for role in scenario(name)["roles"]:
        argv = [
            arg.replace("{python}", sys.executable)
            .replace("{programs}", str(PACKAGE))
            .replace("{port}", str(port))
            .replace("{outdir}", str(outdir))
            for arg in role["command"]
        ]
        stdin = "".join(role["stdin"]) if "stdin" in role else None
        out[role["name"]] = (argv, stdin)
    return out


def free_port(kind: socket.SocketKind) -> int:
    """A port nothing on this machine is using right now (the kernel's pick for port 0)."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("", 0))
        return s.getsockname()[1]


# -- readiness, read from /proc/net ----------------------------------------------------------------


def _inet_sockets(proto: str) -> list[tuple[int, str]]:
    """(local port, state) of every IPv4/IPv6 socket of `proto` ("tcp" or "udp")."""
    found = []
    for path in (Path(f"/proc/net/{proto}"), Path(f"/proc/net/{proto}6")):
        if path.exists():
            for row in path.read_text().splitlines()[1:]:
                fields = row.split()
                found.append((int(fields[1].rsplit(":", 1)[1], 16), fields[3]))
    return found


def tcp_listening(port: int) -> bool:
    return any(p == port and state == "0A" for p, state in _inet_sockets("tcp"))  # 0A: TCP_LISTEN


def udp_bound(port: int) -> bool:
    return any(p == port for p, _ in _inet_sockets("udp"))


def unix_socket(path: Path, listening: bool = False) -> bool:
    """A Unix socket is bound to `path` (and, if asked, listening: flag __SO_ACCEPTCON)."""
    for row in Path("/proc/net/unix").read_text().splitlines()[1:]:
        fields = row.split()
        if len(fields) >= 8 and fields[7] == str(path):
            return not listening or int(fields[3], 16) & 0x10000 != 0
    return False


def wait_until(ready: Callable[[], bool], what: str, server: Program | None = None) -> None:
    """Poll `ready` every 10 ms; fail early if the server died, or after WAIT seconds."""
    deadline = time.monotonic() + WAIT
    while not ready():
        if server is not None and server.proc.poll() is not None:
            pytest.fail(f"server ended before {what}: {server.lines} {server.stderr()}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.01)


def file_bytes(n: int) -> bytes:
    """n deterministic bytes that look random, so no 1024-byte chunk starts with DONE."""
    blocks = (hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(n // 32 + 1))
    return b"".join(blocks)[:n]


# -- single-process examples -----------------------------------------------------------------------


def test_socketpair_single() -> None:
    result = run("socketpair_single")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["[send] This is from sd[0]", "[received] This is from sd[0]"]


def test_socketpair_fork() -> None:
    proc = subprocess.Popen(module_argv("socketpair_fork"), env=ENV, stdout=subprocess.PIPE, text=True)
    out, _ = proc.communicate(timeout=WAIT)  # returns once the child, too, has closed stdout
    lines = out.splitlines()
    assert len(lines) == 2, lines
    parent = re.fullmatch(r"\[parent:(\d+)\] From Child", lines[0])  # the parent prints before it replies
    child = re.fullmatch(r"\[child:(\d+)\] From Parent", lines[1])
    assert parent and child, lines
    assert int(parent[1]) == proc.pid != int(child[1])


def test_pipe1() -> None:
    result = run("pipe1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["Who are you?"]


@pytest.mark.slow
@pytest.mark.parametrize("module", ["pipe2", "pipe3"])
def test_pipe2_and_pipe3(module: str) -> None:
    """Both print the same two lines (with the C format's space before the newline); the parent sleeps 3 s."""
    result = run(module)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "Parent proc output: Who are you? ",
        "Child proc output: Thank you for your message ",
    ]


def _blocked_in_pipe_read(pid: int) -> bool:
    """The process sleeps, and if the kernel tells where, it sleeps in a pipe read."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    if stat.rsplit(")", 1)[1].split()[0] != "S":
        return False
    try:
        wchan = Path(f"/proc/{pid}/wchan").read_text().strip()
    except OSError:
        return True
    return wchan in ("", "0") or "pipe" in wchan


@pytest.mark.slow
def test_pipe2_nosleep_either_outcome_of_the_race(start: Callable[..., Program]) -> None:
    """Untraced, the scheduler decides; the scenario forces the child first. Both outcomes are checked."""
    program = start(module_argv("pipe2_nosleep"))
    first = program.next_line()
    if first == "Child proc output: Who are you? ":
        # The child read its own message back: the parent must now be stuck in read() for good.
        wait_until(lambda: _blocked_in_pipe_read(program.pid), "the parent to block in read")
        assert program.proc.poll() is None
    else:
        assert first == "Parent proc output: Who are you? "
        assert program.finish() == [first, "Child proc output: Thank you for your message "]
        assert program.proc.returncode == 0


# -- TCP, UDP and Unix socket pairs of programs ------------------------------------------------------


def test_tcp_hello_twice_in_a_row_on_one_port(start: Callable[..., Program], tmp_path: Path) -> None:
    """The second run binds the port while the first connection is in TIME_WAIT (SO_REUSEADDR)."""
    port = free_port(socket.SOCK_STREAM)
    for _ in range(2):
        (server_argv, _), (client_argv, _) = roles("tcp_hello", port, tmp_path).values()
        server = start(server_argv)
        wait_until(lambda: tcp_listening(port), "the server to listen", server)
        client = start(client_argv)
        assert client.finish() == ["Hello message sent", "Message from server: Hello from server"]
        assert server.finish() == ["Message from client: Hello from client", "Hello message sent"]
        assert (client.proc.returncode, server.proc.returncode) == (0, 0)


def test_udp_hello(start: Callable[..., Program], tmp_path: Path) -> None:
    port = free_port(socket.SOCK_DGRAM)
    r = roles("udp_hello", port, tmp_path)
    server = start(r["server"][0])
    wait_until(lambda: udp_bound(port), "the server to bind", server)
    client = start(r["client"][0])
    assert client.finish() == ["Hello message sent", "Message from server: Hello from server"]
    assert server.finish() == ["Message from client: Hello from client", "Hello message sent"]
    assert (client.proc.returncode, server.proc.returncode) == (0, 0)


def test_unix_stream(start: Callable[..., Program], tmp_path: Path) -> None:
    r = roles("unix_stream", 0, tmp_path)
    path = tmp_path / "stream.sock"
    server = start(r["server"][0])
    wait_until(lambda: unix_socket(path, listening=True), "the server to listen", server)
    client = start(r["client"][0])
    assert client.finish() == ["Hello message sent", "Message from server: Hello from server"]
    assert server.finish() == ["Message from client: Hello from client", "Hello message sent"]
    assert (client.proc.returncode, server.proc.returncode) == (0, 0)
    assert not path.exists()


def test_unix_dgram(start: Callable[..., Program], tmp_path: Path) -> None:
    r = roles("unix_dgram", 0, tmp_path)
    path = tmp_path / "dgram.sock"
    server = start(r["server"][0])
    wait_until(lambda: unix_socket(path), "the server to bind", server)
    client = start(r["client"][0])
    assert client.finish() == ["Hello message sent", "Message from server: Hello from server"]
    assert server.finish() == ["Message from client: Hello from client", "Hello message sent"]
    assert (client.proc.returncode, server.proc.returncode) == (0, 0)
    assert list(tmp_path.iterdir()) == []  # both socket names removed


def test_unix_stream_server_replaces_a_stale_socket_file(start: Callable[..., Program], tmp_path: Path) -> None:
    path = tmp_path / "stream.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as stale:
        stale.bind(str(path))  # a crashed run leaves the name behind
    server = start(module_argv("unix_stream_server", "--path", str(path)))
    wait_until(lambda: unix_socket(path, listening=True), "the server to listen", server)
    client = start(module_argv("unix_stream_client", "--path", str(path)))
    assert client.finish()[-1] == "Message from server: Hello from server"


#: What each side prints for a chat scenario's default script. A message keeps its newline, so
#: `Client: <msg>` is followed by an empty line; a prompt is followed by whatever is printed next.
CHATS = {
    "tcp_chat": (
        [
            "Waiting for a connection...",
            "Connection established with client.",
            "Client: Hello, server!",
            "",
            "Server: Client: How are you?",
            "",
            "Server: Client: Good. Bye.",
            "",
            "Server: ",
        ],
        [
            "Connected to server.",
            "Client: Server: Hi client, this is the server.",
            "",
            "Client: Server: Fine, thanks. And you?",
            "",
            "Client: Server: Bye!",
            "",
            "Client: ",
        ],
    ),
    "tcp_chat_exit": (  # the client types exit: sent, never printed by the server
        [
            "Waiting for a connection...",
            "Connection established with client.",
            "Client: Hello, server!",
            "",
            "Server: Client: Nice to meet you.",
            "",
            "Server: ",
        ],
        [
            "Connected to server.",
            "Client: Server: Hi client!",
            "",
            "Client: Server: Nice to meet you too.",
            "",
            "Client: ",
        ],
    ),
    "tcp_chat_exit_server": (  # the server types exit: the client leaves without printing it
        [
            "Waiting for a connection...",
            "Connection established with client.",
            "Client: Hello, server!",
            "",
            "Server: Client: Are you still there?",
            "",
            "Server: ",
        ],
        ["Connected to server.", "Client: Server: Hi client!", "", "Client: "],
    ),
}


@pytest.mark.parametrize("name", sorted(CHATS))
def test_chat_scripts(name: str, start: Callable[..., Program], tmp_path: Path) -> None:
    port = free_port(socket.SOCK_STREAM)
    r = roles(name, port, tmp_path)
    server = start(*r["server"])
    server.expect("Waiting for a connection...")  # printed after listen()
    client = start(*r["client"])
    expected_server, expected_client = CHATS[name]
    assert client.finish() == expected_client
    assert server.finish() == expected_server
    assert (client.proc.returncode, server.proc.returncode) == (0, 0)


def test_chat_exit_matches_any_line_starting_with_exit(start: Callable[..., Program]) -> None:
    """strncmp(buffer, "exit", 4): `exiting now` ends the chat on both sides, unprinted."""
    port = free_port(socket.SOCK_STREAM)
    server = start(module_argv("tcp_chat_exit_server", "--port", str(port)), stdin="")
    server.expect("Waiting for a connection...")
    client = start(module_argv("tcp_chat_exit_client", "--port", str(port)), stdin="exiting now\n")
    assert client.finish() == ["Connected to server.", "Client: "]
    assert server.finish() == ["Waiting for a connection...", "Connection established with client."]


def test_udp_file_server_never_finishes(start: Callable[..., Program], tmp_path: Path) -> None:
    """The quirk that is the lesson: the file arrives whole, the server still waits in recvfrom."""
    spec = scenario("udp_file")
    data = file_bytes(spec["generate"]["send_file.txt"])
    (tmp_path / "send_file.txt").write_bytes(data)
    port = free_port(socket.SOCK_DGRAM)
    r = roles("udp_file", port, tmp_path)
    server = start(r["server"][0])
    wait_until(lambda: udp_bound(port), "the server to bind", server)
    client = start(r["client"][0])
    assert client.finish() == ["File sent successfully."]
    received = tmp_path / "received_file.txt"
    wait_until(lambda: received.exists() and received.stat().st_size >= len(data), "the whole file", server)
    assert hashlib.sha256(received.read_bytes()).digest() == hashlib.sha256(data).digest()
    assert server.proc.poll() is None and server.lines == []  # never prints "File received successfully."


def test_udp_file_done(start: Callable[..., Program], tmp_path: Path) -> None:
    spec = scenario("udp_file_done")
    data = file_bytes(spec["generate"]["send_file.txt"])
    assert len(data) > 1024  # more than one datagram
    (tmp_path / "send_file.txt").write_bytes(data)
    port = free_port(socket.SOCK_DGRAM)
    r = roles("udp_file_done", port, tmp_path)
    server = start(r["server"][0])
    wait_until(lambda: udp_bound(port), "the server to bind", server)
    client = start(r["client"][0])
    assert client.finish() == ["File sent successfully."]
    assert server.finish() == ["File received successfully."]
    assert (client.proc.returncode, server.proc.returncode) == (0, 0)
    for first, second in spec["same_files"]:
        assert (
            hashlib.sha256((tmp_path / first).read_bytes()).hexdigest()
            == hashlib.sha256((tmp_path / second).read_bytes()).hexdigest()
        )


def test_udp_file_done_ends_early_on_a_chunk_starting_with_done(start: Callable[..., Program], tmp_path: Path) -> None:
    """strncmp(buffer, "DONE", 4): the second 1024-byte chunk begins with DONE, so only the first arrives."""
    data = file_bytes(1024) + b"DONE" + file_bytes(2000)
    (tmp_path / "send_file.txt").write_bytes(data)
    port = free_port(socket.SOCK_DGRAM)
    server = start(module_argv("udp_file_done_server", "--port", str(port), "--dir", str(tmp_path)))
    wait_until(lambda: udp_bound(port), "the server to bind", server)
    client = start(module_argv("udp_file_done_client", "--port", str(port), "--dir", str(tmp_path)))
    assert client.finish() == ["File sent successfully."]
    assert server.finish() == ["File received successfully."]
    assert (tmp_path / "received_file.txt").read_bytes() == data[:1024]


# -- the echo server that stores messages ------------------------------------------------------------


def test_echo_storeserv(start: Callable[..., Program], tmp_path: Path) -> None:
    """Two clients in turn; each line is sent once its predecessor's echo is back, so each is one read.

    client1 ends with `q`, client2 with end of input (the port's fix of the C's unchecked fgets).
    The storing child writes the first 10 reads to echomsg.txt and exits; SIGTERM ends the server.
    """
    port = free_port(socket.SOCK_STREAM)
    r = roles("echo_storeserv", port, tmp_path)
    server = start(r["server"][0])
    wait_until(lambda: tcp_listening(port), "the server to listen", server)

    sent: list[str] = []
    for name in ("client1", "client2"):
        argv, script = r[name]
        assert script is not None
        lines = script.splitlines(keepends=True)
        assert lines[-1] == "q\n"
        client = start(argv, interactive=True)
        for line in lines[:-1]:
            client.send(line)
            assert client.next_line() == "Message from server: " + line.removesuffix("\n")
            sent.append(line)
        if name == "client1":
            client.send("q\n")
        else:
            client.close_stdin()
        assert client.finish() == [f"Message from server: {line.removesuffix(chr(10))}" for line in lines[:-1]]
        assert client.proc.returncode == 0

    # Two client handlers and the storing child end; the SIGCHLD handler reports each one.
    removed = server.expect_count(re.compile(r"removed proc id: \d+ "), 3)
    assert len(set(removed)) == 3
    assert server.expect_count(re.compile(r"client disconnected\.\.\."), 2)
    assert server.lines.count("new client connected...") == 2

    stored = (tmp_path / "echomsg.txt").read_bytes()
    everything = "".join(sent).encode()
    assert stored.startswith("".join(sent[:10]).encode())  # the first 10 messages, in order
    assert everything.startswith(stored)  # and nothing else (10 reads may take in more if coalesced)

    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(WAIT) == 0
    assert not tcp_listening(port)


# -- the scenario files --------------------------------------------------------------------------------

TOP_KEYS = {"name": str, "title": str, "source": str, "lesson": str, "timeout": (int, float), "roles": list}
OPTIONAL_TOP_KEYS = {
    "schedule": str,
    "outcomes": int,
    "generate": dict,
    "same_files": list,
    "ending": dict,
    "protocols": list,
}
ROLE_KEYS = {"name": str, "command": list}
OPTIONAL_ROLE_KEYS = {
    "ready": list,
    "stdin": list,
    "service": bool,
    "c_command": list,
}  # c_command: tests/test_c_originals.py


def test_every_catalogue_scenario_has_a_file() -> None:
    names = {path.stem for path in SCENARIOS.glob("*.toml")}
    assert names == set(CATALOGUE) | set(EXTRA_SCENARIOS)


@pytest.mark.parametrize("name", CATALOGUE + EXTRA_SCENARIOS)
def test_scenario_file_follows_the_schema(name: str) -> None:
    spec = scenario(name)
    assert spec["name"] == name
    assert set(spec) <= set(TOP_KEYS) | set(OPTIONAL_TOP_KEYS), set(spec) - set(TOP_KEYS)
    for key, kind in TOP_KEYS.items():
        assert isinstance(spec.get(key), kind), key
    for key, kind in OPTIONAL_TOP_KEYS.items():
        assert key not in spec or isinstance(spec[key], kind), key
    assert spec["timeout"] > 0
    assert spec.get("schedule", "child-first") == "child-first"
    assert all(isinstance(k, str) and isinstance(v, int) and v > 0 for k, v in spec.get("generate", {}).items())
    assert all(len(pair) == 2 and all(isinstance(f, str) for f in pair) for pair in spec.get("same_files", []))

    role_names = [role.get("name") for role in spec["roles"]]
    assert spec["roles"] and len(set(role_names)) == len(role_names)
    for role in spec["roles"]:
        assert set(role) <= set(ROLE_KEYS) | set(OPTIONAL_ROLE_KEYS), set(role)
        for key, kind in ROLE_KEYS.items():
            assert isinstance(role.get(key), kind), key
        for key, kind in OPTIONAL_ROLE_KEYS.items():
            assert key not in role or isinstance(role[key], kind), key
        command = role["command"]
        assert all(isinstance(arg, str) for arg in command)
        assert command[0] == "{python}" and command[1].startswith("{programs}/"), command
        assert (PACKAGE / command[1].removeprefix("{programs}/")).is_file(), command[1]
        assert all(isinstance(line, str) and line.endswith("\n") for line in role.get("stdin", []))
        assert all(isinstance(call, str) for call in role.get("ready", []))
        # Every file and socket name lives in the run's output folder.
        for flag in ("--dir", "--path", "--client-path"):
            if flag in command:
                assert command[command.index(flag) + 1].startswith("{outdir}"), flag

    if "ending" in spec:
        ending = spec["ending"]
        assert set(ending) == {"idle", "blocked", "explanation"}
        assert isinstance(ending["idle"], (int, float)) and 0 < ending["idle"] < spec["timeout"]
        assert isinstance(ending["explanation"], str) and ending["explanation"]
        for entry in ending["blocked"]:
            role, _, call = entry.partition(":")
            assert role in role_names and call, entry


def _load_program(stem: str) -> Any:
    """A reference program as a module, loaded the way `python PROGRAM.py` finds its imports (its own folder)."""
    spec = importlib.util.spec_from_file_location(f"_reference_{stem}", PACKAGE / f"{stem}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(PACKAGE))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(PACKAGE))
    return module


def test_every_program_has_a_scenario_documents_itself_and_has_main() -> None:
    """Each module is run by some scenario, says how it departs from the C, and runs with `python -m`."""
    modules = {p.stem for p in PACKAGE.glob("*.py") if not p.stem.startswith("_")}
    used = {
        role["command"][1].removeprefix("{programs}/").removesuffix(".py")
        for name in CATALOGUE + EXTRA_SCENARIOS
        for role in scenario(name)["roles"]
    }
    assert modules == used
    for stem in sorted(modules):
        module = _load_program(stem)
        doc = module.__doc__ or ""
        assert "Deviation" in doc or "Choices the seed leaves open" in doc, stem
        assert callable(getattr(module, "main", None)), stem
        assert 'if __name__ == "__main__":' in (PACKAGE / f"{stem}.py").read_text(), stem
