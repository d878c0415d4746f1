"""Raw captures on disk and in memory: pcap writing and reading (parsing frames is `capture.parse`).

Capture stores only (kernel timestamp, raw frame bytes); everything here runs
afterwards, so parsing cost never turns into kernel drops. The pcap format is
the classic nanosecond-resolution one (magic 0xa1b23c4d), which Wireshark,
tshark, tcpdump and scapy all read; microsecond pcaps are read too.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ipctrace.model import Packet, TcpFlags

#: Link types (pcap LINKTYPE_* / DLT_*) this module knows by name.
DLT_EN10MB = 1  # Ethernet; what Linux gives for `lo` (ARPHRD_LOOPBACK)
DLT_RAW = 101  # raw IPv4/IPv6, no link header
DLT_LINUX_SLL = 113

#: Largest frame we ask for, and write into the pcap header: the whole packet.
SNAPLEN = 262144

_MAGIC_NS = 0xA1B23C4D
_MAGIC_US = 0xA1B2C3D4


@dataclass(frozen=True, slots=True)
class RawCapture:
    """What a capture saw, unparsed: (CLOCK_REALTIME ns, frame bytes) in arrival order."""

    frames: list[tuple[int, bytes]]
    linktype: int = DLT_EN10MB
    kernel_drops: int | None = None  # None when the backend could not tell
    backend: str = "none"


def write_pcap(raw: RawCapture, path: Path) -> None:
    """Write `raw` as a nanosecond pcap (opens in Wireshark/tshark as-is)."""
    parts = [struct.pack("<IHHiIII", _MAGIC_NS, 2, 4, 0, 0, SNAPLEN, raw.linktype)]
    for ts, frame in raw.frames:
        sec, nsec = divmod(ts, 1_000_000_000)
        parts.append(struct.pack("<IIII", sec, nsec, len(frame), len(frame)))
        parts.append(frame)
    Path(path).write_bytes(b"".join(parts))


def read_pcap(path: Path) -> RawCapture:
    """Read a classic pcap (nanosecond or microsecond, either byte order) into a `RawCapture`."""
    data = Path(path).read_bytes()
    if len(data) < 24:
        raise ValueError(f"{path}: too short to be a pcap file ({len(data)} bytes)")
    for endian in ("<", ">"):
        (magic,) = struct.unpack_from(endian + "I", data, 0)
        if magic in (_MAGIC_NS, _MAGIC_US):
            break
    else:
        if data[:4] == b"\x0a\x0d\x0d\x0a":
            raise ValueError(f"{path}: pcapng is not supported; write classic pcap (tcpdump -w does)")
        raise ValueError(f"{path}: not a pcap file (magic {data[:4].hex()})")
    scale = 1 if magic == _MAGIC_NS else 1000
    linktype = struct.unpack_from(endian + "I", data, 20)[0] & 0x0FFFFFFF
    rec = struct.Struct(endian + "IIII")
    frames: list[tuple[int, bytes]] = []
    off = 24
    end = len(data)
    while off + 16 <= end:
        sec, frac, incl, _orig = rec.unpack_from(data, off)
        off += 16
        if off + incl > end:  # a record cut short (writer killed mid-write): drop it
            break
        frames.append((sec * 1_000_000_000 + frac * scale, data[off : off + incl]))
        off += incl
    return RawCapture(frames=frames, linktype=linktype, kernel_drops=None, backend="pcap")


def tcp_flag_letters(bits: int) -> str:
    """TCP flags as letters in the model's order: SYN-ACK is "SA", FIN-ACK "FA", data "PA"."""
    return TcpFlags(bits & 0x3F).letters


def frames_of(packets: Iterable[Packet], raw: RawCapture) -> RawCapture:
    """The sub-capture holding only the frames behind `packets` (e.g. the kept ones), for a pcap."""
    keep = sorted({p.index for p in packets})
    return RawCapture(
        frames=[raw.frames[i] for i in keep],
        linktype=raw.linktype,
        kernel_drops=raw.kernel_drops,
        backend=raw.backend,
    )
