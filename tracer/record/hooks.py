"""Wrappers around `os`, `socket`, `time.sleep` and the standard streams.

Every patch is made and undone in one place (`install` / `uninstall`), the
way viztracer does it. A wrapper calls the original, records one event when
the call returns (or raises), and hands back exactly what the original gave:
same value, same exception object, same blocking. Recording never raises into
the program: if the trace file goes away, recording stops and the program
goes on.
"""

from __future__ import annotations

import atexit
import builtins
import errno as _errno
import functools
import importlib.util
import io
import os
import socket
import sys
import time
import types
from collections.abc import Callable
from typing import Any

from ipctrace.record.writer import ENV_SCHEDULE, NULL_WRITER, Writer, now, socket_kind

_writer: Writer = NULL_WRITER
_fork_hook_registered = False
_patches: list[tuple[object, str, object, bool]] = []  # (owner, name, original, had_own_attribute)

_orig_os = {
    name: getattr(os, name)
    for name in (
        "pipe",
        "pipe2",
        "fork",
        "read",
        "write",
        "close",
        "dup",
        "dup2",
        "wait",
        "waitpid",
        "_exit",
        "kill",
    )
    if hasattr(os, name)
}
_orig_sleep = time.sleep
_Socket = socket.socket
_orig_socketpair = socket.socketpair
_orig_fromfd = socket.fromfd
_orig_input = builtins.input


#: Library code whose private plumbing is not the program's IPC: the exec-error pipe subprocess opens, reads
#: and closes while it starts a program. Its pipes to the child's stdin/stdout are real IPC and are recorded.
#: Found by name, not imported: a traced program that never starts another one does not pay for subprocess.
_PLUMBING_FILES = frozenset(
    spec.origin for spec in (importlib.util.find_spec("subprocess"),) if spec is not None and spec.origin
)
_PLUMBING_FUNCTIONS = frozenset({"_execute_child"})
_getframe = sys._getframe


def _plumbing() -> bool:
    """Was the wrapped call made by library plumbing (two frames up: the wrapper's caller)?"""
    code = _getframe(2).f_code
    return code.co_name in _PLUMBING_FUNCTIONS and code.co_filename in _PLUMBING_FILES


def _error_name(exc: BaseException) -> str:
    code = getattr(exc, "errno", None)
    if isinstance(code, int) and code in _errno.errorcode:
        return _errno.errorcode[code]
    return type(exc).__name__


def _err(exc: BaseException) -> str:
    return ',"err":"%s"' % _error_name(exc)


def _addr(address: Any) -> str:
    """A socket address as JSON: `["host", port]` for IP, `"path"` for Unix (abstract names start with @)."""
    if isinstance(address, tuple) and len(address) >= 2:
        return '["%s",%d]' % (address[0], address[1])
    if isinstance(address, (bytes, bytearray)):
        address = bytes(address)
        address = (
            "@" + address[1:].decode("utf-8", "backslashreplace")
            if address[:1] == b"\0"
            else (address.decode("utf-8", "backslashreplace"))
        )
    if isinstance(address, str):
        if address.startswith("\0"):
            address = "@" + address[1:]
        return '"%s"' % address.replace("\\", "\\\\").replace('"', '\\"')
    return "null"


def _sock_fields(sock: socket.socket, local: bool = True, peer: bool = False) -> str:
    out = ""
    if local:
        try:
            out += ',"local":' + _addr(sock.getsockname())
        except OSError:
            pass
    if peer:
        try:
            out += ',"peer":' + _addr(sock.getpeername())
        except OSError:
            pass
    return out


def _sock_ep(sock: socket.socket) -> str:
    w = _writer
    try:
        fd = sock.fileno()
    except OSError:
        return ""
    if fd < 0:
        return ',"fd":-1'
    return ',"fd":%d%s' % (fd, w.endpoint(fd))  # the kind is probed once per inode, then cached


# -- os --------------------------------------------------------------------------------------------


