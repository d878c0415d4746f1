"""The packet side of a trace: one TCP segment or UDP datagram seen on the wire, and its flags."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntFlag, StrEnum

from ipctrace.model.endpoints import SockAddr
from ipctrace.model.events import Nanos


class Proto(StrEnum):
    TCP = "tcp"
    UDP = "udp"


class TcpFlags(IntFlag):
    """TCP header flags; on disk and on screen as letters in the order S, F, R, P, A, U ("SA", "PA", "FA")."""

    NONE = 0
    FIN = 0x01
    SYN = 0x02
    RST = 0x04
    PSH = 0x08
    ACK = 0x10
    URG = 0x20

    @classmethod
    def from_letters(cls, letters: str) -> TcpFlags:
        flags = cls.NONE
        for letter in letters:
            flags |= _FLAG_OF_LETTER.get(letter, cls.NONE)
        return flags

    @property
    def letters(self) -> str:
        return "".join(letter for letter, flag in _LETTER_ORDER if self & flag)

    def __str__(self) -> str:
        return self.letters


_LETTER_ORDER = (
    ("S", TcpFlags.SYN),
    ("F", TcpFlags.FIN),
    ("R", TcpFlags.RST),
    ("P", TcpFlags.PSH),
    ("A", TcpFlags.ACK),
    ("U", TcpFlags.URG),
)
_FLAG_OF_LETTER = dict(_LETTER_ORDER)


@dataclass(frozen=True, slots=True)
class Packet:
    """One TCP segment or UDP datagram seen on the loopback interface."""

    index: int  # position in the run's capture (pcap), from 0
    ts: Nanos
    proto: Proto
    src: SockAddr
    dst: SockAddr
    payload: bytes
    flags: TcpFlags = TcpFlags.NONE
    seq: int | None = None
    ack: int | None = None

    @property
    def length(self) -> int:
        return len(self.payload)
