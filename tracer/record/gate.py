"""The explorer's side inside a traced process: hold the process at each visible call until told to go.

`ipctrace explore` (and a replayed `--schedule`) runs a program with `IPCTRACE_EXPLORE` naming a Unix
socket. Every process connects there (a forked child on its first gate, with its own connection),
and at each recorded call whose id is in `IPCTRACE_EXPLORE_CALLS` it sends one line and waits:

    H <pid> <ppid> <path>                          once, when the process first connects
    G <call> <fd> <mode> <ino> <w> <forks> <open>  at a gate; `w`: 1 a pipe's write end, 2 a datagram socket;
                                                   `open`: its pipe ends (fork, exit)

and answers the controller's lines: `R <in|out|child|wait>` (would the held call run
without waiting: `0`, `1`, or `d` for data waiting; `wait`: a select/poll, whose descriptors
and timeout its wrapper told the gate — with a timeout it may always go, and times out at once), `G`
(go: run the call), `F` (free: stop gating, the rest runs as untraced-by-the-explorer). The line
protocol is plain text so that a native recorder can speak it too. Nothing here is recorded: the
connection is a `_socket.socket` (C methods, never wrapped) and the checks use the originals.

`path` names a process the same way in every run ("main", "main.1" its first child, ...), so a
schedule is a list of paths, not of pids. Under the explorer time is virtual: a `time.sleep` is a
point where others may run, then returns at once; so is a select/poll with a timeout (wrap_select).
"""

from __future__ import annotations

import _socket
import fcntl
import gc
import os
import resource
import select
import stat
import sys

from ipctrace.record.explorer_env import ENV_CALLS, ENV_EXPLORE, ENV_PATH, ENV_ZYGOTE

TYPE_CHECKING = False  # typing is not imported at run time: every traced process would pay for it
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


_poll = select.poll
_waitid = getattr(os, "waitid", None)
_fstat = os.fstat
_fcntl = fcntl.fcntl
_F_DUPFD_CLOEXEC = fcntl.F_DUPFD_CLOEXEC
_getrlimit = resource.getrlimit
_RLIMIT_NOFILE = resource.RLIMIT_NOFILE
_RLIM_INFINITY = resource.RLIM_INFINITY
_F_GETFL = fcntl.F_GETFL
_listdir = os.listdir
_getpid = os.getpid
_getppid = os.getppid
_waitpid = os.waitpid
_exit = os._exit
_dup2 = os.dup2
_close = os.close
_LITTLE = sys.byteorder == "little"


def _describe(fd: int) -> tuple[int, int]:
    """(mode, inode) of a descriptor; (0, 0) for none or a closed one."""
    if fd < 0:
        return 0, 0
    try:
        st = _fstat(fd)
    except OSError:
        return 0, 0
    return st.st_mode, st.st_ino


def _writing(fd: int) -> bool:
    try:
        return _fcntl(fd, _F_GETFL) & os.O_ACCMODE != os.O_RDONLY
    except OSError:
        return False


def _datagram(fd: int) -> bool:
    """The socket keeps message boundaries (UDP, a Unix datagram socket): a read takes one whole datagram."""
    try:
        sock = _socket.socket(fileno=fd)
    except OSError:
        return False
    try:
        return sock.type & 0xF == _socket.SOCK_DGRAM
    finally:
        sock.detach()


def _open_channels(skip: int) -> str:
    """The pipes and sockets this process holds, as `p<ino>`/`s<ino>` joined by commas ('-' for none)."""
    out = []
    try:
        names = _listdir("/proc/self/fd")
    except OSError:
        return "-"
    for name in names:
        fd = int(name)
        if fd == skip:
            continue
        mode, ino = _describe(fd)
        if stat.S_ISFIFO(mode):
            out.append(f"p{ino}{'w' if _writing(fd) else 'r'}")
        elif stat.S_ISSOCK(mode):
            out.append(f"s{ino}")
    return ",".join(sorted(set(out))) or "-"