def _wrap_os() -> dict[str, Callable]:
    o = _orig_os

    def pipe():
        if _plumbing():
            return o["pipe"]()
        t0 = now()
        r, w = o["pipe"]()
        _writer.emit("pipe", t0, now(), ',"res":[%d,%d]%s' % (r, w, _writer.endpoint(r, "pipe")))
        return r, w

    def pipe2(flags, /):
        if _plumbing():
            return o["pipe2"](flags)
        t0 = now()
        r, w = o["pipe2"](flags)
        _writer.emit(
            "pipe2", t0, now(), ',"args":{"flags":%d},"res":[%d,%d]%s' % (flags, r, w, _writer.endpoint(r, "pipe"))
        )
        return r, w

    def read(fd, n, /):
        if _plumbing():
            return o["read"](fd, n)
        t0 = now()
        try:
            data = o["read"](fd, n)
        except BaseException as exc:
            _writer.emit("read", t0, now(), ',"fd":%d%s,"args":{"n":%d}%s' % (fd, _writer.endpoint(fd), n, _err(exc)))
            raise
        _writer.data_event("read", fd, t0, now(), n, len(data), data)
        return data

    def write(fd, data, /):
        if _plumbing():
            return o["write"](fd, data)
        t0 = now()
        try:
            size = o["write"](fd, data)
        except BaseException as exc:
            _writer.emit(
                "write",
                t0,
                now(),
                ',"fd":%d%s,"args":{"n":%d}%s' % (fd, _writer.endpoint(fd), len(memoryview(data)), _err(exc)),
            )
            raise
        _writer.data_event("write", fd, t0, now(), len(memoryview(data)), size, data)
        return size

    def close(fd, /):
        if _plumbing():
            return o["close"](fd)
        ep = _writer.endpoint(fd)
        t0 = now()
        try:
            o["close"](fd)
        except BaseException as exc:
            _writer.emit("close", t0, now(), ',"fd":%d%s' % (fd, _err(exc)))
            raise
        _writer.emit("close", t0, now(), ',"fd":%d%s' % (fd, ep))

    def dup(fd, /):
        if _plumbing():
            return o["dup"](fd)
        t0 = now()
        try:
            new = o["dup"](fd)
        except BaseException as exc:
            _writer.emit("dup", t0, now(), ',"fd":%d%s' % (fd, _err(exc)))
            raise
        _writer.emit("dup", t0, now(), ',"fd":%d%s,"res":%d' % (fd, _writer.endpoint(fd), new))
        return new

    def dup2(fd, fd2, inheritable=True):
        if _plumbing():
            return o["dup2"](fd, fd2, inheritable)
        t0 = now()
        try:
            new = o["dup2"](fd, fd2, inheritable)
        except BaseException as exc:
            _writer.emit("dup2", t0, now(), ',"fd":%d,"args":{"fd2":%d}%s' % (fd, fd2, _err(exc)))
            raise
        _writer.emit("dup2", t0, now(), ',"fd":%d%s,"args":{"fd2":%d},"res":%d' % (fd, _writer.endpoint(fd), fd2, new))
        return new

    def fork():
        t0 = now()
        try:
            pid = o["fork"]()
        except BaseException as exc:
            _writer.emit("fork", t0, now(), _err(exc))
            raise
        if pid == 0:
            return 0  # the child recorded its own start in _after_fork_in_child
        extra = ""
        if os.environ.get(ENV_SCHEDULE) == "child-first":
            # A scenario asked to force one interleaving: the parent resumes once the child has ended.
            try:
                os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
            except OSError:
                pass
            extra = ',"args":{"schedule":"child-first"}'
        _writer.emit("fork", t0, now(), ',"res":%d%s' % (pid, extra))
        return pid

    def wait():
        t0 = now()
        try:
            pid, status = o["wait"]()
        except BaseException as exc:
            _writer.emit("wait", t0, now(), _err(exc))
            raise
        _writer.emit("wait", t0, now(), ',"res":[%d,%d]' % (pid, status))  # assemble decodes the status
        return pid, status

    def waitpid(pid, options, /):
        t0 = now()
        try:
            got, status = o["waitpid"](pid, options)
        except BaseException as exc:
            _writer.emit("waitpid", t0, now(), ',"args":{"pid":%d,"options":%d}%s' % (pid, options, _err(exc)))
            raise
        _writer.emit(
            "waitpid", t0, now(), ',"args":{"pid":%d,"options":%d},"res":[%d,%d]' % (pid, options, got, status)
        )
        return got, status

    def _exit(status, /):
        t = now()
        _writer.emit("exit", t, t, ',"args":{"how":"_exit"},"res":%d' % status)
        o["_exit"](status)

    def kill(pid, sig, /):
        t0 = now()
        try:
            o["kill"](pid, sig)
        except BaseException as exc:
            _writer.emit("kill", t0, now(), ',"args":{"pid":%d,"sig":%d}%s' % (pid, sig, _err(exc)))
            raise
        _writer.emit("kill", t0, now(), ',"args":{"pid":%d,"sig":%d}' % (pid, sig))

    wrappers = dict(
        pipe=pipe,
        pipe2=pipe2,
        read=read,
        write=write,
        close=close,
        dup=dup,
        dup2=dup2,
        fork=fork,
        wait=wait,
        waitpid=waitpid,
        _exit=_exit,
        kill=kill,
    )
    return {name: fn for name, fn in wrappers.items() if name in o}


