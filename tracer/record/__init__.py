"""Recording inside the traced process: wrappers, the log they write, and how they get installed.

This side runs inside the program being traced, so it imports nothing heavy (no scapy, no
networkx) and never raises into the program. The log format is FORMAT.md beside this file;
`ipctrace.record.reader` reads it.

Modules: `layout` (the format's constants), `log` (per-thread memory-mapped logs), `endpoints`
(the descriptor table), `core` (what every wrapper shares: the gate, never-raise helpers),
`hotpath` (the generator of `hot_generated`, the data calls' wrappers; `hotc.c` the same compiled, `hot`
chooses), `heads` (their record heads, made once per call site), `wrap_os`, `wrap_socket` (descriptors),
`wrap_socket_data` (bytes), `wrap_io`, `wrap_process`, `wrap_select` (the wrappers), `patches` (install and
uninstall), `settle` (other threads' calls at exit), `gate` and `explorer_env` (the race explorer's
hold), `bootstrap/` (the start-up hook), `native/` (the `LD_PRELOAD` recorder for other programs);
`reader`, which only ipctrace itself imports.
"""

from __future__ import annotations

import os

ENV_LOGS = "IPCTRACE_LOGS"
ENV_PAYLOAD_CAP = "IPCTRACE_PAYLOAD_CAP"
NATIVE_LIBRARY = "libipctrace.so"  # the native recorder (record/native/), found in LD_PRELOAD by name
#: Set for a program ipctrace starts as Python (`python3 x.py`): the native recorder stays out of what runs before
#: the interpreter (a wrapper script on PATH, pyenv's shims: how Python was found); the Python recorder clears it,
#: so the programs a traced Python process starts are recorded.
ENV_NATIVE_OFF = "IPCTRACE_NATIVE_OFF"
DEFAULT_PAYLOAD_CAP = 4096
#: Set for a process ipctrace starts before its turn (the next role, while the one before gets ready): the
#: descriptor to wait on once the recorder is imported, before it records anything or the program starts.
#: ipctrace writes a byte there when the role's turn comes; end of file without one means it never will.
ENV_HOLD = "IPCTRACE_HOLD"

BOOTSTRAP_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bootstrap")

__all__ = ["BOOTSTRAP_DIR", "ENV_LOGS", "start_recording", "stop_recording", "tracing_environment"]


def start_recording(folder: str, payload_cap: int = DEFAULT_PAYLOAD_CAP) -> None:
    """Record this process (and every process it forks) into log files in `folder`."""
    from ipctrace.record import patches
    from ipctrace.record.log import Recorder

    os.makedirs(folder, exist_ok=True)
    patches.install(Recorder(os.path.abspath(folder), payload_cap))


def stop_recording() -> None:
    from ipctrace.record import patches

    patches.uninstall()


def start_from_environment() -> bool:
    """Start recording if this process was started by ipctrace (the variables are set)."""
    folder = os.environ.get(ENV_LOGS)
    if not folder:
        return False
    _native_stands_down()
    os.environ.pop(ENV_NATIVE_OFF, None)
    from ipctrace.record.explorer_env import ENV_EXPLORE

    exploring = bool(os.environ.get(ENV_EXPLORE))  # only then is the gate imported
    if exploring:
        from ipctrace.record import gate  # before the wrappers: it keeps the unwrapped originals

    try:
        cap = int(os.environ.get(ENV_PAYLOAD_CAP, DEFAULT_PAYLOAD_CAP))
    except ValueError:
        cap = DEFAULT_PAYLOAD_CAP
    hold = os.environ.pop(ENV_HOLD, None)  # gone before the program reads its environment
    if hold is not None:
        from ipctrace.record import log, patches  # noqa: F401  the recorder's import, paid before the turn

        _wait_for_turn(hold)
    start_recording(folder, max(0, cap))
    if exploring:
        gate.install_from_environment(lambda logs: start_recording(logs, max(0, cap)))
    return True


def _wait_for_turn(hold: str) -> None:
    """Block until ipctrace says this role's turn has come, then close the descriptor: the program starts with
    the descriptors it would have had if started now. Told it never comes (ipctrace gone), end quietly."""
    try:
        fd = int(hold)
    except ValueError:
        return
    try:
        turn = os.read(fd, 1)
    except OSError:
        return
    finally:
        try:
            os.close(fd)
        except OSError:
            pass
    if not turn:
        os._exit(0)  # nothing was recorded and the program never ran


def _native_stands_down() -> None:
    """One owner per process: where the native recorder is loaded too (an embedded interpreter), it stops now.

    In a plain interpreter it has already kept out (it sees the Python recorder's start-up hook on
    PYTHONPATH); this covers a program it took for something else.
    """
    if NATIVE_LIBRARY not in os.environ.get("LD_PRELOAD", ""):
        return
    import ctypes

    try:
        ctypes.CDLL(None).ipctrace_native_stand_down()
    except (OSError, AttributeError):
        pass


def tracing_environment(
    logs: str,
    payload_cap: int = DEFAULT_PAYLOAD_CAP,
    base: dict[str, str] | None = None,
    extra_paths: tuple[str, ...] = (),
    native: str | os.PathLike[str] | None = None,
) -> dict[str, str]:
    """The environment that makes any Python process, and the Python processes it starts, traced into `logs`.

    With `native` (the native recorder's library, `ipctrace.record.native.library()`), every other dynamically
    linked program started in it is traced too, through LD_PRELOAD.
    """
    env = dict(os.environ if base is None else base)
    if native is not None:
        preload = [os.fspath(native), *(p for p in env.get("LD_PRELOAD", "").split(":") if p)]
        env["LD_PRELOAD"] = ":".join(dict.fromkeys(preload))
    paths = [BOOTSTRAP_DIR, *extra_paths]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env[ENV_LOGS] = os.path.abspath(logs)
    env[ENV_PAYLOAD_CAP] = str(payload_cap)
    return env
