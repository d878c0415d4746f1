"""The race explorer on whole scenarios: a server and its clients, on a port, with scripted input.

Every role runs under one controller, started in the scenario's order; the counts asserted are the
ones the scenarios declare (`outcomes = N`), found by exhaustive exploration.
"""

from __future__ import annotations

import json
import shlex
import socket
import sys

import pytest

from ipctrace.calls import Call
from ipctrace.cli import main
from ipctrace.compare import canonicalize
from ipctrace.explore.exploration import Budget
from ipctrace.explore.scenario import draw_outcomes, explore_scenario, representative
from ipctrace.explore.steps import Channel, Check, Step
from ipctrace.scenarios import PROGRAMS_DIR, builtin_scenarios, find_scenario
from ipctrace.session import RunOptions, run_scenario

NETWORK = sorted(
    name
    for name, sc in builtin_scenarios().items()
    if len(sc.roles) > 1 and not any(r.service for r in sc.roles)  # echo_storeserv: far beyond exhaustive
)


def test_every_scenario_of_several_roles_but_the_echo_server_declares_its_outcomes():
    assert "tcp_chat" in NETWORK and "udp_file" in NETWORK and "unix_stream" in NETWORK
    assert all(find_scenario(name).outcomes is not None for name in NETWORK)


@pytest.mark.parametrize("name", NETWORK)
def test_network_examples_have_the_outcomes_their_scenarios_say(name, tmp_path):
    scenario = find_scenario(name)
    result, summary_path = explore_scenario(scenario, output_root=tmp_path)
    assert result.exhaustive
    assert len(result.outcomes) == scenario.outcomes
    roles = {r.name for r in scenario.roles}
    assert {p.path.split(".")[0] for p in result.outcomes[0].outcome.processes} == roles  # every role ran
    summary = json.loads(summary_path.read_text())
    assert summary["exhaustive"] is True and summary["outcomes_count"] == scenario.outcomes
    assert (summary.get("port") is not None) == scenario.uses_port


def test_tcp_chat_is_one_conversation_whatever_the_schedule(tmp_path):
    """Both sides read their scripted lines as they ask, and each side prints what the other sent."""
    scenario = find_scenario("tcp_chat")
    first, _ = explore_scenario(scenario, output_root=tmp_path)
    again, _ = explore_scenario(scenario, output_root=tmp_path)
    assert len(first.outcomes) == 1 and first.exhaustive
    assert (first.schedules, first.pruned) == (again.schedules, again.pruned)
    assert [g.outcome for g in first.outcomes] == [g.outcome for g in again.outcomes]
    ends = {p.path: p for p in first.outcomes[0].outcome.processes}
    assert {p.ending() for p in ends.values()} == {"exited"}
    server, client = scenario.roles
    assert server.stdin and client.stdin
    for line in client.stdin:
        assert f"Client: {line}" in ends["server"].printed
    for line in server.stdin:
        assert f"Server: {line}" in ends["client"].printed
    sent = b"".join(r.data for r in ends["server"].received if r.call == "read" and r.fd != 0)  # not its stdin
    assert sent == "".join(client.stdin).encode()


def test_the_port_is_a_free_one_of_the_exploration(tmp_path):
    """The course's port 8080 taken by another program changes nothing: the exploration picks its own."""
    with socket.socket() as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            taken.bind(("0.0.0.0", 8080))
            taken.listen(1)
        except OSError:
            pass  # something else holds it already: the same situation
        result, path = explore_scenario(find_scenario("tcp_hello"), output_root=tmp_path)
    assert json.loads(path.read_text())["port"] != 8080
    assert len(result.outcomes) == 1
    assert {p.ending() for p in result.outcomes[0].outcome.processes} == {"exited"}


def test_udp_file_ends_with_the_server_blocked_in_recvfrom(tmp_path):
    result, _ = explore_scenario(find_scenario("udp_file"), output_root=tmp_path)
    (group,) = result.outcomes
    ends = {p.path: p.ending() for p in group.outcome.processes}
    assert ends == {"client": "exited", "server": "blocked forever in recvfrom"}
    server = next(p for p in group.outcome.processes if p.path == "server")
    got = b"".join(r.data for r in server.received if r.call == "recvfrom")
    assert len(got) == 5000  # the generated file, every datagram received


