"""Every C original of the course examples runs under the native recorder, and its trace tells the same story.

For each scenario, `ipctrace run NAME --impl c`:

- shows role by role the calls and exact bytes the Python port's trace shows (tests/test_scenarios.py's
  expectations, which are the C programs' calls);
- has the canonical form of the Python port's run, but for the differences reference_programs/c/README.md
  lists for that scenario (every scenario: the program's name on its command line; echo_storeserv: the
  accepts a SIGCHLD interrupts, and the SIGTERM handler's `_exit`);
- against `strace -f` on the same run: every data call strace saw on a pipe, a socket or a standard stream
  is in the trace, process by process, with the same bytes.
"""

from __future__ import annotations

import concurrent.futures
import re
import subprocess
import sys
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import pytest

from ipctrace.calls import DATA_CALLS, Call, spec
from ipctrace.compare import canonicalize
from ipctrace.compare.canonical import CanonicalTrace, channel_name
from ipctrace.compare.diff import diff_canonical
from ipctrace.compare.naming import Names
from ipctrace.link import link
from ipctrace.model import Trace
from ipctrace.record.reader import read_logs
from ipctrace.scenarios import Impl, builtin_scenarios, find_scenario
from ipctrace.session import RunOptions, RunResult, run_scenario
from tests import test_c_originals, test_native
from tests.conftest import can_capture
from tests.strace_log import BLOCKED, STRACED, STREAM_OF_FD, Entry, processes
from tests.test_c_originals import run_roles
from tests.test_scenarios import EXPECTED, ipc_calls

# The fixtures these tests share with the C originals' and the native recorder's own.
cbin = test_c_originals.cbin
strace = test_c_originals.strace
native_lib = test_native.native_lib

SCENARIOS = sorted(builtin_scenarios())
CATALOGUE = Path(__file__).resolve().parents[1] / "reference_programs" / "c" / "README.md"


def _run(name: str, impl: Impl, tmp_path: Path, capture: str) -> RunResult:
    scenario = find_scenario(name).for_impl(impl)
    return run_scenario(scenario, RunOptions(outdir=tmp_path / scenario.run_name, capture=capture, port=0))


# -- the listed differences, as the catalogue names them ------------------------------------------------------


def _as_run(canonical: CanonicalTrace, name: str) -> CanonicalTrace:
    """Every scenario: `python X.py ARGS` and `X ARGS` name the same program, and the C run's output folder
    (`NAME-c`, given to programs that write files) is the run's folder."""

    def program(argv: tuple[str, ...]) -> tuple[str, ...]:
        if len(argv) > 1 and argv[0] == "python":
            argv = (argv[1].removesuffix(".py"), *argv[2:])
        return tuple(name if a == f"{name}-c" else a for a in argv)

    return replace(canonical, processes=tuple(replace(p, argv=program(p.argv)) for p in canonical.processes))


def _without_interrupted_accepts(canonical: CanonicalTrace) -> CanonicalTrace:
    """echo_storeserv's server: C's accept returns EINTR when SIGCHLD comes (the loop calls it again; Python
    retries inside accept), and its SIGTERM handler ends the process with `_exit(0)` inside accept, where
    Python's handler raises SystemExit out of it."""
    server = canonical.process("server")
    assert server is not None
    calls = tuple(c for c in server.calls if not (c.call == "accept" and c.error in ("EINTR", "SystemExit")))
    calls = tuple(replace(c, args=(("how", "return"),), result=None) if c.call == "exit" else c for c in calls)
    processes = tuple(replace(p, calls=calls) if str(p.role) == "server" else p for p in canonical.processes)
    return replace(canonical, processes=processes)


LISTED = {"echo_storeserv": _without_interrupted_accepts}


def _listed(canonical: CanonicalTrace, name: str) -> CanonicalTrace:
    canonical = _as_run(canonical, name)
    return LISTED[name](canonical) if name in LISTED else canonical


# -- the C original's trace ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SCENARIOS)
def test_the_c_originals_trace_shows_the_python_ports_calls_and_canonical_form(
    name: str, cbin: Path, native_lib: Path, tmp_path: Path
) -> None:
    capture = "scapy" if can_capture() is None else "none"
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        c_run = pool.submit(_run, name, Impl.C, tmp_path, capture)
        py_run = pool.submit(_run, name, Impl.PYTHON, tmp_path, capture)
        c, py = c_run.result(), py_run.result()
    assert c.ok, c.message
    assert py.ok, py.message
    assert not c.recorder_problems, c.recorder_problems
    trace = c.trace
    if name in EXPECTED:
        assert sorted(p.role for p in trace.processes) == sorted(EXPECTED[name])
        for role, expected in EXPECTED[name].items():
            assert ipc_calls(trace, role) == expected, role
    elif name == "echo_storeserv":
        _check_echo_storeserv(c)
    else:
        _check_udp_file(name, c)
    # How the kernel cut each stream into segments, whether a FIN rode on the last data or was sent again,
    # and which side's last pure ACK came first are timing (two runs of one program differ too on a loaded
    # machine): the packets are compared as what the programs decide of them, the bytes and the flags.
    expected, got = _listed(canonicalize(py.trace), name), _listed(canonicalize(c.trace), name)
    result = diff_canonical(expected, got, ignore=("packets",))
    assert result.equivalent, result.explain()
    assert _on_the_wire(c.trace) == _on_the_wire(py.trace)
    if capture != "none" and find_scenario(name).uses_port:
        assert _on_the_wire(c.trace), "the C run's packets were captured"


