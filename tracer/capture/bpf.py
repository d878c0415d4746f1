"""The capture filter: libpcap (through ctypes) compiles it into the classic BPF program the kernel runs.

Calling libpcap directly takes about a millisecond; going through scapy's
`compile_filter` first imports scapy (about 150 ms) and enumerates interfaces
and routes. libpcap is found by its Debian sonames, never through
`ctypes.util.find_library` (which runs `ldconfig -p` in a child process).
"""

from __future__ import annotations

import ctypes
import socket
from functools import lru_cache

#: Shared-library names libpcap is installed under (Debian's libpcap0.8, then generic ones).
SONAMES = ("libpcap.so.0.8", "libpcap.so.1", "libpcap.so")
SO_ATTACH_FILTER = 26
BPF_RET_K = 0x06
_PCAP_NETMASK_UNKNOWN = 0xFFFFFFFF
#: pcap files name link types by LINKTYPE_* numbers; pcap_open_dead takes DLT_* ones (raw IP: 101 in a file, 12 here).
_LINKTYPE_TO_DLT = {101: 12}


class BpfError(Exception):
    """libpcap is missing or refused the filter expression."""


class _Insn(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte), ("k", ctypes.c_uint32)]


class _Program(ctypes.Structure):
    _fields_ = [("bf_len", ctypes.c_uint), ("bf_insns", ctypes.POINTER(_Insn))]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


@lru_cache(maxsize=1)
def libpcap() -> ctypes.CDLL | None:
    """libpcap, loaded once; None when it is not installed."""
    for name in SONAMES:
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        lib.pcap_open_dead.restype = ctypes.c_void_p
        lib.pcap_open_dead.argtypes = [ctypes.c_int, ctypes.c_int]
        lib.pcap_compile.restype = ctypes.c_int
        lib.pcap_compile.argtypes = [
            ctypes.c_void_p,
            ctypes.POINTER(_Program),
            ctypes.c_char_p,
            ctypes.c_int,
            ctypes.c_uint32,
        ]
        lib.pcap_geterr.restype = ctypes.c_char_p
        lib.pcap_geterr.argtypes = [ctypes.c_void_p]
        lib.pcap_freecode.argtypes = [ctypes.POINTER(_Program)]
        lib.pcap_close.argtypes = [ctypes.c_void_p]
        return lib
    return None


def compile_filter(expr: str, linktype: int, snaplen: int = 262144) -> list[tuple[int, int, int, int]]:
    """The BPF program for `expr` on `linktype`, as (code, jt, jf, k) instructions, optimised."""
    lib = libpcap()
    if lib is None:
        raise BpfError(f"libpcap is not installed (looked for {', '.join(SONAMES)})")
    handle = lib.pcap_open_dead(_LINKTYPE_TO_DLT.get(linktype, linktype), snaplen)
    if not handle:
        raise BpfError(f"libpcap cannot compile for link type {linktype}")
    program = _Program()
    try:
        if lib.pcap_compile(handle, ctypes.byref(program), expr.encode(), 1, _PCAP_NETMASK_UNKNOWN) != 0:
            raise BpfError(f"libpcap rejects the filter {expr!r}: {lib.pcap_geterr(handle).decode(errors='replace')}")
        insns = [program.bf_insns[i] for i in range(program.bf_len)]
        out = [(insn.code, insn.jt, insn.jf, insn.k) for insn in insns]
        lib.pcap_freecode(ctypes.byref(program))
    finally:
        lib.pcap_close(handle)
    return out


def attach_filter(sock: socket.socket, program: list[tuple[int, int, int, int]]) -> None:
    """Attach `program` to `sock`, keeping whole packets: every accepting return keeps all bytes.

    libpcap's returns keep at most the snaplen; a maximal loopback GSO frame (IP 65535 bytes plus
    14 of Ethernet) must never be cut, so accepting returns are raised to "everything".
    """
    insns = (_Insn * len(program))()
    for i, (code, jt, jf, k) in enumerate(program):
        if code == BPF_RET_K and k != 0:
            k = 0xFFFFFFFF
        insns[i] = _Insn(code, jt, jf, k)
    fprog = _SockFprog(len(program), ctypes.cast(insns, ctypes.c_void_p))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, bytes(fprog))
