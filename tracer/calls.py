"""The table of calls: every call ipctrace records or reports, and what each one is.

One entry per call, the way strace's `syscallent.h` is one table. Everything
else asks this table: the recorders (which functions they wrap), assemble
(which calls are control markers), link (which calls move bytes, create or
release descriptors), order (which calls wait for a child), render (which
calls block, which arguments a label shows), compare (how a call enters the
canonical form) and the session (which system call a hung process waits in).

Adding a wrapped call means: the wrapper, one entry here, one test. The sets
at the bottom (`SENDS`, `RECEIVES`, ...) are derived, never written by hand.

This module imports nothing from ipctrace, so the recorder inside a traced
process can use it too.
"""

from __future__ import annotations

import platform
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum, Flag, StrEnum, auto


class MsgFlag(Flag):
    """The flags of a send or receive that a trace shows by name (Linux values; the trace keeps the integer)."""

    MSG_OOB = 0x1
    MSG_PEEK = 0x2  # the bytes stay in the socket for the next receive: a peek takes nothing from the channel
    MSG_TRUNC = 0x20
    MSG_DONTWAIT = 0x40
    MSG_WAITALL = 0x100


class Call(StrEnum):
    """The name of a call as it appears in a trace (the `call` field of an event)."""

    # descriptors
    PIPE = "pipe"
    PIPE2 = "pipe2"
    CLOSE = "close"
    DUP = "dup"
    DUP2 = "dup2"
    CLOSERANGE = "closerange"
    OPEN = "open"  # an open that gives an IPC endpoint (a FIFO, a terminal); regular files are not recorded
    # processes
    START = "start"
    FORK = "fork"
    EXEC = "exec"
    SPAWN = "spawn"
    WAIT = "wait"
    WAITPID = "waitpid"
    KILL = "kill"
    EXIT = "exit"
    EXCEPTION = "exception"
    SLEEP = "sleep"
    # data through descriptors
    READ = "read"
    WRITE = "write"
    READV = "readv"
    WRITEV = "writev"
    SENDFILE = "sendfile"
    SPLICE = "splice"
    # sockets
    SOCKET = "socket"
    SOCKETPAIR = "socketpair"
    FROMFD = "fromfd"
    BIND = "bind"
    LISTEN = "listen"
    ACCEPT = "accept"
    CONNECT = "connect"
    CONNECT_EX = "connect_ex"
    SHUTDOWN = "shutdown"
    SETSOCKOPT = "setsockopt"
    SEND = "send"
    SENDALL = "sendall"
    SENDTO = "sendto"
    SENDMSG = "sendmsg"
    RECV = "recv"
    RECV_INTO = "recv_into"
    RECVFROM = "recvfrom"
    RECVFROM_INTO = "recvfrom_into"
    RECVMSG = "recvmsg"
    RECVMSG_INTO = "recvmsg_into"
    # the standard streams as lines (traces written before the recorder saw bytes at fd 0, 1, 2: read and write)
    STDIN = "stdin"
    STDOUT = "stdout"
    STDERR = "stderr"
    STDIN_WAIT = "stdin-wait"
    # system calls a stopped process can be found waiting in (from /proc), never recorded by a wrapper
    SELECT = "select"
    POLL = "poll"
    PSELECT6 = "pselect6"
    PPOLL = "ppoll"
    EPOLL_WAIT = "epoll_wait"
    EPOLL_PWAIT = "epoll_pwait"
    ACCEPT4 = "accept4"
    OPENAT = "openat"
    WAIT4 = "wait4"
    WAITID = "waitid"
    NANOSLEEP = "nanosleep"
    CLOCK_NANOSLEEP = "clock_nanosleep"
    PAUSE = "pause"
    FUTEX = "futex"
    UNKNOWN = "syscall"  # a system call this table does not name (its number is in the event's args)


