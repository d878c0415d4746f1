"""Python file objects on pipes, FIFOs, sockets and terminals, and the program's standard streams.

`open()`, `io.open` and `os.fdopen` build their `FileIO` by its C type, so patching names does not
reach the reads and writes under `BufferedReader`/`TextIOWrapper` (DESIGN.md, second round). A
file object whose descriptor is a pipe, FIFO, socket or terminal (one `stat` at open decides;
regular files are opened by the original `open`, at no further cost) gets `TracedFileIO` as its raw
layer, under the same buffered and text layers the original would have built.
"""

from __future__ import annotations

import builtins
import io
import os
import stat
import sys
from collections.abc import Callable
from typing import Any

from ipctrace.record import core
from ipctrace.record import hot_generated as hot
from ipctrace.record import layout as L
from ipctrace.record.endpoints import endpoint, forget, is_pipe_like

_ID = L.CALL_IDS
_WRITE, _READ = _ID["write"], _ID["read"]
_FLAGS = L.F_FD | L.F_ASKED | L.F_RES | L.F_SIZE
_CAPPED = L.F_CAPPED
_FAILED = core.FAILED
_code = L.exception_code
_mv = memoryview
_FileIO = io.FileIO
_f_write = io.FileIO.write
_f_read = io.FileIO.read
_f_readinto = io.FileIO.readinto
_f_close = io.FileIO.close
_orig_open = io.open
_orig_input = builtins.input


def _log() -> Any:
    rec = core.REC
    return None if rec is None else rec.log()


class TracedFileIO(io.FileIO):
    """The raw layer of a file object on an IPC endpoint: every read and write that reaches the descriptor."""

    write = hot.file_write
    readinto = hot.file_readinto
    read = hot.file_read

    def readall(self):  # type: ignore[no-untyped-def]
        """Read to the end, one recorded read at a time (the C readall would loop over reads unseen)."""
        chunks = []
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

    def close(self):  # type: ignore[no-untyped-def]
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


def open_(file, mode="r", buffering=-1, encoding=None, errors=None, newline=None, closefd=True, opener=None):  # type: ignore[no-untyped-def]
    """`open` / `io.open`: the original for regular files; a traced raw layer for IPC endpoints."""
    if not _simple_mode(mode) or not isinstance(buffering, int) or not _wants_tracing(file):
        return _orig_open(file, mode, buffering, encoding, errors, newline, closefd, opener)
    return build(file, mode, buffering, encoding, errors, newline, closefd, opener)


def build(file, mode, buffering, encoding, errors, newline, closefd, opener):  # type: ignore[no-untyped-def]
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
        from ipctrace.record.endpoints import as_json

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


# -- the standard streams (printed lines, read lines) ----------------------------------------------


def _record_line(call: str, fd: int, data: bytes) -> None:
    lg = core.log()
    if lg is None:
        return
    try:
        site = lg.site(3)
        n = len(data)
        dlen = min(n, lg.cap)
        pos = lg.begin(_ID[call], fd, L.F_FD | L.F_SIZE | (_CAPPED if n > lg.cap else 0), site, None, n, data, dlen)
        lg.end(pos, n, n, 0, None, dlen)
    except Exception:
        core.problem(lg, "could not record a line of the program's output")


class TracedOutput(io.TextIOWrapper):
    """The program's stdout/stderr, recording each printed line when it is written."""

    def _ipctrace_init(self, call: str, fd: int) -> None:
        self._call, self._fd, self._pending = call, fd, ""

    def write(self, text):  # type: ignore[no-untyped-def]
        n = super().write(text)
        try:
            self._pending += text
            if "\n" in text:
                *lines, self._pending = self._pending.split("\n")
                for line in lines:
                    _record_line(self._call, self._fd, (line + "\n").encode("utf-8", "backslashreplace"))
        except Exception:
            pass
        return n

    def flush(self):  # type: ignore[no-untyped-def]
        super().flush()
        if getattr(self, "_pending", ""):
            _record_line(self._call, self._fd, self._pending.encode("utf-8", "backslashreplace"))
            self._pending = ""


