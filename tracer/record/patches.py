"""Every patch the recorder makes, made and undone in one place (the way viztracer's patch registry does).

`install` always uninstalls first; `uninstall` puts back every original object (identity, not
equality), so a test can check that nothing is left behind.
"""

from __future__ import annotations

import atexit
import builtins
import functools
import io
import os
import select
import socket
import sys
import time
import types

import ipctrace.record.core as core
import ipctrace.record.settle as settle
import ipctrace.record.wrap_io as wrap_io
import ipctrace.record.wrap_os as wrap_os
import ipctrace.record.wrap_process as wrap_process
import ipctrace.record.wrap_select as wrap_select
import ipctrace.record.wrap_socket as wrap_socket
import ipctrace.record.wrap_socket_data as wrap_socket_data
from ipctrace.record.log import Recorder

_patches: list[tuple[object, str, object, bool]] = []  # (owner, name, original, had_own_attribute)
_fork_hook_registered = False


def _before_exit() -> None:
    """What the program wrote goes out, and the calls other threads have made are recorded as ended."""
    wrap_io.flush_outputs()
    rec = core.REC
    if rec is not None:
        try:
            settle.other_threads(rec)
        except Exception:
            core.problem(core.log(), "could not wait for other threads' calls at exit")
        except BaseException:  # a signal's KeyboardInterrupt while waiting: the exit is recorded all the same
            pass


_at_exit = wrap_process.on_exit(_before_exit)


def _patch(owner: object, name: str, replacement: object) -> None:
    had_own = name in vars(owner) if isinstance(owner, type) else True
    original = getattr(owner, name)
    _patches.append((owner, name, original, had_own))
    if isinstance(replacement, types.FunctionType) and callable(original):
        try:
            functools.update_wrapper(replacement, original)  # same __name__, __doc__; __wrapped__ is the original
        except (AttributeError, TypeError):
            pass
    setattr(owner, name, replacement)


def _fork_in_child() -> None:
    wrap_process.after_fork_in_child()


def install(recorder: Recorder) -> None:
    """Install every wrapper (after removing any installed before) and record this process's start."""
    global _fork_hook_registered
    uninstall()
    core.REC = recorder
    for name, fn in wrap_os.wrappers().items():
        _patch(os, name, fn)
    for name, fn in wrap_process.wrappers().items():
        _patch(os, name, fn)
    if wrap_process._posixsubprocess is not None and wrap_process._fork_exec is not None:
        _patch(wrap_process._posixsubprocess, "fork_exec", wrap_process.fork_exec)
    for name, fn in (wrap_socket.method_wrappers() | wrap_socket_data.method_wrappers()).items():
        _patch(socket.socket, name, fn)
    for name, fn in wrap_socket.module_wrappers().items():
        _patch(socket, name, fn)
    for name, fn in wrap_select.wrappers().items():
        _patch(select, name, fn)
    for cls, name, fn in wrap_select.selector_wrappers():
        _patch(cls, name, fn)
    _patch(time, "sleep", wrap_process.sleep)
    _patch(io, "open", wrap_io.open_)
    _patch(builtins, "open", wrap_io.open_)
    for name, stream in wrap_io.standard_streams().items():
        _patch(sys, name, stream)
        _patch(sys, f"__{name}__", stream)
    _patch(sys, "excepthook", wrap_process.excepthook)
    if not _fork_hook_registered:  # register_at_fork cannot be undone: add it once, it does nothing when off
        os.register_at_fork(after_in_child=_fork_in_child)
        _fork_hook_registered = True
    atexit.register(_at_exit)
    wrap_process.record_start()


def uninstall() -> None:
    """Put back every original; recording stops."""
    for owner, name, original, had_own in reversed(_patches):
        if owner is sys and name in ("stdout", "stderr"):
            _release(getattr(sys, name), original)
        if had_own:
            setattr(owner, name, original)
        else:
            delattr(owner, name)
    _patches.clear()
    atexit.unregister(_at_exit)
    rec = core.REC
    core.REC = None
    if rec is not None:
        rec.stop()


def _release(stream: object, original: object) -> None:
    """What the program wrote through the traced standard stream goes out before the original is back."""
    if stream is original:
        return
    try:
        stream.flush()  # type: ignore[attr-defined]
    except (OSError, ValueError, AttributeError):
        pass


def patched() -> list[tuple[object, str, object]]:
    """(owner, name, original) of every patch in place."""
    return [(owner, name, original) for owner, name, original, _ in _patches]