class Trait(Flag):
    """What a call is, as far as the stages after recording care."""

    NONE = 0
    SENDS = auto()  # moves payload bytes out of the process (its `data` is what was sent)
    RECEIVES = auto()  # moves payload bytes into the process
    BLOCKS = auto()  # can wait for another process; drawn as a bar while it waits
    WAITS_FOR_CHILD = auto()  # reaps a child: ends after the child ended
    CREATES_FD = auto()  # its result is a new descriptor (or a pair)
    RELEASES_FD = auto()  # closes a descriptor, or one direction of it
    DUPLICATES_FD = auto()  # makes a descriptor another name for an existing one
    HAS_ADDRESS = auto()  # carries a socket address (args `addr`, or `peer` on the event)
    CONNECTS = auto()  # a socket's connect
    PROGRAM_OUTPUT = auto()  # a line of the program's stdout / stderr
    PROGRAM_INPUT = auto()  # a line the program read from its stdin
    LIFECYCLE = auto()  # a process starting, ending, starting another program
    SLEEPS = auto()  # waits for time, not for another process
    CONTROL = auto()  # steers the run (scripted input); dropped from the final trace
    KERNEL = auto()  # a system call seen only in a stopped process's /proc entry, never recorded by a wrapper
    # As the system call a stopped process is found waiting in (/proc/PID/syscall):
    WAITS_ON_OTHERS = auto()  # only another process can end it: a deadlock when every process waits so
    WAITS_ON_FD = auto()  # its first argument is the descriptor it waits on
    WAITS_FOR_READY = auto()  # waits until one of several descriptors is ready, or a timeout (select, poll)


class Canon(Enum):
    """How a call enters the canonical form (`ipctrace.compare`): which rule keeps what of it."""

    STREAM_LINE = auto()  # stdout, stderr, stdin: the line's text
    SOCKET = auto()  # family and type; the result names the endpoint
    CREATES_PAIR = auto()  # pipe, socketpair: the result names the pair
    ADDRESS = auto()  # bind, connect: the address, symbolic
    LISTEN = auto()
    ACCEPT = auto()
    SEND = auto()
    RECEIVE = auto()
    SHUTDOWN = auto()
    SETSOCKOPT = auto()
    FORK = auto()
    WAIT = auto()
    KILL = auto()
    SLEEP = auto()
    EXIT = auto()
    EXCEPTION = auto()
    ENDPOINT_ONLY = auto()  # close, dup: the endpoint says it all; fd numbers are not part of the form
    STARTS_PROGRAM = auto()  # exec, spawn: how, and the program and its command line without the machine's folders
    ARGS = auto()  # every argument, as recorded
    DROPPED = auto()  # never part of the form (control markers)


@dataclass(frozen=True, slots=True)
class CallSpec:
    """One row of the table."""

    call: Call
    traits: Trait
    canon: Canon
    #: Where the Python recorder wraps it (`module.attribute` or `module.Class.method`); empty: not wrapped.
    python: tuple[str, ...] = ()
    #: The libc functions the native recorder (record/native/) interposes and records as this call.
    native: tuple[str, ...] = ()
    #: The system calls a process blocked in this call waits in, as /proc/PID/syscall names them.
    syscalls: tuple[str, ...] = ()
    #: The arguments a diagram label shows, in order.
    shown_args: tuple[str, ...] = ()
    #: Other names a scenario may use for it (`[ending] blocked = ["client:input"]`).
    aliases: tuple[str, ...] = ()

    def has(self, trait: Trait) -> bool:
        return bool(self.traits & trait)


_T = Trait
_S = "socket.socket."
_ON_FD = _T.WAITS_ON_OTHERS | _T.WAITS_ON_FD  # a read, write, send, receive, accept or connect system call
_SENDS = _T.SENDS  # a send can wait (a full pipe), but is drawn as a point: its bytes are taken at once

