"""Symbolic names for the numbers calls take: socket families, types, option levels and names, shutdown modes.

A golden file says `SO_REUSEADDR`, not 2: readable, and the same on every
machine whose numbers differ.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Mapping

FAMILIES: Mapping[int, str] = {getattr(socket, n): n for n in ("AF_UNIX", "AF_INET", "AF_INET6") if hasattr(socket, n)}
TYPES: Mapping[int, str] = {getattr(socket, n): n for n in ("SOCK_STREAM", "SOCK_DGRAM", "SOCK_SEQPACKET", "SOCK_RAW")}
LEVELS: Mapping[int, str] = {
    socket.SOL_SOCKET: "SOL_SOCKET",
    socket.IPPROTO_TCP: "IPPROTO_TCP",
    socket.IPPROTO_IP: "IPPROTO_IP",
}
_SOCKET_OPTIONS = (
    "SO_REUSEADDR",
    "SO_REUSEPORT",
    "SO_KEEPALIVE",
    "SO_BROADCAST",
    "SO_RCVBUF",
    "SO_SNDBUF",
    "SO_LINGER",
    "SO_RCVTIMEO",
    "SO_SNDTIMEO",
)
OPTIONS: Mapping[tuple[int, int], str] = {
    **{(socket.SOL_SOCKET, getattr(socket, n)): n for n in _SOCKET_OPTIONS if hasattr(socket, n)},
    (socket.IPPROTO_TCP, socket.TCP_NODELAY): "TCP_NODELAY",
}
SHUTDOWN_HOW: Mapping[int, str] = {0: "SHUT_RD", 1: "SHUT_WR", 2: "SHUT_RDWR"}


def named(table: Mapping[int, str], value: object) -> object:
    """The symbol for `value` when the table has one, else the value as recorded."""
    return table.get(value, value) if isinstance(value, int) else value


def option_name(level: object, opt: object) -> object:
    if isinstance(level, int) and isinstance(opt, int):
        return OPTIONS.get((level, opt), opt)
    return opt


def errno_name(number: int) -> str:
    return errno.errorcode.get(number, str(number))