class TracedInput(io.TextIOWrapper):
    """The program's stdin, recording each line or block it reads."""

    def readline(self, size=-1):  # type: ignore[no-untyped-def]
        flush_outputs()
        return _read_stdin(lambda: super(TracedInput, self).readline(size), "line")

    def read(self, size=-1):  # type: ignore[no-untyped-def]
        flush_outputs()
        return _read_stdin(lambda: super(TracedInput, self).read(size), "all" if size is None or size < 0 else "line")

    def __next__(self):  # type: ignore[no-untyped-def]
        line = self.readline()
        if not line:
            raise StopIteration
        return line


_in_input = [False]


def _read_stdin(read: Callable[[], str], want: str) -> str:
    if _in_input[0]:
        return read()
    core.point(_ID["stdin-wait"], {"fd": 0, "args": {"want": want}}, depth=3)
    lg = core.log()
    pos, alen = core.begin(lg, _ID["stdin"], 0, None, 64, L.F_SIZE, depth=3)
    try:
        text = read()
    except BaseException as exc:
        core.end(lg, pos, alen, 64, exc=exc, what="a read of stdin")
        raise
    _end_stdin(lg, pos, alen, text)
    return text


def _end_stdin(lg: Any, pos: int, alen: int, text: str) -> None:
    if lg is None or pos < 0:
        return
    try:
        _store_payload(lg, pos, text.encode("utf-8", "backslashreplace"))
    except Exception:
        core.problem(lg, "could not record a read of stdin")


def _store_payload(lg: Any, pos: int, data: bytes) -> None:
    """A stdin read's bytes go in a record of their own size (known only after the read): the record in
    progress is given up (padding) and a complete one with the same start takes its place."""
    dlen = min(len(data), lg.cap)
    lg.buf[pos + L.STATE_AT] = L.PADDING
    npos = lg.begin(
        _ID["stdin"],
        0,
        L.F_FD | L.F_SIZE,
        int.from_bytes(lg.buf[pos + 24 : pos + 32], "little"),
        None,
        len(data),
        data,
        dlen,
    )
    t0 = int.from_bytes(lg.buf[pos + 8 : pos + 16], "little")
    if npos >= 0:
        lg.buf[npos + 8 : npos + 16] = t0.to_bytes(8, "little")
        lg.end(npos, len(data), len(data), 0, None, dlen)


def input_(*prompt):  # type: ignore[no-untyped-def]
    if prompt:
        sys.stdout.write(str(prompt[0]))
    flush_outputs()
    core.point(_ID["stdin-wait"], {"fd": 0, "args": {"want": "line"}})
    lg = core.log()
    pos, alen = core.begin(lg, _ID["stdin"], 0, None, 64, L.F_SIZE)
    _in_input[0] = True
    try:
        line = _orig_input()
    except BaseException as exc:
        _in_input[0] = False
        if isinstance(exc, EOFError) and lg is not None and pos >= 0:
            core.end(lg, pos, alen, 64, exc=exc, post={"size": 0, "data": ""}, what="input()")
        else:
            core.end(lg, pos, alen, 64, exc=exc, what="input()")
        raise
    _in_input[0] = False
    _end_stdin(lg, pos, alen, line + "\n")
    return line


def flush_outputs() -> None:
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, TracedOutput):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass


def rewrap(stream: Any, cls: type, call: str | None = None) -> Any:
    """The same underlying buffer behind a recording TextIOWrapper subclass, or the stream as it was."""
    if not isinstance(stream, io.TextIOWrapper) or type(stream) is not io.TextIOWrapper:
        return stream
    try:
        new = cls(
            stream.buffer,
            encoding=stream.encoding,
            errors=stream.errors,
            line_buffering=stream.line_buffering,
            write_through=stream.write_through,
        )
    except (AttributeError, ValueError):
        return stream
    if call is not None:
        new._ipctrace_init(call, stream.fileno())
    return new