TABLE: tuple[CallSpec, ...] = (
    CallSpec(Call.PIPE, _T.CREATES_FD, Canon.CREATES_PAIR, python=("os.pipe",), native=("pipe",)),
    CallSpec(
        Call.PIPE2, _T.CREATES_FD, Canon.CREATES_PAIR, python=("os.pipe2",), shown_args=("flags",), native=("pipe2",)
    ),
    CallSpec(Call.CLOSE, _T.RELEASES_FD, Canon.ENDPOINT_ONLY, python=("os.close", _S + "close"), native=("close",)),
    CallSpec(
        Call.DUP,
        _T.DUPLICATES_FD | _T.CREATES_FD,
        Canon.ENDPOINT_ONLY,
        python=("os.dup",),
        native=("dup", "fcntl", "fcntl64"),
    ),
    CallSpec(
        Call.DUP2,
        _T.DUPLICATES_FD,
        Canon.ENDPOINT_ONLY,
        python=("os.dup2",),
        shown_args=("fd2",),
        native=("dup2", "dup3"),
    ),
    CallSpec(
        Call.CLOSERANGE,
        _T.RELEASES_FD,
        Canon.ARGS,
        python=("os.closerange",),
        shown_args=("low", "high"),
        native=("close_range", "closefrom"),
    ),
    CallSpec(
        Call.OPEN,
        _T.CREATES_FD | _T.BLOCKS | _T.WAITS_ON_OTHERS,
        Canon.ENDPOINT_ONLY,
        python=("os.open", "io.open", "builtins.open"),
        native=("open", "open64", "openat", "openat64", "__open_2", "__open64_2", "__openat_2"),
        syscalls=("openat", "open"),
    ),
    CallSpec(Call.START, _T.LIFECYCLE, Canon.ARGS),
    CallSpec(Call.FORK, _T.LIFECYCLE, Canon.FORK, python=("os.fork",), native=("fork", "vfork", "_Fork")),
    CallSpec(
        Call.EXEC,
        _T.LIFECYCLE,
        Canon.STARTS_PROGRAM,
        python=("os.execv", "os.execve"),
        native=("execve", "execv", "execvp", "execvpe", "execl", "execlp", "execle", "fexecve"),
    ),
    CallSpec(
        Call.SPAWN,
        _T.LIFECYCLE,
        Canon.STARTS_PROGRAM,
        python=("os.posix_spawn", "os.posix_spawnp", "os.system", "_posixsubprocess.fork_exec"),
        native=("posix_spawn", "posix_spawnp", "system", "popen"),
    ),
    CallSpec(
        Call.WAIT,
        _T.WAITS_FOR_CHILD | _T.BLOCKS,
        Canon.WAIT,
        python=("os.wait",),
        syscalls=("wait4", "waitid"),
        native=("wait",),
    ),
    CallSpec(
        Call.WAITPID,
        _T.WAITS_FOR_CHILD | _T.BLOCKS,
        Canon.WAIT,
        python=("os.waitpid",),
        native=("waitpid", "wait3", "wait4"),
        syscalls=("wait4", "waitid"),
        shown_args=("pid",),
    ),
    CallSpec(Call.KILL, _T.NONE, Canon.KILL, python=("os.kill",), shown_args=("pid",), native=("kill",)),
    CallSpec(Call.EXIT, _T.LIFECYCLE, Canon.EXIT, python=("os._exit",), native=("_exit", "_Exit")),
    CallSpec(Call.EXCEPTION, _T.LIFECYCLE, Canon.EXCEPTION, python=("sys.excepthook",)),
    CallSpec(
        Call.SLEEP,
        _T.SLEEPS | _T.BLOCKS,
        Canon.SLEEP,
        python=("time.sleep",),
        native=("sleep", "usleep", "nanosleep", "clock_nanosleep"),
        syscalls=("clock_nanosleep", "nanosleep"),
        shown_args=("seconds",),
    ),
    CallSpec(
        Call.READ,
        _T.RECEIVES | _T.BLOCKS | _ON_FD,
        Canon.RECEIVE,
        python=("os.read", "sys.stdin", "sys.__stdin__"),
        native=("read", "__read_chk"),
        syscalls=("read",),
        shown_args=("n",),
    ),
    CallSpec(
        Call.WRITE,
        _SENDS | _ON_FD,
        Canon.SEND,
        python=("os.write", "sys.stdout", "sys.stderr", "sys.__stdout__", "sys.__stderr__"),
        native=("write",),
        syscalls=("write",),
    ),
    CallSpec(
        Call.READV,
        _T.RECEIVES | _T.BLOCKS | _ON_FD,
        Canon.RECEIVE,
        python=("os.readv",),
        native=("readv",),
        syscalls=("readv",),
        shown_args=("n",),
    ),
    CallSpec(Call.WRITEV, _SENDS | _ON_FD, Canon.SEND, python=("os.writev",), syscalls=("writev",), native=("writev",)),
    CallSpec(Call.SENDFILE, _SENDS | _ON_FD, Canon.SEND, python=("os.sendfile",), syscalls=("sendfile",)),
    CallSpec(Call.SPLICE, _SENDS | _ON_FD, Canon.SEND, python=("os.splice",), syscalls=("splice",)),
    CallSpec(Call.SOCKET, _T.CREATES_FD, Canon.SOCKET, python=(_S + "__init__",), native=("socket",)),
    CallSpec(Call.SOCKETPAIR, _T.CREATES_FD, Canon.CREATES_PAIR, python=("socket.socketpair",), native=("socketpair",)),
    CallSpec(Call.FROMFD, _T.CREATES_FD, Canon.ENDPOINT_ONLY, python=("socket.fromfd",)),
    CallSpec(Call.BIND, _T.HAS_ADDRESS, Canon.ADDRESS, python=(_S + "bind",), shown_args=("addr",), native=("bind",)),
    CallSpec(Call.LISTEN, _T.NONE, Canon.LISTEN, python=(_S + "listen",), shown_args=("backlog",), native=("listen",)),
    CallSpec(
        Call.ACCEPT,
        _T.CREATES_FD | _T.BLOCKS | _T.HAS_ADDRESS | _ON_FD,
        Canon.ACCEPT,
        python=(_S + "accept",),
        native=("accept", "accept4"),
        syscalls=("accept", "accept4"),
    ),
    CallSpec(
        Call.CONNECT,
        _T.CONNECTS | _T.BLOCKS | _T.HAS_ADDRESS | _ON_FD,
        Canon.ADDRESS,
        python=(_S + "connect",),
        native=("connect",),
        syscalls=("connect",),
        shown_args=("addr",),
    ),
    CallSpec(
        Call.CONNECT_EX,
        _T.CONNECTS | _T.BLOCKS | _T.HAS_ADDRESS,
        Canon.ADDRESS,
        python=(_S + "connect_ex",),
        syscalls=("connect",),
        shown_args=("addr",),
    ),
    CallSpec(
        Call.SHUTDOWN,
        _T.RELEASES_FD,
        Canon.SHUTDOWN,
        python=(_S + "shutdown",),
        shown_args=("how",),
        native=("shutdown",),
    ),
    CallSpec(Call.SETSOCKOPT, _T.NONE, Canon.SETSOCKOPT, python=(_S + "setsockopt",), native=("setsockopt",)),
    CallSpec(Call.SEND, _SENDS, Canon.SEND, python=(_S + "send",), syscalls=("sendto",), native=("send",)),
    CallSpec(Call.SENDALL, _SENDS, Canon.SEND, python=(_S + "sendall",), syscalls=("sendto",)),
    CallSpec(
        Call.SENDTO,
        _SENDS | _T.HAS_ADDRESS | _ON_FD,
        Canon.SEND,
        python=(_S + "sendto",),
        syscalls=("sendto",),
        native=("sendto",),
    ),
    CallSpec(
        Call.SENDMSG,
        _SENDS | _T.HAS_ADDRESS | _ON_FD,
        Canon.SEND,
        python=(_S + "sendmsg",),
        native=("sendmsg",),
        syscalls=("sendmsg",),
    ),
    CallSpec(
        Call.RECV,
        _T.RECEIVES | _T.BLOCKS,
        Canon.RECEIVE,
        python=(_S + "recv",),
        native=("recv", "__recv_chk"),
        syscalls=("recvfrom",),
        shown_args=("n", "flags"),
    ),
    CallSpec(
        Call.RECV_INTO,
        _T.RECEIVES | _T.BLOCKS,
        Canon.RECEIVE,
        python=(_S + "recv_into",),
        syscalls=("recvfrom",),
        shown_args=("n", "flags"),
    ),
    CallSpec(
        Call.RECVFROM,
        _T.RECEIVES | _T.BLOCKS | _T.HAS_ADDRESS | _ON_FD,
        Canon.RECEIVE,
        python=(_S + "recvfrom",),
        native=("recvfrom", "__recvfrom_chk"),
        syscalls=("recvfrom",),
        shown_args=("n", "flags"),
    ),
    CallSpec(
        Call.RECVFROM_INTO,
        _T.RECEIVES | _T.BLOCKS | _T.HAS_ADDRESS,
        Canon.RECEIVE,
        python=(_S + "recvfrom_into",),
        syscalls=("recvfrom",),
        shown_args=("n", "flags"),
    ),
    CallSpec(
        Call.RECVMSG,
        _T.RECEIVES | _T.BLOCKS | _T.HAS_ADDRESS | _ON_FD,
        Canon.RECEIVE,
        python=(_S + "recvmsg",),
        native=("recvmsg",),
        syscalls=("recvmsg",),
        shown_args=("n", "flags"),
    ),
    CallSpec(
        Call.RECVMSG_INTO,
        _T.RECEIVES | _T.BLOCKS | _T.HAS_ADDRESS | _ON_FD,
        Canon.RECEIVE,
        python=(_S + "recvmsg_into",),
        syscalls=("recvmsg",),
        shown_args=("n", "flags"),
    ),
    CallSpec(
        Call.STDIN,
        _T.PROGRAM_INPUT,
        Canon.STREAM_LINE,
        syscalls=("read",),
        aliases=("input",),
    ),
    CallSpec(Call.STDOUT, _T.PROGRAM_OUTPUT, Canon.STREAM_LINE),
    CallSpec(Call.STDERR, _T.PROGRAM_OUTPUT, Canon.STREAM_LINE),
    CallSpec(Call.STDIN_WAIT, _T.CONTROL, Canon.DROPPED),
    # Readiness waits: recorded by the wrappers (select.select, poll and epoll objects), and found in /proc.
    CallSpec(
        Call.SELECT,
        _T.BLOCKS | _T.WAITS_FOR_READY,
        Canon.ARGS,
        python=("select.select", "selectors.SelectSelector._select"),
        native=("select", "pselect"),
        syscalls=("select", "pselect6", "poll", "ppoll", "epoll_wait", "epoll_pwait"),
    ),
    CallSpec(
        Call.POLL,
        _T.BLOCKS | _T.WAITS_FOR_READY,
        Canon.ARGS,
        python=("select.poll", "selectors.PollSelector._selector_cls"),
        syscalls=("poll",),
        native=("poll", "ppoll", "__poll_chk"),
    ),
    # Found only in /proc when a run is stopped: what a process was waiting in.
    CallSpec(Call.PSELECT6, _T.KERNEL | _T.BLOCKS, Canon.ARGS, syscalls=("pselect6",)),
    CallSpec(Call.PPOLL, _T.KERNEL | _T.BLOCKS, Canon.ARGS, syscalls=("ppoll",)),
    CallSpec(
        Call.EPOLL_WAIT,
        _T.BLOCKS | _T.WAITS_FOR_READY,
        Canon.ARGS,
        python=("select.epoll", "selectors.EpollSelector._selector_cls"),
        syscalls=("epoll_wait",),
        native=("epoll_wait", "epoll_pwait"),
    ),
    CallSpec(Call.EPOLL_PWAIT, _T.KERNEL | _T.BLOCKS, Canon.ARGS, syscalls=("epoll_pwait",)),
    CallSpec(Call.ACCEPT4, _T.KERNEL | _T.BLOCKS | _ON_FD, Canon.ARGS, syscalls=("accept4",)),
    CallSpec(Call.OPENAT, _T.KERNEL | _T.BLOCKS | _T.WAITS_ON_OTHERS, Canon.ARGS, syscalls=("openat",)),
    CallSpec(Call.WAIT4, _T.KERNEL | _T.BLOCKS | _T.WAITS_ON_OTHERS, Canon.ARGS, syscalls=("wait4",)),
    CallSpec(Call.WAITID, _T.KERNEL | _T.BLOCKS | _T.WAITS_ON_OTHERS, Canon.ARGS, syscalls=("waitid",)),
    CallSpec(Call.NANOSLEEP, _T.KERNEL | _T.SLEEPS | _T.BLOCKS, Canon.ARGS, syscalls=("nanosleep",)),
    CallSpec(Call.CLOCK_NANOSLEEP, _T.KERNEL | _T.SLEEPS | _T.BLOCKS, Canon.ARGS, syscalls=("clock_nanosleep",)),
    CallSpec(Call.PAUSE, _T.KERNEL | _T.BLOCKS | _T.WAITS_ON_OTHERS, Canon.ARGS, syscalls=("pause",)),
    CallSpec(Call.FUTEX, _T.KERNEL | _T.BLOCKS, Canon.ARGS, syscalls=("futex",)),
    CallSpec(Call.UNKNOWN, _T.KERNEL, Canon.ARGS),
)

