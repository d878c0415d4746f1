"""The compiled hot path (record/hotc.c) against the generated Python wrappers: the same records, byte for byte.

The recorder's other guarantees are tested with both implementations by test_record.py and
test_record_log.py (the `hot_impl` fixture); here: that the extension is there, that its offsets are
layout.py's, and that one program run with each writes the same records.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import ipctrace.record.layout as L
from ipctrace.compiled import ENV_PURE_PYTHON
from ipctrace.record import hotpath, tracing_environment
from ipctrace.record.hot import _SHARED
from tests.conftest import PROGRAMS
from tests.hot_impl import need_compiled

_MASKED = ("t0", "t1", "dev", "ino")  # times, and the inodes of pipes and sockets made anew in each run
_INODES = re.compile(rb'("ep2?":\[\d+,)\d+')


def test_the_compiled_hot_path_is_built():
    need_compiled()  # in CI: a failure when the install did not build it


def test_the_compiled_wrappers_offsets_are_layout_pys():
    header = Path(hotpath.__file__).with_name("hotc_layout.h")
    assert header.read_text() == hotpath.layout_header(), f"run: python -m ipctrace.record.hotpath --header > {header}"


def test_each_generated_wrapper_has_its_compiled_twin_that_binds_as_a_method():
    need_compiled()
    import socket

    import ipctrace.record.hot_generated as generated
    from ipctrace.record import _hotc  # type: ignore[attr-defined]

    made = {}
    for slot, (name, _kind, _orig, call, what, _parts) in enumerate(hotpath.SPECS):
        orig = getattr(generated, f"_orig_{name}")
        made[name] = _hotc.Wrapper(name, L.CALL_IDS[call], slot, orig, getattr(generated, name), f"no {what}", _SHARED)
        assert made[name].__wrapped__ is orig and made[name].__name__ == orig.__name__
    with pytest.raises(ValueError, match="no compiled hot-path wrapper is named sendto"):
        _hotc.Wrapper("sendto", 30, 0, socket.socket.sendto, generated.socket_send, "x", _SHARED)

    class Traced(socket.socket):
        send = made["socket_send"]
        recv = made["socket_recv"]

    a, b = socket.socketpair()
    with a, b, Traced(fileno=a.detach()) as ta:
        assert ta.send(b"bound") == 5 and b.recv(10) == b"bound"  # no recording here: untraced, the original
        b.send(b"back")
        assert Traced.recv(ta, 10) == b"back"


def _records(folder: Path) -> list[list[bytes]]:
    """Each thread's records in order (by thread id), with what differs between two runs zeroed."""
    logs = sorted(folder.glob("*.ipclog"), key=lambda p: int(p.name.split("-")[1]))
    out = []
    for log in logs:
        data, pos, records = log.read_bytes(), L.HEADER_SIZE, []
        while True:
            _call, state, _kind, length = L.FIRST.unpack_from(data, pos)
            if state == L.NONE and length == 0:
                break
            rec = bytearray(data[pos : pos + length])
            for field in _MASKED:
                at = L.offset_of(field)
                rec[at : at + 8] = bytes(8)
            fd = int.from_bytes(rec[16:20], "little", signed=True)
            if fd != 1:  # the program's report of which wrappers it ran differs by design
                records.append(_INODES.sub(rb"\g<1>0", bytes(rec)))
            pos += length
        out.append(records)
    return out


def test_both_implementations_write_the_same_records_byte_for_byte(tmp_path, monkeypatch):
    need_compiled()
    folders = {}
    for impl in ("compiled", "python"):
        monkeypatch.setenv(ENV_PURE_PYTHON, "1" if impl == "python" else "0")
        folders[impl] = tmp_path / impl
        run = subprocess.run(
            [sys.executable, str(PROGRAMS / "record" / "hot_same.py")],
            env=tracing_environment(str(folders[impl]), payload_cap=16),
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        seen = json.loads(run.stdout)
        wrapper = "Wrapper" if impl == "compiled" else "function"
        assert seen["types"] == [wrapper] * 3 and seen["handler"] == "from the handler"
    compiled, python = _records(folders["compiled"]), _records(folders["python"])
    assert [len(t) for t in compiled] == [len(t) for t in python]
    for thread_c, thread_p in zip(compiled, python, strict=True):
        for i, (c, p) in enumerate(zip(thread_c, thread_p, strict=True)):
            assert c == p, f"record {i}: {L.CALL_OF_ID.get(c[0] | c[1] << 8)} differs"
    calls = {L.CALL_OF_ID.get(r[0] | r[1] << 8) for thread in compiled for r in thread}
    assert {"write", "read", "send", "sendall", "recv", "recv_into"} <= calls, "every hot wrapper ran"
    errs = {int.from_bytes(r[88:92], "little", signed=True) for thread in compiled for r in thread if len(r) >= 96}
    assert {9, 11} <= errs, "EBADF and EAGAIN among the records compared"
    assert any(e < 0 for e in errs), "an exception from a signal handler, recorded as the call's failure"
