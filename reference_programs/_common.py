"""The few C library behaviours every port needs, kept in one place so the ports read like the C.

Nothing here makes an IPC call: the ports call `os`, `socket`, `time.sleep`
and `sys.stdin` themselves, always through the module attribute at call time
(`os.read`, never `from os import read`), so a tracer that wraps those
attributes sees every call.
"""

from __future__ import annotations

import os
import stat
import sys
from typing import NoReturn

#: glibc's BUFSIZ, the buffer size of seed 000's socketpair examples.
BUFSIZ = 8192


def c_str(buf: bytes) -> str:
    """What C's printf("%s") shows of a buffer: the bytes up to the first NUL.

    The senders that use `sizeof` include the terminating NUL; C prints up to
    it, so the port does the same. Undecodable bytes are replaced rather than
    ending the program.
    """
    return buf.split(b"\0", 1)[0].decode("utf-8", errors="replace")


def error(msg: str, exc: OSError) -> NoReturn:
    """C's `perror(msg); exit(1);` — the seeds' error() helper."""
    print(f"{msg}: {exc.strerror or exc}", file=sys.stderr, flush=True)
    sys.exit(1)


def remove_stale(path: str) -> None:
    """Remove a Unix socket file a crashed earlier run left behind, so bind does not fail.

    Only a socket is removed, never any other kind of file that happens to have the name.
    """
    try:
        if stat.S_ISSOCK(os.lstat(path).st_mode):
            os.unlink(path)
    except FileNotFoundError:
        pass
