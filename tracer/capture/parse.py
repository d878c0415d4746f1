"""Frames into `Packet`s: a `struct` parser for the common case, scapy for anything unusual.

Loopback frames are nearly always Ethernet (or raw IP) carrying IPv4 or IPv6
with TCP or UDP right after the IP header; those are read with `struct` (a
few microseconds a frame, where building scapy packets costs about 100).
Every other frame — ICMP, IPv6 extension headers, VLAN tags, other link
types, a header cut short — goes to scapy, which is imported only then. Both
paths give identical `Packet`s for the frames the fast one reads (a test
checks it on real captures).
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterable

from ipctrace.capture.pcap import DLT_EN10MB, DLT_RAW, RawCapture
from ipctrace.model import Packet, Proto, SockAddr, TcpFlags

#: Link types whose frames start with the IP header.
RAW_IP_LINKTYPES = frozenset({DLT_RAW, 12, 14})
_ETH_IPV4, _ETH_IPV6 = 0x0800, 0x86DD
_TCP, _UDP = 6, 17
_IPV4 = struct.Struct("!BBHHHBBH4s4s")
_IPV6 = struct.Struct("!IHBB16s16s")
_TCP_HDR = struct.Struct("!HHIIBB")
_UDP_HDR = struct.Struct("!HHH")
_FLAGS = {bits: TcpFlags(bits) for bits in range(64)}


class _Unusual(Exception):
    """A frame the struct parser leaves to scapy."""


class _Hosts(dict[bytes, str]):
    """Address bytes → text, each address converted once."""

    def __missing__(self, raw: bytes) -> str:
        text = socket.inet_ntop(socket.AF_INET if len(raw) == 4 else socket.AF_INET6, raw)
        self[raw] = text
        return text


def _transport(index: int, ts: int, proto: int, src: str, dst: str, seg: bytes | memoryview) -> Packet:
    if proto == _TCP:
        if len(seg) < 20:
            raise _Unusual
        sport, dport, seq, ack, offs, flags = _TCP_HDR.unpack_from(seg)
        payload = bytes(seg[(offs >> 4) * 4 :])
        return Packet(
            index, ts, Proto.TCP, SockAddr(src, sport), SockAddr(dst, dport), payload, _FLAGS[flags & 0x3F], seq, ack
        )
    if len(seg) < 8:
        raise _Unusual
    sport, dport, length = _UDP_HDR.unpack_from(seg)
    size = length - 8 if length >= 8 else len(seg) - 8
    return Packet(index, ts, Proto.UDP, SockAddr(src, sport), SockAddr(dst, dport), bytes(seg[8 : 8 + size]))


def _ipv4(index: int, ts: int, view: memoryview, hosts: _Hosts) -> Packet | None:
    if len(view) < 20:
        raise _Unusual
    vihl, _tos, total, _id, frag, _ttl, proto, _sum, src, dst = _IPV4.unpack_from(view)
    ihl = (vihl & 0x0F) * 4
    if vihl >> 4 != 4 or ihl < 20 or total < ihl:
        raise _Unusual
    if frag & 0x3FFF:  # a fragment (more fragments, or an offset): no whole transport header to read
        return None
    if proto not in (_TCP, _UDP):
        raise _Unusual
    return _transport(index, ts, proto, hosts[src], hosts[dst], view[ihl:total])


def _ipv6(index: int, ts: int, view: memoryview, hosts: _Hosts) -> Packet | None:
    if len(view) < 40:
        raise _Unusual
    first, plen, nxt, _hops, src, dst = _IPV6.unpack_from(view)
    if first >> 28 != 6 or nxt not in (_TCP, _UDP) or plen == 0:
        raise _Unusual  # extension headers, jumbograms: scapy knows them
    return _transport(index, ts, nxt, hosts[src], hosts[dst], view[40 : 40 + plen])


def _fast(index: int, ts: int, frame: bytes, linktype: int, hosts: _Hosts) -> Packet | None:
    view = memoryview(frame)
    if linktype == DLT_EN10MB:
        if len(view) < 14:
            raise _Unusual
        ethertype = (frame[12] << 8) | frame[13]
        view = view[14:]
        if ethertype == _ETH_IPV4:
            return _ipv4(index, ts, view, hosts)
        if ethertype == _ETH_IPV6:
            return _ipv6(index, ts, view, hosts)
        raise _Unusual
    if linktype in RAW_IP_LINKTYPES and view:
        version = frame[0] >> 4
        if version == 4:
            return _ipv4(index, ts, view, hosts)
        if version == 6:
            return _ipv6(index, ts, view, hosts)
    raise _Unusual


def parse_packets(raw: RawCapture) -> list[Packet]:
    """The TCP segments and UDP datagrams of a capture (IPv4 and IPv6), in capture order.

    `Packet.index` is the frame's position in the capture, so frames that are
    not TCP/UDP over IP (or IP fragments) leave gaps. Payloads are cut at the
    IP total length, never including Ethernet padding.
    """
    hosts = _Hosts()
    parsed: list[Packet | None] = []
    unusual: list[int] = []
    for index, (ts, frame) in enumerate(raw.frames):
        try:
            parsed.append(_fast(index, ts, frame, raw.linktype, hosts))
        except (_Unusual, struct.error):
            parsed.append(None)
            unusual.append(index)
    if unusual:
        for packet in parse_with_scapy(raw, unusual):
            parsed[packet.index] = packet
    return [p for p in parsed if p is not None]


def parse_with_scapy(raw: RawCapture, indices: Iterable[int] | None = None) -> list[Packet]:
    """Parse frames (all, or those at `indices`) by building scapy packets: slow, but knows every layer."""
    from scapy.config import conf
    from scapy.layers.inet import IP, TCP, UDP
    from scapy.layers.inet6 import IPv6
    from scapy.layers.l2 import Ether  # noqa: F401  (registers DLT_EN10MB)

    link_cls = conf.l2types.num2layer.get(raw.linktype)
    packets: list[Packet] = []
    for index in range(len(raw.frames)) if indices is None else indices:
        ts, frame = raw.frames[index]
        if raw.linktype in RAW_IP_LINKTYPES:
            link_cls = IPv6 if frame[:1] and frame[0] >> 4 == 6 else IP
        if link_cls is None:
            raise ValueError(f"cannot parse link type {raw.linktype}")
        try:
            pkt = link_cls(frame)
        except (struct.error, ValueError, IndexError, TypeError):  # too short or broken: no packet to show
            continue
        net = pkt.getlayer(IP)
        if net is not None:
            if net.frag or net.flags.MF:  # a fragment: no whole transport header to read
                continue
        else:
            net = pkt.getlayer(IPv6)
            if net is None:
                continue
        tcp = net.getlayer(TCP)
        if tcp is not None:
            seg = tcp.original or b""
            src, dst = SockAddr(net.src, tcp.sport), SockAddr(net.dst, tcp.dport)
            flags = TcpFlags(int(tcp.flags) & 0x3F)
            packets.append(
                Packet(index, ts, Proto.TCP, src, dst, bytes(seg[tcp.dataofs * 4 :]), flags, tcp.seq, tcp.ack)
            )
            continue
        udp = net.getlayer(UDP)
        if udp is not None:
            dgram = udp.original or b""
            size = udp.len - 8 if udp.len is not None and udp.len >= 8 else len(dgram) - 8
            src, dst = SockAddr(net.src, udp.sport), SockAddr(net.dst, udp.dport)
            packets.append(Packet(index, ts, Proto.UDP, src, dst, bytes(dgram[8 : 8 + size])))
    return packets
