"""The writer side of the log format: one memory-mapped file per thread, records begun and completed.

Why this shape (FORMAT.md, DESIGN.md "events lost at a kill"): stores into a `MAP_SHARED` mapping
survive SIGKILL and cost no system call, and the mapping needs no descriptor once made. How the mapping
is made (libc's `mmap`, not Python's) and which base class a log has: mapping.py.
"""

from __future__ import annotations

import os
import sys
import time
from _thread import _local as _thread_local
from _thread import get_native_id as _native_id  # not threading's: a program without threads never imports it

import ipctrace.record.layout as L
from ipctrace.record.heads import HOT_WRAPPERS
from ipctrace.record.mapping import _MADV_RANDOM, _hotc, _LogState, _madvise, _map_shared, _populate
from ipctrace.record.mapping import HOTC as HOTC  # re-exported: hot.py takes it from here
from ipctrace.record.mapping import _ctypes_mapping as _ctypes_mapping  # re-exported: tests/test_record_log.py
from ipctrace.record.mapping import _mapping as _mapping  # re-exported: tests/test_record_log.py

TYPE_CHECKING = False  # typing is not imported at run time: every traced process would pay for it
if TYPE_CHECKING:
    from typing import Any

_os_open = os.open
_os_write = os.write
_os_close = os.close
_ftruncate = os.ftruncate
_fallocate = getattr(os, "posix_fallocate", None)
_now = time.time_ns
_getframe = sys._getframe

#: Library code whose private plumbing is not the program's IPC: the exec-error pipe subprocess opens, reads
#: and closes while it starts a program (its pipes to the child's stdin/stdout are real IPC and are recorded).
#: Known by its function's name in the module's file, looked up only then: a traced program that never starts
#: another one does not pay for subprocess, nor for finding it.
_PLUMBING_MODULES = ("subprocess",)
_PLUMBING_FUNCTIONS = frozenset({"_execute_child"})

_RECORDER_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep

FILE_SIZE = 1 << 30  # virtual size of one log file; blocks are reserved chunk by chunk
FIRST_CHUNK = 64 << 10
MAX_CHUNK = 4 << 20
_end_pack = L.END.pack_into
_MAGIC_WORD = int.from_bytes(L.MAGIC, "little")  # the file header's magic as the one word it is stored in
_HEAD = L.HEAD
_first_unpack = L.FIRST.unpack_from


def _plumbing_files() -> tuple[str, ...]:
    """The source files of the plumbing modules as loaded (a frame of theirs runs, so they are imported)."""
    files = (getattr(sys.modules.get(name), "__file__", None) for name in _PLUMBING_MODULES)
    return tuple(f for f in files if isinstance(f, str))


class LogError(Exception):
    """A log file that cannot be made (full disk, no folder, too many open files)."""


class Problems:
    """Recording failures of this process: said once on stderr, counted in each thread's log header."""

    def __init__(self) -> None:
        self.said: set[str] = set()
        self.count = 0

    def report(self, what: str) -> None:
        self.count += 1
        if what in self.said:
            return
        self.said.add(what)
        try:
            _os_write(2, f"ipctrace: {what}; the call ran as untraced, its record is missing.\n".encode())
        except OSError:
            pass


