"""The trace against independent witnesses: tcpdump for packets, strace for system calls.

Also: every byte received in every scenario is explained by a send, concurrent runs keep
their own packets apart, and a 20,000-datagram transfer is captured without loss.
"""

from __future__ import annotations

import re
import sys
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from ipctrace.link import link
from ipctrace.scenarios import adhoc_scenario, builtin_scenarios, find_scenario
from ipctrace.session import RunOptions, run_scenario
from tests.conftest import PROGRAMS, need_tool, require_capture

NETWORK = ["tcp_hello", "udp_hello", "tcp_chat", "udp_file_done"]


def _require(tool: str) -> str:
    return need_tool(tool)


@pytest.mark.parametrize("name", sorted(builtin_scenarios()))
def test_every_received_byte_is_explained(name, tmp_path):
    require_capture()
    result = run_scenario(find_scenario(name), RunOptions(outdir=tmp_path, capture="scapy", port=0))
    assert result.ok, result.message
    linked = link(result.trace)
    assert linked.problems == ()
    assert linked.unexplained_bytes == 0
    received = sum(e.size or 0 for e in result.trace.events if e.moves_data_in and result.trace.stream_of(e) is None)
    linked_bytes = sum(f.length for f in linked.flows if f.recv is not None and f.send is not None)
    assert linked_bytes == received


@pytest.mark.parametrize("name", NETWORK)
def test_kept_packets_match_tcpdump(name, tmp_path):
    """tcpdump, filtered on the run's port and the client's ports, sees exactly the packets ipctrace kept."""
    require_capture()
    _require("tcpdump")
    from ipctrace.capture import parse_packets, start_capture

    witness = start_capture("tcpdump", "lo")
    try:
        result = run_scenario(find_scenario(name), RunOptions(outdir=tmp_path, capture="scapy", port=0))
    finally:
        raw = witness.stop()
    assert result.ok, result.message
    kept = result.trace.packets
    ports = {p.src.port for p in kept} | {p.dst.port for p in kept}
    assert result.port in ports
    seen = [
        p
        for p in parse_packets(raw)
        if p.src.port in ports and p.dst.port in ports and result.port in (p.src.port, p.dst.port)
    ]
    assert [(p.proto, p.flags, p.payload) for p in seen] == [(p.proto, p.flags, p.payload) for p in kept]
    assert len(kept) > 0


STRACE_CALLS = "read,write,sendto,recvfrom,sendmsg,recvmsg"
_CALL = re.compile(r"^(\d+)\s+(\w+)\((\d+)<([^:>]+)")
_RESUMED = re.compile(r"^(\d+)\s+<\.\.\. (\w+) resumed>")
_RESULT = re.compile(r"\)\s+=\s+(-?\d+)")


def _strace_data_calls(path: Path) -> dict[int, list[tuple[str, int]]]:
    """Per pid, the data-moving calls on pipes and sockets that strace saw, as (call, bytes).

    With -f strace splits a call that blocks into `<unfinished ...>` and `<... read resumed>` lines.
    """
    calls: dict[int, list[tuple[str, int]]] = {}
    pending: dict[int, tuple[str, int, str]] = {}
    for line in path.read_text().splitlines():
        resumed = _RESUMED.match(line)
        if resumed:
            pid = int(resumed.group(1))
            if pid not in pending:
                continue
            call, fd, kind = pending.pop(pid)
        else:
            m = _CALL.match(line)
            if not m:
                continue
            pid, call, fd, kind = int(m.group(1)), m.group(2), int(m.group(3)), m.group(4)
            if line.endswith("<unfinished ...>"):
                pending[pid] = (call, fd, kind)
                continue
        result = _RESULT.search(line)
        # Pipes and sockets only; fds 0-2 are the terminal ipctrace gives the program, 900+ the recorder's own.
        if (
            result
            and 2 < fd < 900
            and kind in ("pipe", "socket", "TCP", "UDP", "UNIX", "UNIX-STREAM", "UDPv6", "TCPv6")
        ):
            calls.setdefault(pid, []).append((call, int(result.group(1))))
    return calls


