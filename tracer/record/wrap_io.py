"""Python file objects on pipes, FIFOs, sockets and terminals, and the program's standard streams.

`open()`, `io.open` and `os.fdopen` build their `FileIO` by its C type, so patching names does not
reach the reads and writes under `BufferedReader`/`TextIOWrapper` (DESIGN.md, second round). A
file object whose descriptor is a pipe, FIFO, socket or terminal (one `stat` at open decides;
regular files are opened by the original `open`, at no further cost) gets `TracedFileIO` as its raw
layer, under the same buffered and text layers the original would have built.
"""

from __future__ import annotations

import io
import os
import stat
import sys

import ipctrace.record.core as core
import ipctrace.record.hot as hot
import ipctrace.record.layout as L
from ipctrace.record.endpoints import as_json, endpoint, forget, is_pipe_like

TYPE_CHECKING = False  # typing is not imported at run time: every traced process would pay for it
if TYPE_CHECKING:
    from typing import Any

_ID = L.CALL_IDS
_WRITE, _READ = _ID["write"], _ID["read"]
_FLAGS = L.F_FD | L.F_ASKED | L.F_RES | L.F_SIZE
_CAPPED = L.F_CAPPED
_FAILED = core.FAILED
_code = L.exception_code
_mv = memoryview
_f_close = io.FileIO.close
_orig_open = io.open


def _log() -> Any:
    rec = core.REC
    return None if rec is None else rec.log()


class TracedFileIO(io.FileIO):
    """The raw layer of a file object on an IPC endpoint: every read and write that reaches the descriptor."""

    write = hot.file_write
    readinto = hot.file_readinto
    read = hot.file_read

    def readall(self):
        """Read to the end, one recorded read at a time (the C readall would loop over reads unseen)."""
        chunks: list[bytes] = []
        chunk = io.DEFAULT_BUFFER_SIZE
        while True:
            try:
                data = self.read(chunk)
            except BlockingIOError:
                data = None
            if data is None:
                if chunks:
                    break
                return None
            if not data:
                break
            chunks.append(data)
            chunk = min(chunk * 2, 1 << 20)
        return b"".join(chunks)

    def close(self):
        if self.closed or not self.closefd:
            return _f_close(self)
        fd = self.fileno()
        lg = core.log()
        pos, alen = core.begin(lg, _ID["close"], fd)
        try:
            result = _f_close(self)
        except BaseException as exc:
            forget(fd)
            core.end(lg, pos, alen, 0, exc=exc, what="a file object's close")
            raise
        forget(fd)
        core.end(lg, pos, alen, 0, what="a file object's close")
        return result


_MODE_CHARS = frozenset("rwaxbt+")


def _simple_mode(mode: Any) -> bool:
    if not isinstance(mode, str) or not set(mode) <= _MODE_CHARS or len(set(mode)) != len(mode):
        return False
    return sum(c in mode for c in "rwax") == 1 and not ("b" in mode and "t" in mode)


def _wants_tracing(file: Any) -> bool:
    """One stat: is `file` (a descriptor or a path) a pipe, FIFO, socket or terminal?"""
    if isinstance(file, int):
        return not isinstance(file, bool) and is_pipe_like(file)
    try:
        mode = os.stat(file).st_mode
    except (OSError, TypeError, ValueError):
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or stat.S_ISCHR(mode)


def open_(file, mode="r", buffering=-1, encoding=None, errors=None, newline=None, closefd=True, opener=None):
    """`open` / `io.open`: the original for regular files; a traced raw layer for IPC endpoints."""
    if not _simple_mode(mode) or not isinstance(buffering, int) or not _wants_tracing(file):
        return _orig_open(file, mode, buffering, encoding, errors, newline, closefd, opener)
    return build(file, mode, buffering, encoding, errors, newline, closefd, opener)