def test_a_replayed_tcp_chat_schedule_gives_the_same_trace_and_is_drawn(tmp_path):
    scenario = find_scenario("tcp_chat")
    result, _ = explore_scenario(scenario, output_root=tmp_path)
    schedule = representative(scenario, 1, tmp_path)
    forms = []
    for n in range(3):
        options = RunOptions(outdir=tmp_path / f"replay-{n}", port=0, capture="none", schedule=schedule)
        run = run_scenario(scenario, options)
        assert run.ok, run.message
        forms.append(canonicalize(run.trace))
    assert all(form == forms[0] for form in forms)
    folders = draw_outcomes(scenario, result, output_root=tmp_path)
    svg = (folders[1] / "sequence.svg").read_text(encoding="utf-8")
    assert "Outcome 1 of 1" in svg and "accept" in svg


def test_a_waiting_datagram_is_taken_whole_whatever_is_sent_after_it():
    """A datagram read with data waiting commutes with every send; a stream read never does."""
    send = Step(Call.SENDTO, 3, frozenset({Channel("socket")}), Check.OUT)
    dgram = Step(
        Call.RECVFROM, 4, frozenset({Channel("socket")}), Check.IN, with_data=frozenset({Channel("datagrams", 9)})
    )
    stream = Step(Call.RECV, 4, frozenset({Channel("socket")}), Check.IN)
    assert dgram.depends_on(send)  # nothing waiting: whether it gets this datagram depends on the order
    assert not dgram.seeing_data().depends_on(send)
    assert dgram.seeing_data().depends_on(dgram.seeing_data())  # two readers of one socket still race
    assert stream.seeing_data().depends_on(send)  # a stream read takes whatever is there: more, after a send


def test_the_replay_hint_of_a_command_can_be_typed_as_it_is_printed(tmp_path, capsys, monkeypatch):
    """`explore -- CMD` says how to replay each outcome; the line printed, run as it stands, replays it."""
    monkeypatch.chdir(tmp_path)
    program = str(PROGRAMS_DIR / "pipe2_nosleep.py")
    assert main(["explore", "--no-render", "--output", str(tmp_path / "out"), "--", sys.executable, program]) == 0
    hints = {}
    for line in capsys.readouterr().out.splitlines():
        if line.startswith("outcome ") and "replay: " in line:
            hints[int(line.split()[1].rstrip(":"))] = shlex.split(line.split("replay: ", 1)[1])
    assert sorted(hints) == [1, 2]
    assert "--timeout" in hints[2] and "--timeout" not in hints[1]  # outcome 2 blocks forever: no minute's wait
    words = hints[1]
    assert words[:2] == ["ipctrace", "run"] and words[-2:] == [sys.executable, program]
    cut = words.index("--")
    assert main([*words[1:cut], "--no-render", "--quiet", *words[cut:]]) == 0
    printed = (tmp_path / "out" / "pipe2_nosleep" / "main.out").read_text()
    assert "Parent proc output: Who are you?" in printed  # outcome 1: the parent read the child's message


def test_a_service_is_stopped_as_a_session_stops_it_once_its_clients_are_done(tmp_path):
    """echo_storeserv accepts forever: once both clients ended it gets SIGTERM and ends, its handlers before it.

    Its schedules are far too many to exhaust; a few of them show how every one of them ends.
    """
    scenario = find_scenario("echo_storeserv")
    result, _ = explore_scenario(scenario, Budget(max_runs=3, random_runs=0), output_root=tmp_path)
    assert not result.exhaustive and result.schedules == 3
    for group in result.outcomes:
        ends = {p.path: p for p in group.outcome.processes}
        assert {p.ending() for p in ends.values()} == {"exited"}, group.outcome.summary()
        assert ends["server"].printed.count("new client connected...") == 2
        assert ends["server"].printed.count("removed proc id: <server.") == 3  # the storing child, two handlers
        for client in ("client1", "client2"):
            assert ends[client].printed.count("Message from server: ") == 6
