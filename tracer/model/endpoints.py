"""What an event's descriptor is: the kind of kernel object behind it, and its identity (inode, address)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import NamedTuple


class EndpointKind(StrEnum):
    """What a descriptor refers to, as the recorder found it (a FIFO is a pipe with a name)."""

    PIPE = "pipe"
    FIFO = "fifo"  # a named pipe (mkfifo): a pipe reached through a path
    UNIX_STREAM = "unix-stream"
    UNIX_DGRAM = "unix-dgram"
    UNIX_SEQPACKET = "unix-seqpacket"
    TCP = "tcp"
    TCP6 = "tcp6"
    UDP = "udp"
    UDP6 = "udp6"
    SOCKET = "socket"  # a socket of a family ipctrace does not model
    FILE = "file"
    DIR = "dir"
    TTY = "tty"
    CHAR = "char"
    OTHER = "other"

    @classmethod
    def parse(cls, text: str) -> EndpointKind:
        try:
            return cls(text)
        except ValueError:
            return cls.OTHER

    @property
    def is_stream(self) -> bool:
        """Bytes without boundaries: pipes, Unix stream sockets, TCP."""
        return self in _STREAM_KINDS

    @property
    def is_datagram(self) -> bool:
        """Messages with boundaries: UDP, Unix datagram and seqpacket sockets."""
        return self in _DGRAM_KINDS

    @property
    def is_pipe(self) -> bool:
        """A pipe, anonymous or named: one inode for both ends."""
        return self in (EndpointKind.PIPE, EndpointKind.FIFO)

    @property
    def is_tcp(self) -> bool:
        return self in (EndpointKind.TCP, EndpointKind.TCP6)

    @property
    def is_udp(self) -> bool:
        return self in (EndpointKind.UDP, EndpointKind.UDP6)

    @property
    def is_ip(self) -> bool:
        return self.is_tcp or self.is_udp

    @property
    def is_unix(self) -> bool:
        return self in (EndpointKind.UNIX_STREAM, EndpointKind.UNIX_DGRAM, EndpointKind.UNIX_SEQPACKET)

    @property
    def is_ipc(self) -> bool:
        """A pipe or socket: something another process can be at the other end of."""
        return self.is_stream or self.is_datagram or self is EndpointKind.SOCKET


_STREAM_KINDS = frozenset(
    {EndpointKind.PIPE, EndpointKind.FIFO, EndpointKind.UNIX_STREAM, EndpointKind.TCP, EndpointKind.TCP6}
)
#: The kinds that are byte streams (`EndpointKind.is_stream`) and pipes (`is_pipe`), for loops that ask once a call.
STREAM_KINDS = _STREAM_KINDS
PIPE_KINDS = frozenset({EndpointKind.PIPE, EndpointKind.FIFO})
_DGRAM_KINDS = frozenset({EndpointKind.UDP, EndpointKind.UDP6, EndpointKind.UNIX_DGRAM, EndpointKind.UNIX_SEQPACKET})
DATAGRAM_KINDS = _DGRAM_KINDS


class Inode(NamedTuple):
    """The identity of a pipe or socket in every process that holds it: (st_dev, st_ino).

    A tuple underneath, as `EventKey`: linking keys its tables by inode on every call of a trace, and a
    tuple's hash and equality run in C (a frozen dataclass's in Python: measured 180 ns a lookup).
    """

    dev: int
    ino: int

    def __str__(self) -> str:
        return f"{self.dev}:{self.ino}"


@dataclass(frozen=True, slots=True)
class SockAddr:
    """A socket address: an IP and port, or a Unix socket path (port is None)."""

    host: str
    port: int | None = None

    def __str__(self) -> str:
        if self.port is None:
            return self.host or "(unnamed)"
        if ":" in self.host:
            return f"[{self.host}]:{self.port}"
        return f"{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class Endpoint:
    """The kernel object behind a file descriptor, identified as the kernel does.

    Both ends of a pipe share one inode; the two ends of a socketpair have two.
    Inodes are the same in a parent and its forked child, so an endpoint names
    the same pipe or socket in every process that holds it.
    """

    dev: int
    ino: int
    kind: EndpointKind
    #: `Inode(dev, ino)`, made once: a trace shares one Endpoint per endpoint, and its inode is asked for
    #: on every call that uses it (made anew each time, it was 0.7 µs).
    inode: Inode = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "inode", Inode(self.dev, self.ino))