def _after_fork_in_child() -> None:
    w = _writer
    w.refresh_pid()
    t = now()
    w.emit("start", t, t, ',"args":{"how":"fork"}')


# -- socket ----------------------------------------------------------------------------------------


def _wrap_socket_methods() -> dict[str, Callable]:
    S = _Socket
    orig = {
        name: getattr(S, name)
        for name in (
            "__init__",
            "bind",
            "listen",
            "accept",
            "connect",
            "connect_ex",
            "send",
            "sendall",
            "sendto",
            "sendmsg",
            "recv",
            "recv_into",
            "recvfrom",
            "recvfrom_into",
            "recvmsg",
            "shutdown",
            "close",
            "setsockopt",
        )
    }

    def __init__(self, family=-1, type=-1, proto=-1, fileno=None):
        if fileno is not None:  # accept(), socketpair(), fromfd() wrap fds they record themselves
            orig["__init__"](self, family, type, proto, fileno)
            return
        t0 = now()
        try:
            orig["__init__"](self, family, type, proto, fileno)
        except BaseException as exc:
            _writer.emit("socket", t0, now(), ',"args":{"family":%d,"type":%d}%s' % (int(family), int(type), _err(exc)))
            raise
        _writer.emit(
            "socket",
            t0,
            now(),
            ',"args":{"family":%d,"type":%d,"proto":%d},"res":%d%s'
            % (self.family, self.type, self.proto, self.fileno(), _sock_ep(self)),
        )

    def bind(self, address, /):
        t0 = now()
        try:
            orig["bind"](self, address)
        except BaseException as exc:
            _writer.emit("bind", t0, now(), '%s,"args":{"addr":%s}%s' % (_sock_ep(self), _addr(address), _err(exc)))
            raise
        _writer.emit(
            "bind", t0, now(), '%s,"args":{"addr":%s}%s' % (_sock_ep(self), _addr(address), _sock_fields(self))
        )

    def listen(self, *backlog):
        t0 = now()
        try:
            orig["listen"](self, *backlog)
        except BaseException as exc:
            _writer.emit("listen", t0, now(), _sock_ep(self) + _err(exc))
            raise
        args = ',"args":{"backlog":%d}' % backlog[0] if backlog else ""
        _writer.emit("listen", t0, now(), _sock_ep(self) + args + _sock_fields(self))

    def accept(self):
        t0 = now()
        try:
            conn, address = orig["accept"](self)
        except BaseException as exc:
            _writer.emit("accept", t0, now(), _sock_ep(self) + _err(exc))
            raise
        t1 = now()
        kind = socket_kind(conn.family, conn.type)
        _writer.emit(
            "accept",
            t0,
            t1,
            '%s,"res":%d,"ep2":%s%s'
            % (
                _sock_ep(self),
                conn.fileno(),
                _writer.endpoint(conn.fileno(), kind)[6:] or "null",
                _sock_fields(conn, local=True, peer=True),
            ),
        )
        return conn, address

    def _connect(name):
        def connect(self, address, /):
            t0 = now()
            try:
                result = orig[name](self, address)
            except BaseException as exc:
                _writer.emit(
                    name,
                    t0,
                    now(),
                    '%s,"args":{"addr":%s}%s%s' % (_sock_ep(self), _addr(address), _sock_fields(self), _err(exc)),
                )
                raise
            res = ',"res":%d' % result if name == "connect_ex" else ""
            if result:
                res += ',"err":"%s"' % _errno.errorcode.get(result, str(result))
            _writer.emit(
                name,
                t0,
                now(),
                '%s,"args":{"addr":%s}%s%s'
                % (_sock_ep(self), _addr(address), res, _sock_fields(self, local=True, peer=not result)),
            )
            return result

        return connect

    def _sender(name):
        def sender(self, data, *rest):
            if name == "sendmsg":
                data = list(data)
            t0 = now()
            try:
                result = orig[name](self, data, *rest)
            except BaseException as exc:
                _writer.emit(name, t0, now(), _sock_ep(self) + _err(exc))
                raise
            t1 = now()
            if name == "sendall":
                size = len(memoryview(data))
            elif name == "sendmsg":
                size = result
                data = b"".join(bytes(b) for b in data)  # type: ignore[union-attr]
            else:
                size = result
            body = _sock_ep(self) + ',"args":{"n":%d},"res":%s' % (
                len(memoryview(data)),
                "null" if result is None else result,
            )
            if name == "sendto":
                body += ',"peer":%s' % _addr(rest[-1]) + _sock_fields(self)
            _writer.emit(name, t0, t1, body + _writer.payload(data, size))
            return result

        return sender

    def _receiver(name):
        def receiver(self, arg, *rest):
            t0 = now()
            try:
                result = orig[name](self, arg, *rest)
            except BaseException as exc:
                _writer.emit(name, t0, now(), _sock_ep(self) + _err(exc))
                raise
            t1 = now()
            address = None
            if name == "recv_into":
                data, size = arg, result
            elif name == "recvfrom":
                data, address = result
                size = len(data)
            elif name == "recvfrom_into":
                size, address = result
                data = arg
            else:  # recvmsg
                data, _anc, _flags, address = result
                size = len(data)
            body = _sock_ep(self) + ',"args":{"n":%d},"res":%d' % (
                arg if isinstance(arg, int) else len(memoryview(arg)),
                size,
            )
            if address is not None:
                body += ',"peer":' + _addr(address) + _sock_fields(self)
            _writer.emit(name, t0, t1, body + _writer.payload(data, size))
            return result

        return receiver

    def shutdown(self, how, /):
        t0 = now()
        try:
            orig["shutdown"](self, how)
        except BaseException as exc:
            _writer.emit("shutdown", t0, now(), '%s,"args":{"how":%d}%s' % (_sock_ep(self), how, _err(exc)))
            raise
        _writer.emit("shutdown", t0, now(), '%s,"args":{"how":%d}' % (_sock_ep(self), how))

    def close(self):
        fd = self.fileno()
        if fd < 0 or getattr(self, "_io_refs", 0) > 0:
            return orig["close"](self)
        ep = _sock_ep(self)
        t0 = now()
        result = orig["close"](self)
        _writer.emit("close", t0, now(), ep)
        return result

    def setsockopt(self, level, optname, value, *rest):
        t0 = now()
        try:
            result = orig["setsockopt"](self, level, optname, value, *rest)
        except BaseException as exc:
            _writer.emit("setsockopt", t0, now(), _sock_ep(self) + _err(exc))
            raise
        shown = value if isinstance(value, int) else None
        _writer.emit(
            "setsockopt",
            t0,
            now(),
            '%s,"args":{"level":%d,"opt":%d,"value":%s}'
            % (_sock_ep(self), level, optname, "null" if shown is None else shown),
        )
        return result

    wrappers: dict[str, Callable] = dict(
        __init__=__init__,
        bind=bind,
        listen=listen,
        accept=accept,
        connect=_connect("connect"),
        connect_ex=_connect("connect_ex"),
        shutdown=shutdown,
        close=close,
        setsockopt=setsockopt,
    )

    def send(self, data, *rest):  # the hot path of socket programs: one function, no helpers
        t0 = now()
        try:
            size = orig["send"](self, data, *rest)
        except BaseException as exc:
            _writer.emit("send", t0, now(), _sock_ep(self) + _err(exc))
            raise
        _writer.data_event("send", self.fileno(), t0, now(), len(memoryview(data)), size, data)
        return size

    def recv(self, n, *rest):
        t0 = now()
        try:
            data = orig["recv"](self, n, *rest)
        except BaseException as exc:
            _writer.emit("recv", t0, now(), _sock_ep(self) + _err(exc))
            raise
        _writer.data_event("recv", self.fileno(), t0, now(), n, len(data), data)
        return data

    for name in ("sendall", "sendto", "sendmsg"):
        wrappers[name] = _sender(name)
    for name in ("recv_into", "recvfrom", "recvfrom_into", "recvmsg"):
        wrappers[name] = _receiver(name)
    wrappers.update(send=send, recv=recv)
    return wrappers