class ThreadLog(_LogState):
    """One thread's log file, mapped whole; `pos` is where the next record goes."""

    #: The one gate every recorded call passes before it runs: `GATE(call_id, fd)`, None by default. A
    #: scheduler (the race explorer) sets it to hold a process at that point.
    GATE: Any = None

    def __init__(self, folder: str, pid: int, ppid: int, tid: int, cap: int) -> None:
        self.pid, self.tid, self.cap = pid, tid, cap
        self.folder = folder
        self.sites: dict[int, tuple[int, object]] = {}  # id(code) + f_lasti -> (site id, code kept alive)
        #: One dict per hot-path wrapper (hotpath.SPECS, by index): site key -> its record head (heads.py).
        self.caches = [{} for _ in range(HOT_WRAPPERS)]
        self.skipped = 0
        self.problems: Problems | None = None  # where a full log is said (the process's recorder)
        self.alive = True
        self.growing = False
        n = 0
        while True:
            path = os.path.join(folder, f"{pid}-{tid}-{n}.ipclog")
            try:
                fd = _os_open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
                break
            except FileExistsError:
                n += 1
            except OSError as exc:
                raise LogError(f"cannot create the log {path} ({exc.strerror})") from None
        self.path = path
        try:
            _ftruncate(fd, FILE_SIZE)
            self.chunk = FIRST_CHUNK
            self._reserve(fd, 0, FIRST_CHUNK)
            try:
                addr, buf = _map_shared(fd, FILE_SIZE)
            except OSError as exc:
                raise LogError(f"cannot map the log {path} ({exc.strerror})") from None
        except OSError as exc:
            raise LogError(f"cannot make the log {path} ({exc.strerror})") from None
        finally:
            _os_close(fd)
        self.addr = addr
        # The first chunk's pages without read-around: a file page's first fault reads around it (read_ahead_kb,
        # 8 MiB here: 2,000 zero pages, 2-3 ms of every traced process and thread). Later chunks keep it.
        _madvise(addr, FIRST_CHUNK, _MADV_RANDOM)
        _populate(addr, FIRST_CHUNK)
        self.buf = buf
        self.q = self.buf.cast("Q")  # the log as 8-byte words: a t1 stored in one go (hot_generated.py)
        self.limit = FIRST_CHUNK
        # Every field but the magic, then the magic in one 8-byte store: a supervisor reading the log while it
        # is made takes it once the magic is there, so never with half a header (a struct packs in order,
        # magic first: a writer preempted after it looked like a damaged log, and its events went unseen).
        L.FILE_HEADER.pack_into(
            self.buf, 0, bytes(8), L.VERSION, L.HEADER_SIZE, L.HEAD, L.WRITER_PYTHON, pid, ppid, tid, n, _now(), cap, 0
        )
        self.q[0] = _MAGIC_WORD
        self.pos = L.HEADER_SIZE

    @staticmethod
    def _reserve(fd: int, offset: int, length: int) -> None:
        if _fallocate is not None:
            try:
                _fallocate(fd, offset, length)
                return
            except OSError as exc:
                if exc.errno not in (95, 22):  # EOPNOTSUPP, EINVAL: the file system cannot; zero-fill instead
                    raise
        os.pwrite(fd, bytes(length), offset)

    def grow(self, length: int) -> bool:
        """Reserve the next chunk's blocks so a record of `length` bytes fits at `pos`; False if not possible."""
        if self.growing:
            return False
        self.growing = True
        try:
            new_limit = self.limit
            while self.pos + length > new_limit:
                self.chunk = min(self.chunk * 2, MAX_CHUNK)
                new_limit += self.chunk
            if new_limit > FILE_SIZE:
                return False
            fd = _os_open(self.path, os.O_RDWR | os.O_CLOEXEC)
            try:
                self._reserve(fd, self.limit, new_limit - self.limit)
            finally:
                _os_close(fd)
            _populate(self.addr + self.limit, new_limit - self.limit)
            self.limit = new_limit
            return True
        except OSError:
            return False
        finally:
            self.growing = False

    def retire(self) -> None:
        """Never write here again (a forked child's copy, or recording stopped)."""
        self.alive = False
        self.limit = 0

    def count_skipped(self) -> None:
        self.skipped += 1
        try:
            self.buf[L.SKIPPED_OFFSET : L.SKIPPED_OFFSET + 4] = self.skipped.to_bytes(4, "little")
        except (ValueError, OverflowError):
            pass

    def in_progress(self) -> list[int]:
        """Where this log's records in progress are (read from another thread, at exit)."""
        buf = self.buf
        at, end = L.HEADER_SIZE, self.pos
        found = []
        while at < end:
            _call, state, _kind, length = _first_unpack(buf, at)
            if length < _HEAD:
                break  # a head not stored yet
            if state == L.IN_PROGRESS:
                found.append(at)
            at += length
        return found

    # -- records -----------------------------------------------------------------------------------

    def site(self, depth: int) -> int:
        """The call site id of the frame `depth` levels above the caller, defined by a site record on first use."""
        try:
            f = _getframe(depth + 1)
        except ValueError:
            return 0
        got = self.sites.get(id(f.f_code) + f.f_lasti)
        if got is not None:
            return got[0]
        return self.new_site(f)

    def new_site(self, f: Any) -> int:
        """Number the call site of frame `f`: -1 for library plumbing (never recorded), 0 for the recorder's own."""
        code = f.f_code
        key = id(code) + f.f_lasti
        if code.co_filename.startswith(_RECORDER_DIR):
            self.sites[key] = (0, code)  # the recorder's own (a process's start): no program frame
            return 0
        if code.co_name in _PLUMBING_FUNCTIONS and code.co_filename in _plumbing_files():
            self.sites[key] = (-1, code)  # library plumbing, not the program's IPC: never recorded
            return -1
        number = len(self.sites) + 1
        self.sites[key] = (number, code)  # the code object is kept alive, so its id is never reused
        self.point(L.SITE, 0, {"site": [code.co_filename, f.f_lineno, code.co_name]}, res=number)
        return number

    def hot(self, call: int, fd: int, flags: int, ep: Any, asked: int, data: Any, data_len: int, room: int) -> int:
        """Begin a data call without blobs (read, write, send, recv): one reservation, one store of the head.

        The call site is the frame two levels up (the caller of the wrapper that calls this).
        Returns the record's position, -1 for a call not to record (library plumbing) or that cannot be.
        """
        if self.GATE is not None:
            self.GATE(call, fd)
        f = _getframe(2)
        got = self.sites.get(id(f.f_code) + f.f_lasti)
        site = got[0] if got is not None else self.new_site(f)
        if site < 0:
            return -1
        length = (_HEAD + data_len + room + 7) & ~7
        pos = self.pos
        nxt = pos + length
        if nxt <= self.limit:
            self.pos = nxt  # no bytecode between reading and advancing the cursor can run a signal handler
        else:
            pos = self._grow_reserve(length)
            if pos < 0:
                return -1
        if ep is None:
            ep = _NO_EP
        _hot_pack(self.buf, pos, call, 1, ep[2], length, _now(), fd, flags, site, ep[0], ep[1], asked, data_len)
        if data_len:
            self.buf[pos + _HEAD : pos + _HEAD + data_len] = data
        return pos

    def sent(self, pos: int, res: int) -> None:
        """Complete a send begun by `hot`: its result (bytes taken), then (last) its state."""
        t1 = _now()
        if self.alive:
            _sent_pack(self.buf, pos + 64, t1, res, res)
            self.buf[pos + 2] = 2

    def received(self, pos: int, size: int, data: Any, kept: int) -> None:
        """Complete a receive begun by `hot`: the first `kept` of its `size` bytes, then (last) its state."""
        t1 = _now()
        if self.alive:
            buf = self.buf
            if kept:
                buf[pos + _HEAD : pos + _HEAD + kept] = data[:kept]
            _received_pack(buf, pos + 56, kept, t1, size, size)
            buf[pos + 2] = 2

    def failed(self, pos: int, err: int) -> None:
        """Complete a record begun by `hot` whose call raised: t1 and the error code."""
        t1 = _now()
        if self.alive:
            buf = self.buf
            _t1_pack(buf, pos + 64, t1)
            _err_pack(buf, pos + 88, err)
            buf[pos + 2] = 2

    def begin(
        self,
        call: int,
        fd: int,
        flags: int,
        site: int,
        ep: tuple[int, int, int] | None,
        asked: int,
        data: Any = None,
        data_len: int = 0,
        args: bytes = b"",
        post_cap: int = 0,
        room: int = 0,
    ) -> int:
        """Write a record in progress (any call); returns its position for `end_blob` (-1: not written).

        `data`/`data_len`: the payload of a send, stored now; `room`: payload bytes a receive will store.
        """
        if self.GATE is not None:
            self.GATE(call, fd)
        if len(args) > 0xFFFF:
            args = L.json_blob({"truncated": len(args)})
        extra = len(args) + post_cap
        length = (_HEAD + extra + data_len + room + 7) & ~7
        pos = self.pos
        nxt = pos + length
        if nxt <= self.limit:
            self.pos = nxt
        else:
            pos = self._grow_reserve(length)
            if pos < 0:
                return -1
        dev, ino, kind = ep or _NO_EP
        buf = self.buf
        _hot_pack(buf, pos, call, 1, kind, length, _now(), fd, flags, site, dev, ino, asked, data_len)
        if args or post_cap:
            _lens_pack(buf, pos + 60, len(args), 0)
            _post_cap_pack(buf, pos + _POST_CAP_AT, post_cap)
            at = pos + _HEAD
            buf[at : at + len(args)] = args
        if data_len:
            at = pos + _HEAD + extra
            buf[at : at + data_len] = data[:data_len]
        return pos

    def _grow_reserve(self, length: int) -> int:
        if not self.alive:
            return -1
        if not self.grow(length):
            if not self.growing:  # a full disk, or a thread's log at FILE_SIZE: said once, counted
                self.count_skipped()
                if self.problems is not None:
                    self.problems.report(
                        f"the log {self.path} cannot grow (disk full, or {FILE_SIZE >> 20} MiB written)"
                    )
            return -1
        pos = self.pos
        self.pos = pos + length
        return pos

    def end(self, pos: int, res: int, size: int, err: int, data: Any = None, data_len: int = 0) -> None:
        """Complete a record without blobs: its result, its payload (a receive's), then (last) its state."""
        t1 = _now()
        if pos < 0 or not self.alive:
            return
        buf = self.buf
        if data is not None and data_len:
            at = pos + _HEAD
            buf[at : at + data_len] = data[:data_len]
        _end_pack(buf, pos + 56, data_len, 0, 0, t1, res, size, err, 0)
        buf[pos + 2] = 2

    def end_blob(
        self,
        pos: int,
        res: int,
        size: int,
        err: int,
        post: bytes,
        args_len: int,
        post_cap: int,
        data: Any = None,
        data_len: int = 0,
        t1: int = 0,
    ) -> None:
        """Complete a record that has blobs (the argument blob's length and the result room as begun)."""
        t1 = t1 or _now()
        if pos < 0 or not self.alive:
            return
        buf = self.buf
        if len(post) > post_cap:
            post = L.json_blob({"truncated": len(post)})
            if len(post) > post_cap:
                post = b""
            self.count_skipped()
        at = pos + _HEAD + args_len
        buf[at : at + len(post)] = post
        if data is not None and data_len:
            at += post_cap
            buf[at : at + data_len] = data[:data_len]
        _end_pack(buf, pos + 56, data_len, args_len, len(post), t1, res, size, err, post_cap)
        buf[pos + 2] = 2

    def point(self, call: int, site: int, args: dict | None = None, res: int = 0, fd: int = -1) -> None:
        """A record complete at once (start, exit, exec, a site definition)."""
        blob = L.json_blob(args) if args else b""
        pos = self.begin(call, fd, L.F_POINT | (L.F_FD if fd >= 0 else 0), site, None, 0, args=blob)
        if pos >= 0:
            t0 = int.from_bytes(self.buf[pos + 8 : pos + 16], "little")
            self.end_blob(pos, res, 0, 0, b"", len(blob), 0, t1=t0)  # a point in time: t1 = t0