def _on_the_wire(trace: Trace) -> dict[str, tuple[int, frozenset[str]]]:
    """Per channel, how many bytes of its stream its packets carried and which of SYN, FIN and RST it saw.

    A byte is counted once however many segments carried it: a loaded machine's TCP sends a segment again
    when its ACK is late (a tail loss probe, 5-10 ms on loopback), and the capture sees both copies, so the
    bytes are the union of the stream offset ranges the segments covered, not the sum of their payloads.
    """
    linked = link(trace)
    names = Names(trace, linked)
    channels = {ch.id: channel_name(ch, names) for ch in linked.channels}
    ranges: dict[str, set[tuple[int, int]]] = defaultdict(set)
    datagrams: dict[str, int] = defaultdict(int)  # UDP: no stream offsets, and the kernel never sends one again
    flags: dict[str, set[str]] = defaultdict(set)
    for p in trace.packets:
        plink = linked.packet_link(p.index)
        if plink is not None and plink.channel in channels:
            channel = channels[plink.channel]
        else:
            channel = f"{names.addr(p.src)}→{names.addr(p.dst)}"
        flags[channel].update(f for f in p.flags.letters if f in "SFR")
        if p.payload and plink is not None and plink.offset is not None:
            ranges[channel].add((plink.offset, plink.offset + len(p.payload)))
        else:
            datagrams[channel] += len(p.payload)
    return {channel: (_covered(ranges[channel]) + datagrams[channel], frozenset(flags[channel])) for channel in flags}


def _covered(ranges: set[tuple[int, int]]) -> int:
    """How many offsets the ranges cover, each once."""
    total, reach = 0, None
    for lo, hi in sorted(ranges):
        lo = lo if reach is None else max(lo, reach)
        if hi > lo:
            total, reach = total + hi - lo, hi
    return total


def _check_udp_file(name: str, c: RunResult) -> None:
    sent = (c.outdir / "send_file.txt").read_bytes()
    assert (c.outdir / "received_file.txt").read_bytes() == sent and len(sent) > 1024
    client = next(p for p in c.trace.processes if p.role == "client")
    sends = [e.data for e in c.trace.events_of(client.pid) if e.call == "sendto"]
    chunks = [sent[i : i + 1024] for i in range(0, len(sent), 1024)]
    assert sends == (chunks if name == "udp_file" else [*chunks, b"DONE"])
    if name == "udp_file":
        assert c.ending == "expected-blocked" and [(b.role, b.call) for b in c.blocked] == [("server", "recvfrom")]


def _check_echo_storeserv(c: RunResult) -> None:
    trace = c.trace
    storer = next(p for p in trace.processes if p.role == "server/child#1")
    reads = [e for e in trace.events_of(storer.pid) if e.call == "read"]
    assert len(reads) == 10 and (c.outdir / "echomsg.txt").read_bytes() == b"".join(e.data or b"" for e in reads)
    for client in ("client1", "client2"):
        writer = next(p for p in trace.processes if p.role == f"{client}/child#1")
        reader = next(p for p in trace.processes if p.role == client)
        written = b"".join(e.data or b"" for e in trace.events_of(writer.pid) if e.call == "write" and e.fd == 3)
        echoed = b"".join(e.data or b"" for e in trace.events_of(reader.pid) if e.call == "read" and e.fd == 3)
        assert echoed == written and written.count(b"\n") == 6
        assert "shutdown" in [e.call for e in trace.events_of(writer.pid)]
    server = next(p for p in trace.processes if p.role == "server")
    assert server.exit is not None and server.exit.code == 0
    handled = [e for e in trace.events_of(server.pid) if e.call == "waitpid"]
    assert len([e for e in handled if e.reaped and not e.reaped.nothing]) == 3, "every handler reaped by SIGCHLD"


def test_the_catalogue_names_the_differences_the_tests_allow() -> None:
    text = CATALOGUE.read_text(encoding="utf-8")
    shared = text.split("## Each scenario", 1)[1].split("\n#### ", 1)[0]
    assert "python X.py" in shared and "`NAME-c`" in shared, "every scenario's difference: the program's name"
    section = text.split("#### echo_storeserv\n", 1)[1].split("\n#### ", 1)[0]
    assert "EINTR" in section and "_exit" in section and "SystemExit" in section