def _high(sock: Any) -> Any:
    """The socket moved near the descriptor limit: the program's next pipe or socket gets its untraced number."""
    try:
        soft = _getrlimit(_RLIMIT_NOFILE)[0]
    except (OSError, ValueError):
        return sock
    if soft == _RLIM_INFINITY or soft <= 64:
        return sock
    try:
        fd = _fcntl(sock.fileno(), _F_DUPFD_CLOEXEC, min(soft - 8, 1 << 20))
    except OSError:
        return sock  # no room up there: keep the low number (the program's descriptors shift by one)
    sock.close()
    return _socket.socket(fileno=fd)


class Gate:
    """This process's connection to the controller and what it reports at each gate."""

    def __init__(self, address: str, visible: frozenset[int], path: str, whole_process: frozenset[int]) -> None:
        self.address = address
        self.visible = visible
        self.whole_process = whole_process  # calls whose report lists every open channel (fork, exit)
        self.path = path
        self.pid = -1
        self.children = 0  # forks made so far: the next child is path.<children+1>
        self.forks = 0  # forks made since the last gate (the controller waits for their connections)
        self.sock: Any = None
        self.buf = b""
        self.busy = False
        self.free = False
        self.pending: tuple[int, int, int] = (0, -1, 0)  # call, fd, mode of the held call
        # what a held select/poll waits for: descriptors to read, to write, and whether it may time out
        self.waiting: tuple[list[int], list[int], bool] = ([], [], True)

    def connect(self, pid: int) -> None:
        if self.sock is not None:
            self.sock.close()  # the parent's connection, inherited by fork: the parent keeps its own
            self.path = f"{self.path}.{self.children + 1}"  # the count as it was before this fork
            self.children = 0
        self.pid = pid
        self.forks = 0
        self.buf = b""
        sock = _high(_socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM))
        sock.connect(self.address)  # close-on-exec by default: an exec'd program connects anew
        self.sock = sock
        sock.sendall(f"H {pid} {_getppid()} {self.path}\n".encode())

    def line(self) -> bytes:
        while b"\n" not in self.buf:
            got = self.sock.recv(4096)
            if not got:
                raise EOFError
            self.buf += got
        line, _, self.buf = self.buf.partition(b"\n")
        return line

    def __call__(self, call: int, fd: int) -> None:
        if self.free or self.busy or call not in self.visible:
            return
        self.busy = True
        try:
            self._hold(call, fd)
        except (OSError, EOFError):
            self.free = True  # the controller is gone: run on as a plain traced program
        finally:
            self.busy = False

    def _hold(self, call: int, fd: int) -> None:
        pid = _getpid()
        if pid != self.pid:
            self.connect(pid)
        mode, ino = _describe(fd)
        channels = _open_channels(self.sock.fileno()) if call in self.whole_process else "-"
        self.pending = (call, fd, mode)
        writing = int(stat.S_ISFIFO(mode) and _writing(fd)) or (2 if stat.S_ISSOCK(mode) and _datagram(fd) else 0)
        self.sock.sendall(f"G {call} {fd} {mode} {ino} {writing} {self.forks} {channels}\n".encode())
        self.forks = 0
        while True:
            what = self.line()
            if what == b"G":
                return
            if what == b"F":
                self.free = True
                return
            if what.startswith(b"R"):
                self.sock.sendall(self.ready(what[2:]) + b"\n")

    def ready(self, check: bytes) -> bytes:
        """Would the held call run without waiting for another process (`in`, `out`, `child`)?

        `0`: no; `1`: yes; `d`: yes, there is data to read (not only an end of file).
        """
        if check == b"child":
            if _waitid is None:
                return b"1"
            try:
                return b"1" if _waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None else b"0"
            except ChildProcessError:
                return b"1"  # no child: the wait fails at once
        if check == b"wait":
            return self._any_ready()
        fd = self.pending[1]
        p = _poll()
        p.register(fd, select.POLLIN if check == b"in" else select.POLLOUT)
        got = p.poll(0)
        if not got:
            return b"0"
        return b"d" if got[0][1] & select.POLLIN else b"1"

    def _any_ready(self) -> bytes:
        """A select/poll held: `1` when one of its descriptors is ready or it may time out (virtual time), else `0`."""
        reads, writes, finite = self.waiting
        masks: dict[int, int] = {}
        for fd in reads:
            masks[fd] = masks.get(fd, 0) | select.POLLIN
        for fd in writes:
            masks[fd] = masks.get(fd, 0) | select.POLLOUT
        p = _poll()
        for fd, mask in masks.items():
            try:
                p.register(fd, mask)
            except (OSError, ValueError, TypeError):
                return b"1"  # a descriptor it cannot wait on: the call fails at once
        return b"1" if finite or p.poll(0) else b"0"

    def forked(self, pid: int) -> None:
        if pid > 0 and _getpid() == self.pid:
            self.forks += 1
            self.children += 1