#: System call numbers, per machine, for the system calls the table names (from the kernel's unistd tables).
SYSCALL_NUMBERS: Mapping[str, Mapping[int, str]] = {
    "x86_64": {
        0: "read",
        1: "write",
        2: "open",
        7: "poll",
        19: "readv",
        20: "writev",
        23: "select",
        34: "pause",
        35: "nanosleep",
        40: "sendfile",
        42: "connect",
        43: "accept",
        44: "sendto",
        45: "recvfrom",
        46: "sendmsg",
        47: "recvmsg",
        61: "wait4",
        202: "futex",
        230: "clock_nanosleep",
        232: "epoll_wait",
        247: "waitid",
        257: "openat",
        270: "pselect6",
        271: "ppoll",
        275: "splice",
        281: "epoll_pwait",
        288: "accept4",
    },
    "aarch64": {
        22: "epoll_pwait",
        56: "openat",
        63: "read",
        64: "write",
        65: "readv",
        66: "writev",
        71: "sendfile",
        72: "pselect6",
        73: "ppoll",
        76: "splice",
        95: "waitid",
        98: "futex",
        101: "nanosleep",
        115: "clock_nanosleep",
        202: "accept",
        203: "connect",
        206: "sendto",
        207: "recvfrom",
        211: "sendmsg",
        212: "recvmsg",
        242: "accept4",
        260: "wait4",
    },
}