def _socketpair(*args, **kwargs):
    t0 = now()
    try:
        a, b = _orig_socketpair(*args, **kwargs)
    except BaseException as exc:
        _writer.emit("socketpair", t0, now(), _err(exc))
        raise
    kind = socket_kind(a.family, a.type)
    ep_b = _writer.endpoint(b.fileno(), kind)
    _writer.emit(
        "socketpair",
        t0,
        now(),
        ',"res":[%d,%d],"fd":%d%s,"ep2":%s'
        % (a.fileno(), b.fileno(), a.fileno(), _writer.endpoint(a.fileno(), kind), ep_b[6:] or "null"),
    )
    return a, b


def _fromfd(fd, family, type, proto=0):
    t0 = now()
    sock = _orig_fromfd(fd, family, type, proto)
    _writer.emit("fromfd", t0, now(), ',"args":{"fd":%d},"res":%d%s' % (fd, sock.fileno(), _sock_ep(sock)))
    return sock


# -- time, stdin, stdout ---------------------------------------------------------------------------


def _sleep(seconds, /):
    t0 = now()
    try:
        _orig_sleep(seconds)
    except BaseException as exc:
        _writer.emit("sleep", t0, now(), ',"args":{"seconds":%s}%s' % (_number(seconds), _err(exc)))
        raise
    _writer.emit("sleep", t0, now(), ',"args":{"seconds":%s}' % _number(seconds))


