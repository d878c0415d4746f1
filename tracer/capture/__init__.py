"""Loopback packet capture: open it before the traced programs start, parse it after they end.

    cap = start_capture("scapy", "lo")          # live when this returns
    ...run the traced programs...
    raw = cap.stop()                              # RawCapture: (ts ns, frame bytes), drops
    packets = filter_packets(parse_packets(raw), sockets_the_run_used)

Capture only stores (kernel timestamp, raw bytes); parsing happens afterwards
(`parse_packets`), because parsing live made scapy drop packets from about 1k
messages/s. Timestamps are the kernel's CLOCK_REALTIME nanoseconds, the same
clock as `time.time_ns()` in the traced processes. Backends are imported
lazily: importing `ipctrace` never imports scapy.
"""

from __future__ import annotations

import ctypes.util
import importlib.util
import ipaddress
import os
import re
import socket
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from ipctrace.capture.pcap import RawCapture, frames_of, parse_packets, read_pcap, write_pcap
from ipctrace.errors import IpctraceError
from ipctrace.model import Packet, SockAddr

__all__ = [
    "BACKENDS",
    "Capture",
    "CaptureUnavailable",
    "RawCapture",
    "SocketKey",
    "capture_unavailable_reason",
    "filter_packets",
    "frames_of",
    "parse_packets",
    "read_pcap",
    "start_capture",
    "write_pcap",
]

BACKENDS = ("scapy", "tcpdump")

#: (proto, local, peer) of one socket a traced process used; peer None = "any peer".
SocketKey = tuple[str, SockAddr, SockAddr | None]


NO_PRIVILEGE = (
    "packet capture needs root or CAP_NET_RAW: run as root, or "
    "`sudo setcap cap_net_raw+ep $(readlink -f $(which python3))`, or pass --no-capture."
)


#: The oldest scapy with the capture-filter API the scapy backend uses (`scapy.arch.common.free_filter`);
#: pyproject.toml declares the same floor, but an environment made before it can still hold an older one.
SCAPY_MINIMUM = (2, 7)


def scapy_too_old(found: str) -> str:
    """The sentence for a scapy older than `SCAPY_MINIMUM` (`found` is its version)."""
    need = ".".join(map(str, SCAPY_MINIMUM))
    return (
        f"scapy {found} is too old for packet capture: ipctrace needs scapy {need} or newer "
        f"(pip install 'scapy>={need}'), or use --capture tcpdump."
    )


