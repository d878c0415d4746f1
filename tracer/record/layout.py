"""The log format's constants, written down once for the writer and the reader (see FORMAT.md).

Imported inside every traced process: nothing here but `struct`, `json` and the table of calls.
"""

from __future__ import annotations

import json
import struct
from typing import Any

from ipctrace.calls import Call

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

#: A record's first 8 bytes: call, state, kind, length.
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

#: Call ids, pinned: a number once given never changes (tests/test_record_format.py holds the list).
CALL_IDS: dict[Call, int] = {
    Call.PIPE: 1,
    Call.PIPE2: 2,
    Call.CLOSE: 3,
    Call.DUP: 4,
    Call.DUP2: 5,
    Call.START: 6,
    Call.FORK: 7,
    Call.EXEC: 8,
    Call.SPAWN: 9,
    Call.WAIT: 10,
    Call.WAITPID: 11,
    Call.KILL: 12,
    Call.EXIT: 13,
    Call.EXCEPTION: 14,
    Call.SLEEP: 15,
    Call.READ: 16,
    Call.WRITE: 17,
    Call.SOCKET: 18,
    Call.SOCKETPAIR: 19,
    Call.FROMFD: 20,
    Call.BIND: 21,
    Call.LISTEN: 22,
    Call.ACCEPT: 23,
    Call.CONNECT: 24,
    Call.CONNECT_EX: 25,
    Call.SHUTDOWN: 26,
    Call.SETSOCKOPT: 27,
    Call.SEND: 28,
    Call.SENDALL: 29,
    Call.SENDTO: 30,
    Call.SENDMSG: 31,
    Call.RECV: 32,
    Call.RECV_INTO: 33,
    Call.RECVFROM: 34,
    Call.RECVFROM_INTO: 35,
    Call.RECVMSG: 36,
    Call.STDIN: 37,
    Call.STDOUT: 38,
    Call.STDERR: 39,
    Call.STDIN_WAIT: 40,
    Call.SELECT: 41,
    Call.POLL: 42,
    Call.PSELECT6: 43,
    Call.PPOLL: 44,
    Call.EPOLL_WAIT: 45,
    Call.EPOLL_PWAIT: 46,
    Call.ACCEPT4: 47,
    Call.WAIT4: 48,
    Call.WAITID: 49,
    Call.NANOSLEEP: 50,
    Call.CLOCK_NANOSLEEP: 51,
    Call.PAUSE: 52,
    Call.FUTEX: 53,
    Call.UNKNOWN: 54,
    Call.OPEN: 55,
    Call.READV: 56,
    Call.WRITEV: 57,
    Call.SENDFILE: 58,
    Call.SPLICE: 59,
    Call.RECVMSG_INTO: 60,
    Call.CLOSERANGE: 61,
    Call.OPENAT: 62,
}
CALL_OF_ID: dict[int, Call] = {n: c for c, n in CALL_IDS.items()}


def json_blob(obj: Any) -> bytes:
    """The one escaping helper: a blob as ASCII JSON (NUL, quotes, newlines, undecodable bytes escaped)."""
    return json.dumps(obj, ensure_ascii=True, separators=(",", ":"), default=_jsonable).encode("ascii")


def _jsonable(value: object) -> object:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", "surrogateescape")
    if isinstance(value, (list, tuple)):
        return list(value)
    return repr(value)


def first_word(call: int, state: int, kind: int, length: int) -> int:
    """The record's first 8 bytes as one little-endian integer (one aligned store)."""
    return call | state << 16 | kind << 24 | length << 32


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