def _number(value: object) -> str:
    """A number as JSON; anything else (a program's mistake, raised by the call itself) as null."""
    return repr(float(value)) if isinstance(value, (int, float)) and not isinstance(value, bool) else "null"


class _TracedOutput(io.TextIOWrapper):
    """The program's stdout/stderr, recording each printed line when it is written."""

    def _ipctrace_init(self, call: str, fd: int) -> None:
        self._call, self._fd, self._pending, self._t0 = call, fd, "", 0

    def write(self, text):
        n = super().write(text)
        try:
            if not self._pending:
                self._t0 = now()
            self._pending += text
            if "\n" in text:
                *lines, self._pending = self._pending.split("\n")
                for line in lines:
                    self._record(line + "\n")
        except Exception:
            pass
        return n

    def flush(self):
        super().flush()
        if getattr(self, "_pending", ""):
            self._record(self._pending)
            self._pending = ""

    def _record(self, text: str) -> None:
        if not _writer.enabled:
            return
        data = text.encode("utf-8", "backslashreplace")
        _writer.emit(self._call, self._t0, now(), ',"fd":%d%s' % (self._fd, _writer.payload(data, len(data))))
        self._t0 = now()


class _TracedInput(io.TextIOWrapper):
    """The program's stdin, recording each line or block it reads."""

    def readline(self, size=-1):
        _flush_outputs()
        t0 = now()
        _announce_stdin_wait(t0, "line")
        line = super().readline(size)
        _record_stdin(t0, line)
        return line

    def read(self, size=-1):
        _flush_outputs()
        t0 = now()
        _announce_stdin_wait(t0, "all" if size is None or size < 0 else "line")
        text = super().read(size)
        _record_stdin(t0, text)
        return text

    def __next__(self):
        line = self.readline()
        if not line:
            raise StopIteration
        return line


_in_input = [False]


def _announce_stdin_wait(t0: int, want: str) -> None:
    """A marker that the program now waits for input (dropped from the final trace)."""
    if not _in_input[0]:
        _writer.emit("stdin-wait", t0, t0, ',"fd":0,"args":{"want":"%s"}' % want)


def _record_stdin(t0: int, text: str) -> None:
    if _in_input[0]:
        return
    data = text.encode("utf-8", "backslashreplace")
    _writer.emit("stdin", t0, now(), ',"fd":0%s' % _writer.payload(data, len(data)))


def _input(*prompt):
    if prompt:
        sys.stdout.write(str(prompt[0]))
    _flush_outputs()
    t0 = now()
    _announce_stdin_wait(t0, "line")
    _in_input[0] = True
    try:
        line = _orig_input()
    except EOFError:
        _in_input[0] = False
        _writer.emit("stdin", t0, now(), ',"fd":0,"err":"EOFError","size":0,"data":""')
        raise
    finally:
        _in_input[0] = False
    _record_stdin(t0, line + "\n")
    return line


def _flush_outputs() -> None:
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, _TracedOutput):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass


def _rewrap(stream: Any, cls: type, call: str | None = None) -> Any:
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


