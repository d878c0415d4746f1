"""The log format's constants, written down once for the writer and the reader (see FORMAT.md).

Imported inside every traced process: nothing here but `struct` and `_json` (C). Calls are named as in the
table of calls (`ipctrace.calls.Call` values); the table itself is not imported here, because its
dataclasses cost every traced process about 10 ms at start-up (tests/test_record_log.py checks
that both name the same calls).
"""

from __future__ import annotations

import struct

TYPE_CHECKING = False  # typing is not imported at run time: every traced process would pay for it
if TYPE_CHECKING:
    from typing import Any

VERSION = 1
MAGIC = b"IPCTLOG\0"
HEADER_SIZE = 64
HEAD = 96  # a record's fixed head
WRITER_PYTHON = 1
WRITER_NATIVE = 2
HEADER_SITE_IS_ADDRESS = 1

#: File header: magic, version, header_size, record_head, writer, pid, ppid, tid, n, created, cap, flags.
FILE_HEADER = struct.Struct("<8sHHHHIIIIqII")
SKIPPED_OFFSET = 48  # u32: calls whose recording failed in this thread

#: A record's first 8 bytes: call, state, kind, length. Packed by the heads, and read back by whatever walks a log
#: record by record: the reader, and a traced process at exit (`ThreadLog.in_progress`, which must not import it).
FIRST = struct.Struct("<HBBI")
#: Bytes 8-64, stored when a call begins: t0, fd, flags, site, dev, ino, asked, data_len, args_len, post_len.
BEGIN = struct.Struct("<qiIQQQqIHH")
#: Bytes 56-96, stored when a call ends: data_len, args_len, post_len, t1, res, size, err, post_cap.
END = struct.Struct("<IHHqqqiI")
BEGIN_AT = 8
END_AT = 56
POST_CAP_AT = 92
STATE_AT = 2
POST_CAP = struct.Struct("<I")
#: Bytes 0-60 in one store (the head word, then what `BEGIN` holds but the blob lengths).
HOT = struct.Struct("<HBBIqiIQQQqI")
#: A send's end: t1, res, size (bytes 64-88); a receive's: data_len, blob lengths 0, t1, res, size (56-88).
SENT = struct.Struct("<qqq")
RECEIVED = struct.Struct("<I4xqqq")
T1 = struct.Struct("<q")
ERR = struct.Struct("<i")
LENS = struct.Struct("<HH")
#: The whole head at once, for readers.
RECORD = struct.Struct("<HBBIqiIQQQqIHHqqqiI")
#: The names of `RECORD`'s fields, in order (FORMAT.md's; the compiled recorder's offsets come from these).
RECORD_FIELDS = (
    "call", "state", "kind", "length", "t0", "fd", "flags", "site", "dev", "ino", "asked",
    "data_len", "args_len", "post_len", "t1", "res", "size", "err", "post_cap",
)  # fmt: skip


def offset_of(field: str) -> int:
    """Where `field` starts in a record's head."""
    i = RECORD_FIELDS.index(field)
    return struct.calcsize(RECORD.format[: i + 1])


assert len(RECORD_FIELDS) == len(RECORD.format) - 1
assert RECORD.size == HEAD and BEGIN.size == END_AT and BEGIN_AT + BEGIN.size == 64 and END_AT + END.size == HEAD

# States (u8 at offset 2)
NONE = 0
IN_PROGRESS = 1
DONE = 2
PADDING = 3

# Flags (u32 at offset 20)
F_FD = 1 << 0
F_ASKED = 1 << 1
F_RES = 1 << 2
F_SIZE = 1 << 3
F_CAPPED = 1 << 4
F_PEEK = 1 << 5
F_POINT = 1 << 6

#: Endpoint kinds (u8 at offset 3): index in this tuple; 0 is "no endpoint".
KINDS: tuple[str, ...] = (
    "",
    "pipe",
    "unix-stream",
    "unix-dgram",
    "unix-seqpacket",
    "tcp",
    "udp",
    "tcp6",
    "udp6",
    "socket",
    "file",
    "tty",
    "char",
    "other",
    "fifo",
    "dir",
)
KIND_ID = {name: i for i, name in enumerate(KINDS)}