_NO_EP = (0, 0, 0)
_hot_pack = L.HOT.pack_into
_sent_pack = L.SENT.pack_into
_received_pack = L.RECEIVED.pack_into
_t1_pack = L.T1.pack_into
_err_pack = L.ERR.pack_into
_lens_pack = L.LENS.pack_into
_post_cap_pack = L.POST_CAP.pack_into
_POST_CAP_AT = L.POST_CAP_AT


#: Each thread's log (`TLS.log`), made on the thread's first event.
TLS = _thread_local()
#: Said whenever a `TLS.log` is set or deleted: the compiled wrappers keep each thread's last one (hotc.c).
_logs_changed = getattr(_hotc, "logs_changed", lambda: None)


class Recorder:
    """Per-process recording state: where logs go, the payload cap, the logs of this process's threads."""

    def __init__(self, folder: str, cap: int) -> None:
        self.folder = folder
        self.cap = cap
        self.problems = Problems()
        self.enabled = True
        self.logs: list[ThreadLog] = []
        self.refresh()

    def refresh(self) -> None:
        """A new process (start-up, or a forked child): forget every inherited log."""
        for log in self.logs:
            log.retire()  # a forked child never writes into its parent's mappings
        self.logs = []
        self.pid = os.getpid()
        self.ppid = os.getppid()
        try:
            del TLS.log
        except AttributeError:
            pass
        _logs_changed()

    def stop(self) -> None:
        self.enabled = False
        self.refresh()

    def log(self) -> ThreadLog | None:
        """This thread's log, made on its first event; None when it cannot be made."""
        try:
            return TLS.log
        except AttributeError:
            pass
        if not self.enabled:
            return None
        log: ThreadLog | None = None
        try:
            log = ThreadLog(self.folder, self.pid, self.ppid, _native_id(), self.cap)
            log.problems = self.problems
            self.logs.append(log)
        except LogError as exc:
            self.problems.report(str(exc))
        TLS.log = log
        _logs_changed()
        return log
