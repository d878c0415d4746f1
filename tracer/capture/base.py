"""What every capture backend shares: the `Capture` interface, its error, and the backends' names.

Kept apart from `ipctrace.capture` so the backends import it without importing the package that
chooses among them (no import cycle).
"""

from __future__ import annotations

import re
import socket
import threading
from pathlib import Path

from ipctrace.capture.pcap import RawCapture
from ipctrace.errors import IpctraceError

BACKENDS = ("scapy", "tcpdump")

#: The longest a capture waits, after the run, for packets the kernel has not handed over yet.
MAX_DRAIN = 0.2

NO_PRIVILEGE = (
    "packet capture needs root or CAP_NET_RAW: run as root, or "
    "`sudo setcap cap_net_raw+ep $(readlink -f $(which python3))`, or pass --no-capture."
)


def close_in_background(sock: socket.socket) -> None:
    """Close a packet socket without waiting: the kernel takes 10-15 ms to take one apart (it waits for the
    network stack to let go of it), time a run would otherwise spend before its first program and after
    its last. Nothing else uses the socket once it is handed here."""
    threading.Thread(target=sock.close, name="ipctrace-capture-close", daemon=True).start()


#: The oldest scapy ipctrace parses unusual frames with (pyproject.toml declares the same floor, but an
#: environment made before it can still hold an older one). Capturing itself needs no scapy.
SCAPY_MINIMUM = (2, 7)


def scapy_too_old(found: str) -> str:
    """The sentence for a scapy older than `SCAPY_MINIMUM` (`found` is its version)."""
    need = ".".join(map(str, SCAPY_MINIMUM))
    return (
        f"scapy {found} is too old for packet capture: ipctrace needs scapy {need} or newer "
        f"(pip install 'scapy>={need}'), or use --capture tcpdump."
    )


def installed_scapy_version() -> str | None:
    """The version of the scapy that `import scapy` would load, from the metadata folder beside it.

    Read from the `scapy-X.Y.Z.dist-info` (or `.egg-info`) folder next to the package, without importing
    scapy or `importlib.metadata` (which together cost tens of milliseconds at every `ipctrace run`).
    None when scapy is not installed, or is a copy without metadata.
    """
    from importlib.util import find_spec

    try:
        spec = find_spec("scapy")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    site = Path(next(iter(spec.submodule_search_locations))).parent
    for folder in sorted(site.glob("scapy-*.*-info")):
        version = _SCAPY_INFO.fullmatch(folder.name)
        if version is not None:
            return version[1]
    return None


_SCAPY_INFO = re.compile(r"scapy-([^-]+?)(?:-py[\d.]+)?\.(?:dist|egg)-info", re.IGNORECASE)


def installed_scapy_too_old() -> str | None:
    """The sentence if the installed scapy's version is below the floor; None if new enough or unknown."""
    found = installed_scapy_version()
    if found is None:  # not installed, or a copy without metadata: frames are then parsed by struct only
        return None
    numbers = re.match(r"(\d+)\.(\d+)", found)
    if numbers and (int(numbers[1]), int(numbers[2])) < SCAPY_MINIMUM:
        return scapy_too_old(found)
    return None


class CaptureUnavailable(IpctraceError):
    """Capture cannot be opened; the message is one sentence saying what is missing and how to fix it."""


class Capture:
    """A running capture. `stop()` ends it and returns what it saw; usable as a context manager."""

    backend: str = "none"
    interface: str = "lo"

    def stop(self, drain: float | None = None) -> RawCapture:  # pragma: no cover - overridden
        """End the capture and return what it saw.

        `drain=None` (the default) takes every packet the kernel has queued and stops once none is
        left (at most MAX_DRAIN later); a number keeps capturing for that many seconds first.
        """
        raise NotImplementedError

    def __enter__(self) -> Capture:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop(drain=0.0)