SPECS: Mapping[Call, CallSpec] = {spec.call: spec for spec in TABLE}


def spec(call: Call | str) -> CallSpec:
    """The table's row for `call` (a Call or its name); UNKNOWN's row for a name the table does not have."""
    found = SPECS.get(call)  # type: ignore[arg-type]  # a Call, or a name equal to one (StrEnum)
    if found is not None:
        return found
    try:
        return SPECS[Call(call)]
    except ValueError:
        return SPECS[Call.UNKNOWN]


def parse_call(name: str) -> Call:
    """A call name read from a trace file as a Call; names the table does not know are UNKNOWN."""
    try:
        return Call(name)
    except ValueError:
        return Call.UNKNOWN


def calls_with(trait: Trait, without: Trait = Trait.NONE) -> frozenset[Call]:
    """Every call that has `trait` (and none of `without`)."""
    return frozenset(s.call for s in TABLE if s.traits & trait and not s.traits & without)


def calls_by_canon(*rules: Canon) -> frozenset[Call]:
    return frozenset(s.call for s in TABLE if s.canon in rules)


def syscall_name(number: int, machine: str | None = None) -> str | None:
    """The name of system call `number` on this machine (or `machine`), if the table knows it."""
    return SYSCALL_NUMBERS.get(machine or platform.machine(), {}).get(number)