#: Records of the log itself (not calls).
SITE = 1000
PROBLEM = 1001

#: Call ids, pinned: a number once given never changes (tests/test_record_log.py holds the list).
CALL_IDS: dict[str, int] = {
    "pipe": 1,
    "pipe2": 2,
    "close": 3,
    "dup": 4,
    "dup2": 5,
    "start": 6,
    "fork": 7,
    "exec": 8,
    "spawn": 9,
    "wait": 10,
    "waitpid": 11,
    "kill": 12,
    "exit": 13,
    "exception": 14,
    "sleep": 15,
    "read": 16,
    "write": 17,
    "socket": 18,
    "socketpair": 19,
    "fromfd": 20,
    "bind": 21,
    "listen": 22,
    "accept": 23,
    "connect": 24,
    "connect_ex": 25,
    "shutdown": 26,
    "setsockopt": 27,
    "send": 28,
    "sendall": 29,
    "sendto": 30,
    "sendmsg": 31,
    "recv": 32,
    "recv_into": 33,
    "recvfrom": 34,
    "recvfrom_into": 35,
    "recvmsg": 36,
    "stdin": 37,
    "stdout": 38,
    "stderr": 39,
    "stdin-wait": 40,
    "select": 41,
    "poll": 42,
    "pselect6": 43,
    "ppoll": 44,
    "epoll_wait": 45,
    "epoll_pwait": 46,
    "accept4": 47,
    "wait4": 48,
    "waitid": 49,
    "nanosleep": 50,
    "clock_nanosleep": 51,
    "pause": 52,
    "futex": 53,
    "syscall": 54,
    "open": 55,
    "readv": 56,
    "writev": 57,
    "sendfile": 58,
    "splice": 59,
    "recvmsg_into": 60,
    "closerange": 61,
    "openat": 62,
}
CALL_OF_ID: dict[int, str] = {n: c for c, n in CALL_IDS.items()}


def json_blob(obj: Any) -> bytes:
    """The one escaping helper: a blob as ASCII JSON (NUL, quotes, newlines, undecodable bytes escaped).

    What `json.dumps(obj, ensure_ascii=True, separators=(",", ":"), default=_jsonable)` writes, by the
    encoder it uses itself (`_json`): the `json` package would cost every traced process its import.
    """
    if _encoder is None:
        import json

        return json.dumps(obj, ensure_ascii=True, separators=(",", ":"), default=_jsonable).encode("ascii")
    if isinstance(obj, str):
        return _ascii(obj).encode("ascii")
    return "".join(_encoder({}, _jsonable, _ascii, None, ":", ",", False, False, True)(obj, 0)).encode("ascii")


_encoder: Any = None
try:  # json.encoder's own C encoder, made as JSONEncoder.iterencode makes it (markers, default, ... allow_nan)
    from _json import encode_basestring_ascii as _ascii
    from _json import make_encoder as _encoder
except ImportError:  # a Python without the accelerator: the json package
    pass


def _jsonable(value: object) -> object:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", "surrogateescape")
    if isinstance(value, (list, tuple)):
        return list(value)
    return repr(value)


#: Exceptions that are not OS errors, as negative `err` codes (-1 is the first); others are -len-1 ("Exception")
#: with their name in the result blob when the record has room for one.
EXCEPTIONS: tuple[str, ...] = (
    "KeyboardInterrupt",
    "TypeError",
    "ValueError",
    "OverflowError",
    "TimeoutError",
    "SystemExit",
    "EOFError",
    "InterruptedError",
    "AttributeError",
    "UnicodeDecodeError",
)
_EXC_CODE = {name: -(i + 1) for i, name in enumerate(EXCEPTIONS)}


def exception_code(exc: BaseException) -> int:
    """The `err` of a call that raised `exc`: its errno, or a negative code for a non-OS error."""
    code = getattr(exc, "errno", None)
    if type(code) is int and code > 0:
        return code
    return _EXC_CODE.get(type(exc).__name__, -(len(EXCEPTIONS) + 1))


def exception_name(err: int) -> str:
    return EXCEPTIONS[-err - 1] if 0 < -err <= len(EXCEPTIONS) else "Exception"
