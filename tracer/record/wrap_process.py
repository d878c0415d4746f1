"""Wrappers of process life: fork, exec and spawn, wait, kill, exit, sleep, the uncaught exception.

Starting another program is noticed by wrapping the entry points themselves (`os.execv`,
`os.execve`, `os.posix_spawn[p]`, `os.system`, `_posixsubprocess.fork_exec`), not by an audit
hook: with any audit hook installed, every `sys._getframe` (which each record's call site needs)
raises an audit event into it (benchmarks/RESULTS.md).
"""

from __future__ import annotations

import os
import sys
import time
import types

import ipctrace.record.core as core
import ipctrace.record.layout as L

TYPE_CHECKING = False  # typing is not imported at run time: every traced process would pay for it
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

try:
    import _posixsubprocess
except ImportError:  # not on this platform
    _posixsubprocess = None  # type: ignore[assignment]

_ID = L.CALL_IDS
_RECORDER_DIR = os.path.dirname(os.path.abspath(__file__))

ORIGINALS: dict[str, Callable[..., Any]] = {
    name: getattr(os, name)
    for name in ("fork", "wait", "waitpid", "kill", "_exit", "execv", "execve", "posix_spawn", "posix_spawnp", "system")
    if hasattr(os, name)
}
_sleep = time.sleep
_fork_exec = getattr(_posixsubprocess, "fork_exec", None)
_orig_excepthook = sys.excepthook
_uncaught = [False]  # set when the program dies of an exception: its exit is not a plain return
_POST = 64


def fork():
    lg = core.log()
    pos, alen = core.begin(lg, _ID["fork"], -1, None, _POST, L.F_RES)
    try:
        pid = ORIGINALS["fork"]()
    except BaseException as exc:
        core.end(lg, pos, alen, _POST, exc=exc, what="os.fork")
        raise
    if pid == 0:
        return 0  # the child recorded its own start in after_fork_in_child; the parent's record is not its own
    post: dict[str, Any] = {"res": pid}
    core.end(lg, pos, alen, _POST, res=pid, post=post, what="os.fork")
    return pid


def after_fork_in_child() -> None:
    rec = core.REC
    if rec is None:
        return
    rec.refresh()
    core.point(_ID["start"], {"args": {"how": "fork"}})


def wait():
    lg = core.log()
    pos, alen = core.begin(lg, _ID["wait"], -1, None, _POST)
    try:
        pid, status = ORIGINALS["wait"]()
    except BaseException as exc:
        core.end(lg, pos, alen, _POST, exc=exc, what="os.wait")
        raise
    core.end(lg, pos, alen, _POST, post={"res": [pid, status]}, what="os.wait")  # assemble decodes the status
    return pid, status


def waitpid(pid, options, /):
    lg = core.log()
    pos, alen = core.begin(lg, _ID["waitpid"], -1, {"args": {"pid": pid, "options": options}}, _POST)
    try:
        got, status = ORIGINALS["waitpid"](pid, options)
    except BaseException as exc:
        core.end(lg, pos, alen, _POST, exc=exc, what="os.waitpid")
        raise
    core.end(lg, pos, alen, _POST, post={"res": [got, status]}, what="os.waitpid")
    return got, status


def kill(pid, sig, /):
    lg = core.log()
    pos, alen = core.begin(
        lg, _ID["kill"], -1, {"args": {"pid": pid, "sig": int(sig) if isinstance(sig, int) else None}}
    )
    try:
        ORIGINALS["kill"](pid, sig)
    except BaseException as exc:
        core.end(lg, pos, alen, 0, exc=exc, what="os.kill")
        raise
    core.end(lg, pos, alen, 0, what="os.kill")


def _exit(status, /):
    core.point(_ID["exit"], {"args": {"how": "_exit"}, "res": status if isinstance(status, int) else None})
    ORIGINALS["_exit"](status)


def _number(value: object) -> float | None:
    """A number as JSON; anything else (a program's mistake, raised by the call itself) as null."""
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def virtual_time() -> None:
    """Under the explorer (gate.py) a sleep is only a point where other processes may run: it returns at once."""
    global _sleep
    _sleep = _no_sleep


def _no_sleep(seconds: Any) -> None:
    if seconds < 0:
        raise ValueError("sleep length must be non-negative")