_SYSCALL_OF = {
    "read": "read",
    "write": "write",
    "send": "sendto",
    "sendto": "sendto",
    "recv": "recvfrom",
    "recvfrom": "recvfrom",
    "sendall": "sendto",
    "recvmsg": "recvmsg",
    "sendmsg": "sendmsg",
}


@pytest.mark.parametrize("name", ["pipe3", "socketpair_fork", "tcp_hello", "udp_hello", "unix_dgram"])
def test_recorded_data_calls_match_strace(name, tmp_path):
    strace = _require("strace")
    scenario = find_scenario(name)
    roles = tuple(
        replace(
            r,
            command=(
                strace,
                "-f",
                "-qq",
                "-yy",
                "-e",
                f"trace={STRACE_CALLS}",
                "-o",
                f"{{outdir}}/strace.{r.name}",
                *r.command,
            ),
        )
        for r in scenario.roles
    )
    result = run_scenario(
        replace(scenario, roles=roles, timeout=60), RunOptions(outdir=tmp_path, capture="none", port=0)
    )
    assert result.ok, result.message
    witnessed: dict[int, list[tuple[str, int]]] = {}
    for role in scenario.roles:
        witnessed.update(_strace_data_calls(tmp_path / f"strace.{role.name}"))
    recorded: dict[int, list[tuple[str, int]]] = {}
    # strace itself runs under the native recorder too (its netlink queries for -yy): not the program's calls.
    tracers = {p.pid for p in result.trace.processes if p.pid not in witnessed and p.argv[:1] == (strace,)}
    for e in result.trace.events:
        if (
            e.pid not in tracers
            and e.call in _SYSCALL_OF
            and e.endpoint is not None
            and e.endpoint.kind != "file"
            and e.error is None
            and e.fd is not None
            and e.fd > 2
        ):
            recorded.setdefault(e.pid, []).append((_SYSCALL_OF[e.call], e.result if e.result is not None else e.size))
    assert sum(map(len, recorded.values())) >= 2, "the scenario moves data: there is something to compare"
    for pid, calls in recorded.items():
        assert calls == witnessed.get(pid), f"pid {pid}"


def test_concurrent_runs_keep_their_own_packets(tmp_path):
    require_capture()
    results = {}

    def run(name: str) -> None:
        results[name] = run_scenario(find_scenario(name), RunOptions(outdir=tmp_path / name, capture="scapy", port=0))

    threads = [threading.Thread(target=run, args=(name,)) for name in ("tcp_hello", "udp_hello")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    tcp, udp = results["tcp_hello"], results["udp_hello"]
    assert tcp.ok and udp.ok
    assert tcp.port != udp.port
    assert tcp.trace.packets and all(
        p.proto == "tcp" and tcp.port in (p.src.port, p.dst.port) for p in tcp.trace.packets
    )
    assert [p.payload for p in udp.trace.packets] == [b"Hello from client", b"Hello from server"]


def test_twenty_thousand_datagrams_are_captured_without_loss(tmp_path, record_property, capsys):
    require_capture()
    count, rate = 20_000, 20_000.0
    scenario = adhoc_scenario([sys.executable, str(PROGRAMS / "udp_flood.py"), str(count), str(rate)], timeout=120)
    result = run_scenario(scenario, RunOptions(outdir=tmp_path, capture="scapy", port=0))
    assert result.ok, result.message
    capture = result.trace.header.capture
    sent = [e for e in result.trace.events if e.call == "sendto" and e.data != b"END"]
    wire = [p for p in result.trace.packets if p.payload != b"END"]
    achieved = re.search(r"(\d+)/s", (tmp_path / "main.out").read_text())
    assert achieved is not None
    statement = (
        f"{len(sent)} datagrams sent at {achieved.group(1)}/s (traced); {len(wire)} captured; "
        f"kernel drops {capture.kernel_drops}"
    )
    record_property("udp_capture", statement)
    with capsys.disabled():
        print(f"\n[capture] {statement}")
    assert len(sent) == count
    assert capture.kernel_drops == 0
    assert len(wire) == count, statement
