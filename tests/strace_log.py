"""`strace -f -qq -yy -xx -s N` logs read back, to hold ipctrace's traces against what the kernel saw.

Each process's data calls on pipes, sockets and the standard streams, with the bytes each moved (strace
shows them whole with `-s` larger than any payload, hex-escaped under `-xx`), in the order it made them.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

BLOCKED = "blocked"  # a call still waiting when the run was stopped
Entry = tuple[str, bytes | str]  # (system call or stream, the bytes moved, an errno name, or BLOCKED)

FORKS = frozenset({"clone", "clone3", "fork", "vfork"})
#: The calls the tests trace: the data calls, and the forks that say which process is whose child.
STRACED = ("read", "write", "sendto", "recvfrom", "sendmsg", "recvmsg", *sorted(FORKS))
STREAM_OF_FD = {(0, "read"): "stdin", (1, "write"): "stdout", (2, "write"): "stderr"}

_CALL = re.compile(r"^(?P<name>\w+)\((?P<args>.*)\)\s+= (?P<result>.*)$", re.S)
_FD = re.compile(r"^(?P<fd>\d+)<(?P<what>.*?)>,\s*(?P<rest>.*)$", re.S)  # -yy: 3<TCP:[a->b]>, 1</dev/null<char 1:3>>
_STRING = re.compile(r'^"((?:\\x[0-9a-f]{2})*)"(\.\.\.)?')


def unhex(text: str) -> bytes:
    return bytes.fromhex(text.replace("\\x", ""))


def unescape(text: str) -> str:
    """An -yy annotation: paths and pipes come \\x-escaped under -xx, sockets do not."""
    return re.sub(r"\\x([0-9a-f]{2})", lambda m: chr(int(m[1], 16)), text)


def calls(log: Path) -> Iterator[tuple[int, str, str, str]]:
    """Every call of the log as (pid, name, arguments, result), in the log's order.

    A call strace shows `<unfinished ...>` is given once, with its arguments and its resumed result; one
    still in progress when the log ends comes last, with the result "?".
    """
    pending: dict[int, str] = {}
    for line in log.read_text().splitlines():
        pid_text, rest = line.split(None, 1)
        pid = int(pid_text)
        if rest.startswith(("+++", "---")):
            continue
        if rest.startswith("<... "):
            rest = pending.pop(pid) + rest.split(" resumed>", 1)[1]
        if rest.endswith("<unfinished ...>"):
            pending[pid] = rest.removesuffix("<unfinished ...>")
            continue
        call = _CALL.match(rest)
        assert call is not None, f"unparsed strace line: {line}"
        yield pid, call["name"], call["args"], call["result"]
    for pid, head in pending.items():
        name, _, args = head.partition("(")
        yield pid, name, args, "?"


def data_entry(name: str, args: str, result: str, failures: bool = True) -> Entry | None:
    """What a data call moved, named by its call (or its standard stream); None for a call on a file.

    `failures`: a failed call gives its errno name; else it fails the test (the program never fails one).
    """
    fd_arg = _FD.match(args)
    if fd_arg is None:
        return None
    fd, what = int(fd_arg["fd"]), unescape(fd_arg["what"])
    key = STREAM_OF_FD.get((fd, name)) if fd <= 2 else (None if what.startswith("/") else name)
    if key is None:  # a regular file (the file transfers, echomsg.txt) or the loader reading a library
        return None
    value = result.split()[0] if result.split() else "?"
    if value == "?":
        return key, BLOCKED
    if value == "-1":
        assert failures, f"{name} on {what} failed: {result}"
        return key, result.split()[1]  # the errno name
    string = _STRING.match(fd_arg["rest"])
    assert string is not None and not string[2], f"{name} data not shown whole: {fd_arg['rest'][:80]}"
    return key, unhex(string[1])[: int(value)]


@dataclass(frozen=True)
class Processes:
    """What one log says of its processes: the first (the program strace started), each one's children
    in the order it forked them, and each one's data calls."""

    first: int
    children: dict[int, list[int]]
    entries: dict[int, list[Entry]]


def processes(log: Path, failures: bool = True) -> Processes:
    """Each process's data calls (`data_entry`) and forked children, in order.

    A call the kernel restarted (`= ? ERESTARTSYS`, then the same call again) counts once.
    """
    entries: dict[int, list[Entry]] = defaultdict(list)
    children: dict[int, list[int]] = defaultdict(list)
    for pid, name, args, result in calls(log):
        if name in FORKS:
            if result.split() and result.split()[0].isdigit():
                children[pid].append(int(result.split()[0]))
        elif (entry := data_entry(name, args, result, failures)) is not None:
            entries[pid].append(entry)
    for made in entries.values():
        made[:] = [e for n, e in enumerate(made) if e[1] != BLOCKED or n == len(made) - 1]
    lines = log.read_text().split(None, 1)
    assert lines, f"{log} is empty"
    return Processes(int(lines[0]), dict(children), dict(entries))
