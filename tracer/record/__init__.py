"""Recording inside the traced process: wrappers, the event writer, and how they get installed.

This side runs inside the program being traced, so it imports nothing heavy
(no scapy, no networkx) and never raises into the program.
"""

from __future__ import annotations

import os

from ipctrace.record.writer import DEFAULT_PAYLOAD_CAP, ENV_EVENTS, ENV_PAYLOAD_CAP, ENV_SCHEDULE, Writer

BOOTSTRAP_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bootstrap")

__all__ = ["BOOTSTRAP_DIR", "start_recording", "stop_recording", "tracing_environment"]


def start_recording(events_path: str, payload_cap: int = DEFAULT_PAYLOAD_CAP) -> None:
    """Record this process (and every process it forks) into `events_path`."""
    from ipctrace.record import hooks

    hooks.install(Writer(events_path, payload_cap))


def stop_recording() -> None:
    from ipctrace.record import hooks

    hooks.uninstall()


def start_from_environment() -> bool:
    """Start recording if this process was started by ipctrace (the variables are set)."""
    path = os.environ.get(ENV_EVENTS)
    if not path:
        return False
    try:
        cap = int(os.environ.get(ENV_PAYLOAD_CAP, DEFAULT_PAYLOAD_CAP))
    except ValueError:
        cap = DEFAULT_PAYLOAD_CAP
    start_recording(path, cap)
    return True


def tracing_environment(
    events_path: str,
    payload_cap: int = DEFAULT_PAYLOAD_CAP,
    schedule: str | None = None,
    base: dict[str, str] | None = None,
    extra_paths: tuple[str, ...] = (),
) -> dict[str, str]:
    """The environment that makes any Python process, and the Python processes it starts, traced."""
    env = dict(os.environ if base is None else base)
    paths = [BOOTSTRAP_DIR, *extra_paths]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env[ENV_EVENTS] = events_path
    env[ENV_PAYLOAD_CAP] = str(payload_cap)
    if schedule:
        env[ENV_SCHEDULE] = schedule
    else:
        env.pop(ENV_SCHEDULE, None)
    return env