def _installed_scapy_too_old() -> str | None:
    """The sentence if the installed scapy's version is below the floor; None if new enough or unknown."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("scapy")
    except PackageNotFoundError:  # a scapy without metadata (a copy on the path): tried as it is
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
    pcap_path: Path | None = None

    def stop(self, drain: float = 0.2) -> RawCapture:  # pragma: no cover - overridden
        raise NotImplementedError

    def __enter__(self) -> Capture:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop(drain=0.0)


def start_capture(backend: str = "scapy", interface: str = "lo", pcap_path: Path | None = None) -> Capture:
    """Open a capture on `interface` and return once it is live (no start race).

    With `pcap_path`, `stop()` also leaves the capture there as a pcap.
    Raises `CaptureUnavailable` (one clear sentence) when it cannot open.
    """
    reason = capture_unavailable_reason(backend, interface)
    if reason is not None:
        raise CaptureUnavailable(reason)
    if backend == "scapy":
        from ipctrace.capture.scapy_socket import ScapySocketCapture

        return ScapySocketCapture(interface, pcap_path)
    from ipctrace.capture.tcpdump import TcpdumpCapture

    return TcpdumpCapture(interface, pcap_path)


def capture_unavailable_reason(backend: str, interface: str = "lo") -> str | None:
    """None when `backend` can capture on `interface`, else one sentence: what is missing, how to fix it."""
    if backend not in BACKENDS:
        return f"unknown capture backend {backend!r}: choose one of {', '.join(map(repr, BACKENDS))}."
    try:
        socket.if_nametoindex(interface)
    except OSError:
        return f"network interface {interface!r} does not exist: pass an existing interface such as 'lo'."
    if backend == "tcpdump":
        from ipctrace.capture.tcpdump import find_tcpdump, tcpdump_has_capabilities

        path = find_tcpdump()
        if path is None:
            return "tcpdump is not installed: apt-get install tcpdump, or use --capture scapy."
        if not _can_open_packet_socket() and not tcpdump_has_capabilities(path):
            return (
                "tcpdump needs root or CAP_NET_RAW: run as root, or "
                f"`sudo setcap cap_net_raw,cap_net_admin+ep {path}`, or pass --no-capture."
            )
        return None
    if importlib.util.find_spec("scapy") is None:
        return "scapy is not installed: pip install scapy, or use --capture tcpdump."
    too_old = _installed_scapy_too_old()
    if too_old is not None:
        return too_old
    if ctypes.util.find_library("pcap") is None:
        return "libpcap (needed by scapy to compile the capture filter) is missing: apt-get install libpcap0.8."
    if not _can_open_packet_socket():
        return NO_PRIVILEGE
    return None


def _can_open_packet_socket() -> bool:
    try:
        socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0).close()
    except PermissionError:
        return False
    except OSError:
        return os.geteuid() == 0
    return True


# ---------------------------------------------------------------------------
# Keeping only the run's packets

_WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::", "*"})


@lru_cache(maxsize=4096)
def _norm_host(host: str) -> str:
    """One spelling per address: '::ffff:127.0.0.1' -> '127.0.0.1', wildcards -> '*'."""
    if host in _WILDCARD_HOSTS:
        return "*"
    try:
        addr = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return host
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return "*" if addr.is_unspecified else str(addr)


def _norm_proto(proto: str) -> str:
    return proto.lower().removesuffix("6")  # tcp6 -> tcp, udp6 -> udp


def filter_packets(packets: Iterable[Packet], sockets: Iterable[SocketKey]) -> list[Packet]:
    """Keep the packets that belong to the given sockets, in capture order.

    Each socket is `(proto, local, peer)` as a traced process saw it
    (getsockname/getpeername, or the recorded sendto/recvfrom address):

    - with a `peer`: a packet matches when its (src, dst) is (local, peer) or
      (peer, local) — both directions of that TCP connection or UDP flow;
    - with `peer=None` (a bound but unconnected UDP socket used with
      sendto/recvfrom, or a listening TCP socket): any packet from or to
      `local` matches, whoever the other end is.

    A wildcard local host (0.0.0.0, ::, "") stands for every address with
    that port. IPv4-mapped IPv6 addresses match their IPv4 form, and the
    endpoint kinds tcp6/udp6 match tcp/udp. Entries that are not IP (Unix
    paths, port None) match nothing. Because the lead passes only the
    addresses its own traced processes recorded, a second run capturing at
    the same time never shows up here.
    """
    pairs: set[tuple[str, str, int, str, int]] = set()
    locals_: set[tuple[str, str, int]] = set()
    for proto, local, peer in sockets:
        if local is None or local.port is None:
            continue
        proto = _norm_proto(proto)
        lhost = _norm_host(local.host)
        if peer is None:
            locals_.add((proto, lhost, local.port))
        elif peer.port is not None:
            pairs.add((proto, lhost, local.port, _norm_host(peer.host), peer.port))

    def side_matches(proto: str, mine: SockAddr, other: SockAddr) -> bool:
        mhost, ohost = _norm_host(mine.host), _norm_host(other.host)
        for host in (mhost, "*"):
            if (proto, host, mine.port) in locals_:
                return True
            if (proto, host, mine.port, ohost, other.port) in pairs:
                return True
        return False

    kept = []
    for pkt in packets:
        if side_matches(pkt.proto, pkt.src, pkt.dst) or side_matches(pkt.proto, pkt.dst, pkt.src):
            kept.append(pkt)
    return kept