def build(file, mode, buffering, encoding, errors, newline, closefd, opener):
    """The layers `io.open` builds, over a TracedFileIO (the same rules as the C `io.open`)."""
    binary = "b" in mode
    if binary and (encoding is not None or errors is not None or newline is not None):
        return _orig_open(file, mode, buffering, encoding, errors, newline, closefd, opener)
    rawmode = "".join(c for c in mode if c in "rwax+")
    fifo_open = not isinstance(file, int)
    lg = core.log() if fifo_open else None
    pos, alen = (
        core.begin(lg, _ID["open"], -1, {"args": {"path": os.fsdecode(file), "mode": mode}}, 160, L.F_RES)
        if fifo_open
        else (-1, 0)
    )
    try:
        raw = TracedFileIO(file, rawmode, closefd, opener=opener)
    except BaseException as exc:
        core.end(lg, pos, alen, 160, exc=exc, what="open")
        raise
    if fifo_open:
        fd = raw.fileno()
        forget(fd)
        core.end(lg, pos, alen, 160, res=fd, post={"fd": fd, "ep": as_json(endpoint(fd))}, what="open")
    result: Any = raw
    try:
        line_buffering = False
        if buffering == 1 or (buffering < 0 and raw.isatty()):
            buffering = -1
            line_buffering = True
        if buffering < 0:
            buffering = getattr(raw, "_blksize", io.DEFAULT_BUFFER_SIZE)
            if buffering <= 1:
                buffering = io.DEFAULT_BUFFER_SIZE
        if buffering == 0:
            if binary:
                return result
            raise ValueError("can't have unbuffered text I/O")
        if "+" in mode:
            buffer: Any = io.BufferedRandom(raw, buffering)
        elif any(c in mode for c in "wax"):
            buffer = io.BufferedWriter(raw, buffering)
        else:
            buffer = io.BufferedReader(raw, buffering)
        result = buffer
        if binary:
            return result
        text = io.TextIOWrapper(buffer, encoding, errors, newline, line_buffering)
        result = text
        text.mode = mode  # type: ignore[misc]
        return result
    except BaseException:
        result.close()
        raise


# -- the standard streams -------------------------------------------------------------------------


class TracedStdin(TracedFileIO):
    """fd 0's raw layer: before each read that would wait, the marker that the program now waits for input.

    The session gives a scripted program its next line when it sees the marker (it is dropped
    from the final trace). Each raw read of an empty fd 0 is one wait: the buffered layer above reads
    what is there, a line or more. A read of bytes already there (a line given when the program's
    `select` included fd 0) asks for nothing, so a select then a readline is one line, not two.
    """

    def readinto(self, b, /):
        core.stdin_wait()
        return TracedFileIO.readinto(self, b)

    def read(self, size=-1, /):
        if size is not None and not (isinstance(size, int) and size < 0):
            core.stdin_wait()
        return TracedFileIO.read(self, size)


_STD = (("stdin", 0, "r", "<stdin>"), ("stdout", 1, "w", "<stdout>"), ("stderr", 2, "w", "<stderr>"))


def standard_streams() -> dict[str, Any]:
    """sys.stdin/stdout/stderr rebuilt as Python builds them (pylifecycle.c `create_stdio`), over a traced raw layer.

    Same types (TextIOWrapper over BufferedReader/BufferedWriter, or over the raw file with `-u`), same
    encoding, errors, newline, line buffering, write-through and buffer size, so what the program
    prints reaches fd 1 exactly when it would untraced: a print buffered until exit is a write at exit,
    a buffer copied by fork is written by both processes. Streams that are not the ones Python made
    (replaced, closed, on a regular file) are left as they are.
    """
    made: dict[str, Any] = {}
    for name, fd, mode, shown in _STD:
        stream = getattr(sys, name)
        if type(stream) is not io.TextIOWrapper or getattr(sys, "__" + name + "__") is not stream:
            continue
        try:
            if stream.closed or stream.fileno() != fd or not is_pipe_like(fd):
                continue
            stream.flush()
            cls = TracedStdin if fd == 0 else TracedFileIO
            raw = cls(fd, mode + "b", closefd=False)
            raw.name = shown
            buffer: Any = raw
            if type(stream.buffer) is not io.FileIO:  # -u leaves stdout/stderr without a buffer
                size = getattr(raw, "_blksize", io.DEFAULT_BUFFER_SIZE)
                size = size if size > 1 else io.DEFAULT_BUFFER_SIZE
                buffer = io.BufferedReader(raw, size) if fd == 0 else io.BufferedWriter(raw, size)
            new = io.TextIOWrapper(
                buffer,
                encoding=stream.encoding,
                errors=stream.errors,
                newline="\n",
                line_buffering=stream.line_buffering,
                write_through=stream.write_through,
            )
            new.mode = mode  # type: ignore[misc]
        except (OSError, ValueError, AttributeError):
            continue
        made[name] = new
    return made


def flush_outputs() -> None:
    """What the program printed and Python would flush at exit, flushed now (before the exit record)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError, AttributeError):
            pass