def sleep(seconds, /):
    lg = core.log()
    pos, alen = core.begin(lg, _ID["sleep"], -1, {"args": {"seconds": _number(seconds)}}, _POST)
    try:
        _sleep(seconds)
    except BaseException as exc:
        core.end(lg, pos, alen, _POST, exc=exc, what="time.sleep")
        raise
    core.end(lg, pos, alen, _POST, what="time.sleep")


# -- starting other programs ----------------------------------------------------------------------


def _argv(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [os.fsdecode(a) if isinstance(a, (str, bytes)) else str(a) for a in value]
    return str(value)


def _started(call: str, how: str, executable: Any, argv: Any) -> None:
    exe = os.fsdecode(executable) if isinstance(executable, (str, bytes, os.PathLike)) else str(executable)
    core.point(_ID[call], {"args": {"how": how, "executable": exe, "argv": _argv(argv)}}, depth=2)


def _failed_start(call: str, how: str, exc: BaseException) -> None:
    lg = core.log()
    pos, alen = core.begin(lg, _ID[call], -1, {"args": {"how": how}}, _POST, depth=2)
    core.end(lg, pos, alen, _POST, exc=exc, what=how)


def execv(path, argv, /):
    _started("exec", "exec", path, argv)
    try:
        ORIGINALS["execv"](path, argv)
    except BaseException as exc:
        _failed_start("exec", "exec", exc)
        raise


def execve(path, argv, env):
    _started("exec", "exec", path, argv)
    try:
        ORIGINALS["execve"](path, argv, env)
    except BaseException as exc:
        _failed_start("exec", "exec", exc)
        raise


def _spawner(name: str) -> Callable[..., Any]:
    orig = ORIGINALS[name]

    def spawn(path, argv, env, **kw):
        _started("spawn", "posix_spawn", path, argv)
        try:
            return orig(path, argv, env, **kw)
        except BaseException as exc:
            _failed_start("spawn", "posix_spawn", exc)
            raise

    return spawn


def system(command):
    core.point(
        _ID["spawn"],
        {
            "args": {
                "how": "system",
                "command": os.fsdecode(command) if isinstance(command, (str, bytes)) else str(command),
            }
        },
    )
    return ORIGINALS["system"](command)


def fork_exec(args, executable_list, *rest):
    """subprocess's own fork+exec: one `spawn` (its exec-error pipe is subprocess's plumbing, not recorded)."""
    exe = executable_list[0] if isinstance(executable_list, (list, tuple)) and executable_list else executable_list
    _started("spawn", "popen", exe, args)
    assert _fork_exec is not None
    return _fork_exec(args, executable_list, *rest)


# -- the start and the end of the process ---------------------------------------------------------


def record_start() -> None:
    core.point(_ID["start"], {"args": {"how": "exec", "argv": _argv(list(sys.orig_argv)), "cwd": os.getcwd()}})


def on_exit(flush: Callable[[], None]) -> Callable[[], None]:
    def at_exit() -> None:
        flush()
        core.point(_ID["exit"], {"args": {"how": "exception" if _uncaught[0] else "return"}})

    return at_exit


def _without_recorder_frames(tb: types.TracebackType | None) -> types.TracebackType | None:
    """The traceback the program would have had untraced: the wrappers' own frames left out."""
    kept = []
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if os.path.dirname(name) != _RECORDER_DIR:
            kept.append(tb)
        tb = tb.tb_next
    rebuilt = None
    for entry in reversed(kept):
        rebuilt = types.TracebackType(rebuilt, entry.tb_frame, entry.tb_lasti, entry.tb_lineno)
    return rebuilt


def excepthook(exc_type, exc, tb):
    _uncaught[0] = True
    try:
        core.point(_ID["exception"], {"args": {"type": exc_type.__name__, "message": str(exc)}})
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


def wrappers() -> dict[str, Callable[..., Any]]:
    made: dict[str, Callable[..., Any]] = dict(
        fork=fork, wait=wait, waitpid=waitpid, kill=kill, _exit=_exit, execv=execv, execve=execve, system=system
    )
    for name in ("posix_spawn", "posix_spawnp"):
        if name in ORIGINALS:
            made[name] = _spawner(name)
    return {name: fn for name, fn in made.items() if name in ORIGINALS}