GATE: Gate | None = None


def install_from_environment(record_into: Callable[[str], None]) -> None:
    """Gate this process when the explorer started it; virtual time for `time.sleep`.

    With `IPCTRACE_EXPLORE_ZYGOTE` set the process first serves as the explorer's fork server: the
    interpreter starts once, and each run is a fork of it made before the program's first line, its
    recording pointed at that run's folder (`record_into`).
    """
    global GATE
    address = os.environ.get(ENV_EXPLORE)
    if not address:
        return
    import ipctrace.record.layout as L
    import ipctrace.record.wrap_process as wrap_process
    from ipctrace.record.log import ThreadLog

    try:
        visible = frozenset(int(x) for x in os.environ.get(ENV_CALLS, "").split(",") if x)
    except ValueError:
        return
    whole = frozenset({L.CALL_IDS["fork"], L.CALL_IDS["exit"]})
    gate = Gate(address, visible, os.environ.get(ENV_PATH, "main"), whole)
    GATE = gate
    ThreadLog.GATE = gate
    wrap_process.virtual_time()
    if os.environ.pop(ENV_ZYGOTE, None):
        folder = _serve_forks(address, wrap_process.ORIGINALS["fork"])
        os.environ["IPCTRACE_LOGS"] = folder
        record_into(folder)  # a fresh recorder (wrappers installed anew) writing into this run's folder
    _count_forks(gate)


def _count_forks(gate: Gate) -> None:
    inner = os.fork

    def fork() -> int:
        pid = inner()
        gate.forked(pid)
        return pid

    os.fork = fork


def _serve_forks(address: str, fork: Callable[[], int]) -> str:
    """The fork server's loop: `N <folder>` makes one run's process, answered `P <pid>`; returns in that process.

    A descriptor passed with the `N` line (SCM_RIGHTS) becomes that process's standard input: the
    read end of the pipe through which the explorer types a role's scripted lines.
    """
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    sock.connect(address)
    sock.sendall(f"Z {_getpid()}\n".encode())
    # What the interpreter and the recorder made so far is never garbage: frozen, the collector of each run
    # never walks it (nor copies its pages after the fork, nor at the run's exit): about a fifth of a run's time.
    gc.freeze()
    buf = b""
    stdin = -1
    while True:
        while b"\n" not in buf:
            got, ancillary, _, _ = sock.recvmsg(4096, _socket.CMSG_SPACE(4))
            if not got:
                _exit(0)
            for level, kind, data in ancillary:
                if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS and len(data) >= 4:
                    stdin = int.from_bytes(data[:4], "little" if _LITTLE else "big")
            buf += got
        line, _, buf = buf.partition(b"\n")
        _reap()
        pid = fork()
        if pid == 0:
            sock.close()
            os.setpgid(0, 0)  # the run is its own process group: stopping it leaves the server
            if stdin >= 0:
                _dup2(stdin, 0)
                _close(stdin)
            return line[2:].decode()
        if stdin >= 0:
            _close(stdin)
            stdin = -1
        sock.sendall(f"P {pid}\n".encode())


def _reap() -> None:
    while True:
        try:
            pid, _ = _waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
