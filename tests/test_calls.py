"""The table of calls (ipctrace.calls) and the recorder agree on what is recorded."""

from __future__ import annotations

import socket
import sys

import pytest

from ipctrace import calls
from ipctrace.calls import Call, Trait

_LIST_PATCHES = """
import json, sys, _posixsubprocess, builtins, io, os, select, selectors, socket, time
owners = {id(os): "os", id(socket.socket): "socket.socket", id(socket): "socket", id(time): "time",
          id(builtins): "builtins", id(sys): "sys", id(io): "io", id(select): "select",
          id(_posixsubprocess): "_posixsubprocess", id(selectors.SelectSelector): "selectors.SelectSelector",
          id(selectors.PollSelector): "selectors.PollSelector", id(selectors.EpollSelector): "selectors.EpollSelector"}
from ipctrace.record import patches, start_recording, stop_recording
start_recording(sys.argv[1])
found = sorted(f"{owners[id(owner)]}.{name}" for owner, name, _ in patches.patched())
stop_recording()
print(json.dumps(found))
"""


def _patched_targets(tmp_path) -> set[str]:
    """What the recorder patches in a fresh process whose standard streams are pipes (as under a run)."""
    import json
    import subprocess

    out = subprocess.run(
        [sys.executable, "-c", _LIST_PATCHES, str(tmp_path / "logs")], capture_output=True, input=b"", check=True
    )
    return set(json.loads(out.stdout))


def test_the_recorder_wraps_exactly_what_the_table_says(tmp_path):
    wrapped = _patched_targets(tmp_path)
    assert wrapped == set(calls.python_wrapped())


def test_every_call_has_one_row_and_every_row_is_consistent():
    assert {spec.call for spec in calls.TABLE} == set(Call)
    assert len(calls.TABLE) == len(Call)
    for spec in calls.TABLE:
        assert not (spec.has(Trait.SENDS) and spec.has(Trait.RECEIVES)), spec.call
        assert not (spec.has(Trait.KERNEL) and spec.python), f"{spec.call} is kernel-only but wrapped"
        for name in spec.syscalls:
            assert name in {n for table in calls.SYSCALL_NUMBERS.values() for n in table.values()}, name


@pytest.mark.parametrize("machine", sorted(calls.SYSCALL_NUMBERS))
def test_every_system_call_number_names_a_call(machine):
    for number, name in calls.SYSCALL_NUMBERS[machine].items():
        assert calls.syscall_call(name) is not Call.UNKNOWN, (machine, number, name)


def test_names_a_user_writes_reach_their_system_calls():
    assert calls.syscalls_for(["input"]) >= {"read"}
    assert calls.syscalls_for(["waitpid"]) >= {"wait4", "waitid"}
    assert calls.syscalls_for(["recv"]) >= {"recvfrom"}
    assert calls.parse_call("no-such-call") is Call.UNKNOWN


def test_the_shown_message_flags_have_this_systems_values():
    """The trace keeps a send's or receive's flags as the integer; the names it shows must mean the same bits."""

    from ipctrace.calls import MsgFlag

    for flag in MsgFlag:
        assert flag.value == getattr(socket, flag.name or ""), flag
