"""The recorder's output: one pre-formatted JSON line per event, one `os.write` each.

Why this shape (DESIGN.md, "cost of recording", "locks and fork"): a single
`write()` to an `O_APPEND` file is atomic, needs no lock, survives `fork()` and
is on disk the moment the call returns, so a process killed with SIGKILL or
ending in `os._exit` loses nothing. `json.dumps` and `getpid()` cost more than
the call being traced, so the hot path formats strings by hand and the pid is
cached and refreshed after `fork()`.
"""

from __future__ import annotations

import binascii
import fcntl
import json
import os
import stat
import threading
import time
from _thread import _local as _thread_local

# Originals, captured before any hook is installed, so the recorder never records itself.
_os_write = os.write
_os_fstat = os.fstat
_time_ns = time.time_ns
_native_id = threading.get_native_id
_b64 = binascii.b2a_base64

#: Environment variables that carry the recorder into every Python process of a run.
ENV_EVENTS = "IPCTRACE_EVENTS"
ENV_PAYLOAD_CAP = "IPCTRACE_PAYLOAD_CAP"
ENV_SCHEDULE = "IPCTRACE_SCHEDULE"

DEFAULT_PAYLOAD_CAP = 4096
_HIGH_FD = 900  # keep the recorder's fd out of the range a textbook program sees


class Writer:
    """Appends events for the current process; refreshed in a forked child."""

    def __init__(self, path: str, payload_cap: int = DEFAULT_PAYLOAD_CAP) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, _HIGH_FD)
            os.close(fd)
            fd = high
        except OSError:
            pass
        self.fd = fd
        self.payload_cap = payload_cap
        self.enabled = True
        self._kinds: dict[tuple[int, int], str] = {}
        self.refresh_pid()

    def refresh_pid(self) -> None:
        self.pid = os.getpid()
        self.ppid = os.getppid()
        self.head = '{"pid":%d,"ppid":%d,"tid":' % (self.pid, self.ppid)
        self._tls = _thread_local()  # this thread's OS thread id, once asked; a fresh one after fork
        self._eps: dict[tuple[int, int], str] = {}

    def tid(self) -> int:
        try:
            return self._tls.tid
        except AttributeError:
            tid = self._tls.tid = _native_id()
            return tid

    def data_event(self, call: str, fd: int, t0: int, t1: int, asked: int, size: int, data: object) -> None:
        """The hot path: one read/write-like call that moved `size` bytes of `data` (one function, no helpers)."""
        if not self.enabled:
            return
        try:
            st = _os_fstat(fd)
            key = (st.st_dev, st.st_ino)
            ep = self._eps.get(key)
            if ep is None:
                ep = self._eps[key] = ',"ep":[%d,%d,"%s"]' % (key[0], key[1], self._kind(fd, key, st.st_mode))
        except OSError:
            ep = ""
        cap = self.payload_cap
        if size <= cap and type(data) is bytes and len(data) == size:
            encoded = _b64(data, newline=False)
        else:
            encoded = _b64(memoryview(data)[: size if size < cap else cap], newline=False)  # type: ignore[arg-type]
        line = '%s%d,"t0":%d,"t1":%d,"call":"%s","fd":%d%s,"args":{"n":%d},"res":%d,"size":%d,"data":"%s"}\n' % (
            self.head,
            self.tid(),
            t0,
            t1,
            call,
            fd,
            ep,
            asked,
            size,
            size,
            encoded.decode("ascii"),
        )
        try:
            _os_write(self.fd, line.encode())
        except OSError:
            self.enabled = False

    def _kind(self, fd: int, key: tuple[int, int], mode: int) -> str:
        known = self._kinds.get(key)
        if known is None:
            known = self._kinds[key] = _kind_of(fd, mode)
        return known

    # -- formatting helpers -------------------------------------------------

    def payload(self, data: object, n: int) -> str:
        """The `data` and `size` fields for `n` bytes of `data` (capped, base64)."""
        cap = self.payload_cap
        view = memoryview(data)[: n if n < cap else cap]  # type: ignore[arg-type]
        return ',"size":%d,"data":"%s"' % (n, _b64(view, newline=False).decode("ascii"))

    def endpoint(self, fd: int, kind: str | None = None) -> str:
        """The `ep` field: `[st_dev, st_ino, kind]` of what `fd` refers to, or '' if it is closed."""
        try:
            st = _os_fstat(fd)
        except OSError:
            return ""
        key = (st.st_dev, st.st_ino)
        known = self._kinds.get(key)
        if known is None or (kind is not None and kind != known):
            known = kind or _kind_of(fd, st.st_mode)
            self._kinds[key] = known
            self._eps.pop(key, None)
        ep = self._eps.get(key)
        if ep is None:
            ep = self._eps[key] = ',"ep":[%d,%d,"%s"]' % (key[0], key[1], known)
        return ep

    # -- emitting -------------------------------------------------------------

    def emit(self, call: str, t0: int, t1: int, body: str) -> None:
        """Write one event; `body` is the already formatted rest of the object (leading commas)."""
        if not self.enabled:
            return
        line = '%s%d,"t0":%d,"t1":%d,"call":"%s"%s}\n' % (self.head, self.tid(), t0, t1, call, body)
        try:
            _os_write(self.fd, line.encode())
        except OSError:
            self.enabled = False  # the trace file is gone: the program must go on regardless

    def emit_fields(self, call: str, t0: int, t1: int, fields: dict) -> None:
        """Slow path for rare calls: any JSON-serialisable fields."""
        body = "".join(',"%s":%s' % (k, json.dumps(v, default=_jsonable)) for k, v in fields.items())
        self.emit(call, t0, t1, body)


