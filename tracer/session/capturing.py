"""The run's packet capture: opened before any program's code runs, stopped after the last has ended, and
reduced to this run's packets (lo also carries other programs' traffic, a second run's included)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from ipctrace.model import CaptureInfo, Packet, SockAddr


def open_capture(backend: str) -> tuple[Any, str]:
    """A live capture (opened before any program starts), or None and the sentence saying why not."""
    from ipctrace import capture as capture_mod

    if backend == "none":
        return None, "capture turned off (--no-capture)"
    try:  # start_capture checks what it needs once (each check opens and closes a packet socket: ~10 ms)
        return capture_mod.start_capture(backend, "lo"), ""
    except capture_mod.CaptureUnavailable as exc:
        return None, str(exc)


def socket_addresses(raw: list[dict[str, Any]]) -> set[tuple[str, SockAddr, SockAddr | None]]:
    """(proto, local, peer) of every TCP/UDP socket the traced processes used."""
    out: set[tuple[str, SockAddr, SockAddr | None]] = set()
    for obj in raw:
        ep = obj.get("ep")
        kind = ep[2] if ep else ""
        local = obj.get("local")
        if not kind.startswith(("tcp", "udp")) or not isinstance(local, list):
            continue
        peer = obj.get("peer")
        out.add(
            (
                kind.rstrip("6"),
                SockAddr(local[0], local[1]),
                SockAddr(peer[0], peer[1]) if isinstance(peer, list) else None,
            )
        )
    return out


def keep_packets(
    capture: Any,
    backend: str,
    raw: list[dict[str, Any]],
    pcap_path: Path,
    port: int | None = None,
    protocols: tuple[str, ...] = ("tcp", "udp"),
) -> tuple[list[Packet], CaptureInfo]:
    """Stop the capture and keep the packets of the sockets this run's processes used, written to `pcap_path`.

    When no socket was recorded (programs no recorder enters), the packets to and from the run's port
    are kept: the port was free when the run began, so they are this run's. The pcap is written under
    a temporary name and renamed: a file named capture.pcap is always whole.
    """
    from ipctrace import capture as capture_mod

    captured = capture.stop()
    all_packets = capture_mod.parse_packets(captured)
    sockets = socket_addresses(raw)
    if not sockets and port:
        sockets = {(proto, SockAddr("0.0.0.0", port), None) for proto in protocols}
    packets = capture_mod.filter_packets(all_packets, sockets)
    partial = pcap_path.with_name(pcap_path.name + ".partial")
    try:
        capture_mod.write_pcap(capture_mod.frames_of(packets, captured), partial)
        partial.replace(pcap_path)
    except OSError:
        partial.unlink(missing_ok=True)
        raise
    packets = [replace(p, index=i) for i, p in enumerate(packets)]  # index = position in capture.pcap
    return packets, CaptureInfo(
        backend, captured=len(all_packets), kept=len(packets), kernel_drops=captured.kernel_drops
    )