# -- install / uninstall ---------------------------------------------------------------------------


def _patch(owner: object, name: str, replacement: object) -> None:
    had_own = name in vars(owner) if isinstance(owner, type) else True
    original = getattr(owner, name)
    _patches.append((owner, name, original, had_own))
    if isinstance(replacement, types.FunctionType) and callable(original):
        functools.update_wrapper(replacement, original)  # same __name__, __doc__; __wrapped__ is the original
    setattr(owner, name, replacement)


_uncaught = [False]  # set when the program dies of an exception: its exit is not a plain return


def _on_exit() -> None:
    _flush_outputs()
    t = now()
    _writer.emit("exit", t, t, ',"args":{"how":"%s"}' % ("exception" if _uncaught[0] else "return"))


_orig_excepthook = sys.excepthook


def _without_recorder_frames(tb: types.TracebackType | None) -> types.TracebackType | None:
    """The traceback the program would have had untraced: the wrappers' own frames left out."""
    kept = []
    while tb is not None:
        if tb.tb_frame.f_code.co_filename != __file__:
            kept.append(tb)
        tb = tb.tb_next
    rebuilt = None
    for entry in reversed(kept):
        rebuilt = types.TracebackType(rebuilt, entry.tb_frame, entry.tb_lasti, entry.tb_lineno)
    return rebuilt


def _excepthook(exc_type, exc, tb):
    t = now()
    _uncaught[0] = True
    try:
        _writer.emit_fields("exception", t, t, {"args": {"type": exc_type.__name__, "message": str(exc)}})
        seen = set()
        link = exc
        while link is not None and id(link) not in seen:
            seen.add(id(link))
            link.__traceback__ = _without_recorder_frames(link.__traceback__)
            link = link.__cause__ or link.__context__
        tb = exc.__traceback__
    except Exception:
        pass
    _orig_excepthook(exc_type, exc, tb)


_AUDITED = frozenset({"subprocess.Popen", "os.posix_spawn", "os.exec", "os.system"})
_audit_hook_added = False


def _audit(event: str, args: tuple) -> None:
    """Starting another program is not a wrapped call; the audit hook (PEP 578) notices it."""
    if event not in _AUDITED or not _writer.enabled:
        return
    try:
        if event == "os.system":
            fields = {"args": {"how": "system", "command": str(args[0])}}
        else:
            argv = args[1] if len(args) > 1 else ()
            fields = {
                "args": {
                    "how": event.split(".")[-1].lower(),
                    "executable": str(args[0]),
                    "argv": [str(a) for a in argv] if isinstance(argv, (list, tuple)) else str(argv),
                }
            }
        t = now()
        _writer.emit_fields("exec" if event == "os.exec" else "spawn", t, t, fields)
    except Exception:
        pass


def install(writer: Writer) -> None:
    """Install every hook (after removing any installed before) and record this process's start."""
    global _writer, _fork_hook_registered
    uninstall()
    _writer = writer
    for name, fn in _wrap_os().items():
        _patch(os, name, fn)
    for name, fn in _wrap_socket_methods().items():
        _patch(_Socket, name, fn)
    _patch(socket, "socketpair", _socketpair)
    _patch(socket, "fromfd", _fromfd)
    _patch(time, "sleep", _sleep)
    _patch(builtins, "input", _input)
    _patch(sys, "stdin", _rewrap(sys.stdin, _TracedInput))
    _patch(sys, "stdout", _rewrap(sys.stdout, _TracedOutput, "stdout"))
    _patch(sys, "stderr", _rewrap(sys.stderr, _TracedOutput, "stderr"))
    _patch(sys, "excepthook", _excepthook)
    if not _fork_hook_registered:  # register_at_fork and audit hooks cannot be undone: add them once
        os.register_at_fork(after_in_child=_after_fork_in_child)
        sys.addaudithook(_audit)
        _fork_hook_registered = True
    atexit.register(_on_exit)
    t = now()
    writer.emit_fields("start", t, t, {"args": {"how": "exec", "argv": list(sys.orig_argv), "cwd": os.getcwd()}})


def uninstall() -> None:
    """Put back every original; recording stops."""
    global _writer
    for owner, name, original, had_own in reversed(_patches):
        if had_own:
            setattr(owner, name, original)
        else:
            delattr(owner, name)
    _patches.clear()
    atexit.unregister(_on_exit)
    _writer = NULL_WRITER
