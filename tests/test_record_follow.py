"""The supervisor's follower reads the logs while their writers write: a record half-written is not damage."""

from __future__ import annotations

import os

import pytest

from ipctrace.record import layout
from ipctrace.record.log import ThreadLog
from ipctrace.record.reader import LogFollower, read_logs

WRITE = layout.CALL_IDS["write"]
FLAGS = layout.F_FD | layout.F_SIZE | layout.F_RES


def _write(log: ThreadLog, fd: int) -> int:
    pos = log.hot(WRITE, fd, FLAGS, None, 1, b"x", 1, 0)
    log.sent(pos, 1)
    return pos


@pytest.mark.parametrize("kept", [0, 64], ids=["mapped-each-pass", "kept-mapped"])
def test_a_head_seen_half_written_while_the_run_goes_on_is_read_once_whole(tmp_path, kept):
    log = ThreadLog(str(tmp_path), os.getpid(), os.getppid(), 7, 4096)
    follower = LogFollower(tmp_path, live=True, most_mapped=kept)
    _write(log, 3)
    second = _write(log, 4)
    _write(log, 5)
    whole = bytes(log.buf[second : second + layout.HEAD])
    seen = []
    # The writer stopped after `cut` bytes of the head: its word (call, state, kind, length), then t0, in order.
    for cut in range(1, layout.BEGIN_AT + 8):
        log.buf[second : second + layout.HEAD] = whole[:cut] + bytes(layout.HEAD - cut)
        done, _ = follower.poll()
        seen += [r["fd"] for r in done]
        assert seen == [3], f"after {cut} bytes: nothing past the record being written, nothing skipped"
        assert not follower.problems.damaged and not follower.problems.torn, f"after {cut} bytes: no damage"
    log.buf[second : second + layout.HEAD] = whole
    done, _ = follower.poll()
    seen += [r["fd"] for r in done]
    assert seen == [3, 4, 5], "once whole, the record and those after it are read"
    _write(log, 6)
    assert [r["fd"] for r in follower.poll()[0]] == [6], "a record written after the last pass is read at the next"
    follower.close()


def test_a_head_left_half_written_is_still_damage_once_the_writers_are_gone(tmp_path):
    log = ThreadLog(str(tmp_path), os.getpid(), os.getppid(), 7, 4096)
    _write(log, 3)
    second = _write(log, 4)
    log.buf[second + 4 : second + layout.HEAD] = bytes(layout.HEAD - 4)  # its length and t0 never came
    records, problems = read_logs(tmp_path)
    assert [r["fd"] for r in records] == [3]
    assert problems.damaged == [(log.path, second, "length 0")]


def test_a_log_seen_while_its_header_is_written_is_read_once_whole_with_its_process(tmp_path):
    """The writer stores every header field, then the magic last: each moment between is 'not yet', never damage."""
    log = ThreadLog(str(tmp_path), os.getpid(), os.getppid(), 7, 4096)
    _write(log, 3)
    header = bytes(log.buf[: layout.HEADER_SIZE])
    assert header[:8] == layout.MAGIC
    follower = LogFollower(tmp_path, live=True, most_mapped=64)
    # Every field but the magic, then the magic as a store cut short after `cut` of its bytes.
    for cut in range(len(layout.MAGIC.rstrip(b"\0"))):  # its last byte is a zero
        log.buf[: layout.HEADER_SIZE] = header[:cut] + bytes(8 - cut) + header[8:]
        done, busy = follower.poll()
        assert done == [] and busy == [], f"magic {cut} of 8 bytes in: the log is not read yet"
        assert not follower.problems.damaged, f"magic {cut} of 8 bytes in: a log being made is no damage"
    log.buf[: layout.HEADER_SIZE] = header
    done, _ = follower.poll()
    assert [(r["pid"], r["tid"], r["fd"]) for r in done] == [(os.getpid(), 7, 3)]
    follower.close()


def test_the_python_recorders_file_header_names_its_format_writer_process_and_thread(tmp_path):
    """The Python writer's header, field for field: magic, the format's sizes, who wrote it, its process and thread."""
    log = ThreadLog(str(tmp_path), 4321, 1234, 99, 512)
    fields = layout.FILE_HEADER.unpack_from(log.buf, 0)
    magic, version, hsize, head, writer, pid, ppid, tid, n, created, cap, flags = fields
    assert (magic, version, hsize, head, writer) == (
        layout.MAGIC,
        layout.VERSION,
        layout.HEADER_SIZE,
        layout.HEAD,
        layout.WRITER_PYTHON,
    )
    assert (pid, ppid, tid, n, cap, flags) == (4321, 1234, 99, 0, 512, 0)
    assert created > 1_600_000_000 * 10**9