def _jsonable(value: object) -> object:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", "backslashreplace")
    return repr(value)


def _kind_of(fd: int, mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "pipe"
    if stat.S_ISSOCK(mode):
        return _socket_kind(fd)
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISCHR(mode):
        return "tty" if os.isatty(fd) else "char"
    return "other"


def _socket_kind(fd: int) -> str:
    import _socket

    try:
        probe = _socket.socket(fileno=fd)
    except OSError:
        return "socket"
    try:
        return socket_kind(probe.family, probe.type)
    finally:
        probe.detach()


def socket_kind(family: int, type_: int) -> str:
    import _socket

    type_ &= ~(getattr(_socket, "SOCK_NONBLOCK", 0) | getattr(_socket, "SOCK_CLOEXEC", 0))
    if family == _socket.AF_UNIX:
        return {_socket.SOCK_STREAM: "unix-stream", _socket.SOCK_DGRAM: "unix-dgram"}.get(type_, "unix-seqpacket")
    suffix = "6" if family == _socket.AF_INET6 else ""
    if family in (_socket.AF_INET, _socket.AF_INET6):
        if type_ == _socket.SOCK_STREAM:
            return "tcp" + suffix
        if type_ == _socket.SOCK_DGRAM:
            return "udp" + suffix
    return "socket"


now = _time_ns  # the clock of every event: CLOCK_REALTIME, the same as the packets' kernel timestamps


class NullWriter(Writer):
    """Stands in when recording is off, so a wrapper kept by the program never fails."""

    def __init__(self) -> None:  # noqa: D107 - nothing to open
        self.enabled = False
        self.payload_cap = 0
        self._kinds = {}
        self.pid = self.ppid = 0
        self.head = ""
        self.fd = -1

    def payload(self, data: object, n: int) -> str:
        return ""

    def endpoint(self, fd: int, kind: str | None = None) -> str:
        return ""

    def emit(self, call: str, t0: int, t1: int, body: str) -> None:
        return None

    def refresh_pid(self) -> None:
        return None

    def data_event(self, call: str, fd: int, t0: int, t1: int, asked: int, size: int, data: object) -> None:
        return None


NULL_WRITER = NullWriter()
