"""Loopback packet capture: open it before the traced programs start, parse it after they end.

    cap = start_capture("scapy", "lo")          # live when this returns
    ...run the traced programs...
    raw = cap.stop()                              # RawCapture: (ts ns, frame bytes), drops
    packets = filter_packets(parse_packets(raw), sockets_the_run_used)

Capture only stores (kernel timestamp, raw bytes); parsing happens afterwards
(`parse_packets`: a `struct` parser, scapy only for unusual frames), because
parsing live dropped packets from about 1k messages/s. Timestamps are the
kernel's CLOCK_REALTIME nanoseconds, the same clock as `time.time_ns()` in
the traced processes. Opening a capture imports neither scapy nor anything
heavy; backends are imported when chosen.

Modules: `base` (the Capture interface and its error), `bpf` (the filter,
compiled by libpcap), `scapy_socket` and `tcpdump` (the backends), `pcap`
(files and raw captures), `parse` (frames to packets), `filtering` (the run's
own packets).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from ipctrace.capture.base import (
    BACKENDS,
    NO_PRIVILEGE,
    SCAPY_MINIMUM,
    Capture,
    CaptureUnavailable,
    close_in_background,
    installed_scapy_too_old,
    scapy_too_old,
)
from ipctrace.capture.bpf import libpcap
from ipctrace.capture.filtering import SocketKey, filter_packets
from ipctrace.capture.parse import parse_packets
from ipctrace.capture.pcap import RawCapture, frames_of, read_pcap, write_pcap

__all__ = [
    "BACKENDS",
    "NO_PRIVILEGE",
    "Capture",
    "CaptureUnavailable",
    "RawCapture",
    "SCAPY_MINIMUM",
    "scapy_too_old",
    "SocketKey",
    "capture_unavailable_reason",
    "filter_packets",
    "frames_of",
    "parse_packets",
    "read_pcap",
    "start_capture",
    "write_pcap",
]


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
    too_old = installed_scapy_too_old()
    if too_old is not None:
        return too_old
    if libpcap() is None:
        return "libpcap (needed to compile the capture filter) is missing: apt-get install libpcap0.8."
    if not _can_open_packet_socket():
        return NO_PRIVILEGE
    return None


def _can_open_packet_socket() -> bool:
    try:
        close_in_background(socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0))
    except PermissionError:
        return False
    except OSError:
        return os.geteuid() == 0
    return True