def test_ipctrace_diff_of_a_port_and_its_c_original_says_equivalent(
    cbin: Path, native_lib: Path, tmp_path: Path
) -> None:
    for impl in (Impl.PYTHON, Impl.C):
        _run("tcp_chat", impl, tmp_path, "none")
    done = subprocess.run(
        [sys.executable, "-m", "ipctrace", "diff", str(tmp_path / "tcp_chat"), str(tmp_path / "tcp_chat-c")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    said = (
        "note: both are runs of tcp_chat, one as the Python port and one as the C original: "
        "`python x.py ARGS` and a built `x ARGS` are taken as the same program"
    )
    assert done.stdout.splitlines() == ["equivalent", said]
    same = subprocess.run(
        [sys.executable, "-m", "ipctrace", "diff", str(tmp_path / "tcp_chat"), str(tmp_path / "tcp_chat-c")]
        + ["--ignore", "programs"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (same.returncode, same.stdout.splitlines()[0]) == (0, "equivalent"), same.stdout + same.stderr


# -- against strace, on the same run -------------------------------------------------------------------------


def _strace_by_pid(log: Path) -> dict[int, list[Entry]]:
    """Each process's data calls on pipes, sockets and the standard streams, as `strace -f -yy -xx` saw them."""
    return {pid: entries for pid, entries in processes(log).entries.items() if entries}


def _native_by_pid(logs: Path) -> dict[int, list[Entry]]:
    """The same, from the native recorder's logs: data calls, named by the system call they make."""
    records, problems = read_logs(logs)
    assert not problems.damaged and not problems.skipped, problems.sentences()
    calls: dict[int, list[Entry]] = defaultdict(list)
    for r in sorted(records, key=lambda r: (r["pid"], r["t0"])):
        call = Call(r["call"])
        if call not in DATA_CALLS:
            continue
        syscall = spec(call).syscalls[0]
        fd, kind = r.get("fd", -1), (r.get("ep") or [0, 0, ""])[2]
        key = (
            STREAM_OF_FD.get((fd, syscall)) if 0 <= fd <= 2 else (None if kind in ("file", "dir", "fifo") else syscall)
        )
        if key is None:
            continue
        if r["state"] == "in-progress":
            calls[r["pid"]].append((key, BLOCKED))
        elif "err" in r:
            calls[r["pid"]].append((key, r["err"]))
        else:
            assert r["size"] == len(r["data"]), "payload capped"
            calls[r["pid"]].append((key, r["data"]))
    return {pid: entries for pid, entries in calls.items() if entries}


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_data_call_strace_sees_is_in_the_native_trace_of_the_same_run(
    name: str, cbin: Path, native_lib: Path, strace: str, tmp_path: Path
) -> None:
    scenario = find_scenario(name)
    (tmp_path / "strace").mkdir()
    logs = tmp_path / "logs"
    logs.mkdir()
    recorder = ["-E", f"LD_PRELOAD={native_lib}", "-E", f"IPCTRACE_LOGS={logs}", "-E", "IPCTRACE_PAYLOAD_CAP=65536"]
    # schedule = "child-first" is the explorer's gate's to force in a session; here strace delays the
    # parent's return from fork instead (no gate: its socket calls would be in strace's list), checked below.
    child_first = ["-e", "inject=clone:delay_exit=500000"] if scenario.schedule == "child-first" else []

    def wrap(role: str, argv: list[str]) -> list[str]:
        trace = ["-e", "trace=" + ",".join((*STRACED, "readv", "writev")), *child_first]
        trace += ["-o", str(tmp_path / "strace" / role)]
        return [strace, "-f", "-qq", "-yy", "-xx", "-s", "65536", *recorder, *trace, *argv]

    run_roles(scenario.for_impl(Impl.C), tmp_path / "work", cbin, wrap)
    seen: dict[int, list[Entry]] = {}
    for role in scenario.roles:
        seen.update(_strace_by_pid(tmp_path / "strace" / role.name))
    recorded = _native_by_pid(logs)
    assert sorted(recorded) == sorted(seen), "the same processes made data calls"
    for pid, entries in seen.items():
        assert recorded[pid] == entries, pid
    assert sum(len(e) for e in seen.values()) >= 3
    if scenario.schedule == "child-first":  # the child read back its own message; its parent waits on
        assert sorted(e[-1][1] == BLOCKED for e in recorded.values()) == [False, True]


def test_the_catalogue_no_longer_says_c_runs_go_untraced() -> None:
    text = CATALOGUE.read_text(encoding="utf-8")
    assert not re.search(r"until the native recorder exists|Until ipctrace's native recorder exists", text)