def syscall_call(name: str) -> Call:
    """The Call that stands for a system call a stopped process waits in ("recvfrom" → RECVFROM)."""
    try:
        return Call(name)
    except ValueError:
        return Call.UNKNOWN


def syscalls_for(names: Iterable[str]) -> frozenset[str]:
    """The system calls behind call names a user wrote (a call, or an alias such as `input`)."""
    wanted = set(names)
    out: set[str] = set()
    for s in TABLE:
        if s.call in wanted or wanted & set(s.aliases):
            out.update((s.call.value, *s.syscalls))
    return frozenset(out)


def python_wrapped() -> Mapping[str, Call]:
    """Every attribute the Python recorder wraps, and the call it records as."""
    return {target: s.call for s in TABLE for target in s.python}


def native_wrapped() -> Mapping[str, Call]:
    """Every libc function the native recorder interposes and records, and the call it records as."""
    return {function: s.call for s in TABLE for function in s.native}


# -- the derived sets every stage uses ------------------------------------------------------------------

SENDS = calls_with(Trait.SENDS)
RECEIVES = calls_with(Trait.RECEIVES)
DATA_CALLS = SENDS | RECEIVES
BLOCKING = calls_with(Trait.BLOCKS)
WAITS_FOR_CHILD = calls_with(Trait.WAITS_FOR_CHILD)
CONNECTS = calls_with(Trait.CONNECTS)
PROGRAM_OUTPUT = calls_with(Trait.PROGRAM_OUTPUT)
PROGRAM_STREAMS = calls_with(Trait.PROGRAM_OUTPUT | Trait.PROGRAM_INPUT)
CONTROL = calls_with(Trait.CONTROL)
SLEEPS = calls_with(Trait.SLEEPS)
WAITS_FOR_READY = calls_with(Trait.WAITS_FOR_READY, without=Trait.KERNEL)
CREATES_FD = calls_with(Trait.CREATES_FD)
RELEASES_FD = calls_with(Trait.RELEASES_FD)
#: System calls (as /proc names them) that only another process can end, and those waiting on a descriptor.
WAITING_ON_OTHERS_SYSCALLS = frozenset(c.value for c in calls_with(Trait.WAITS_ON_OTHERS))
FD_SYSCALLS = frozenset(c.value for c in calls_with(Trait.WAITS_ON_FD))
