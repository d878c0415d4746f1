"""Lanes: which lifeline every process, kernel buffer and socket gets, and in what left-to-right order.

Computed once per view, before any row exists: the steps, the items and the
packet arrows all ask `Lanes` where an event or a packet is drawn. Each lane
also gets a `family`: lanes of one family whose lives do not overlap may later
share a column (a server's successive client handlers, successive clients).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ipctrace.link import Channel, GroupId, LinkedTrace, normalize
from ipctrace.model import Inode, Packet, Pid, Process, SockAddr, Trace
from ipctrace.order import OrderedTrace
from ipctrace.render.i18n import group_title, tr
from ipctrace.render.layout.model import ChannelLane, LaneId, ProcessLane, SocketLane
from ipctrace.render.layout.roles import process_names
from ipctrace.render.options import Lang, View

IP_KINDS = frozenset({"tcp", "udp"})


@dataclass(frozen=True, slots=True)
class LaneInfo:
    title: str
    subtitle: str
    pid: Pid | None = None
    family: tuple[object, ...] = ()  # lanes with equal families may share a column when their lives do not overlap
    detail: str = ""  # the head's third line (a process's pid, with `--pids`)


@dataclass(frozen=True)
class Lanes:
    """Which lane every event and packet belongs to, for one view."""

    order: tuple[LaneId, ...]
    info: Mapping[LaneId, LaneInfo]
    of_pid: Mapping[Pid, ProcessLane]
    group_lane: Mapping[GroupId, ChannelLane]  # channel group → kernel lane (kernel view, and non-IP in packets view)
    socket_lane: Mapping[Inode, SocketLane]  # socket inode → lane (packets view)
    #: (local, remote) normalized addresses → socket lane (packets view); remote "" for any peer (UDP)
    addr_lane: Mapping[tuple[SockAddr, SockAddr], SocketLane]
    endpoint_lane: Mapping[Inode, LaneId]  # any inode → its kernel or socket lane

    def packet_lanes(self, packet: Packet) -> tuple[SocketLane, SocketLane] | None:
        """The socket lanes a packet goes between, if both ends are drawn."""
        src, dst, anyone = _addr_key(packet.src), _addr_key(packet.dst), SockAddr("")
        a = self.addr_lane.get((src, dst)) or self.addr_lane.get((src, anyone))
        b = self.addr_lane.get((dst, src)) or self.addr_lane.get((dst, anyone))
        if a is None or b is None or a == b:
            return None
        return a, b


def _addr_key(addr: SockAddr | None) -> SockAddr:
    norm = normalize(addr)
    return norm if norm is not None else SockAddr("")


def _process_order(trace: Trace) -> list[Process]:
    """Processes depth first: each parent followed by its children, children in the order they started."""
    pids = {p.pid for p in trace.processes}
    children: dict[Pid, list[Process]] = defaultdict(list)
    roots = []
    for proc in trace.processes:
        if proc.ppid in pids and proc.ppid != proc.pid:
            children[proc.ppid].append(proc)
        else:
            roots.append(proc)
    out: list[Process] = []
    stack = list(reversed(roots))
    while stack:
        proc = stack.pop()
        out.append(proc)
        stack.extend(reversed(children[proc.pid]))
    return out


@dataclass
class _Keyed:
    """Lanes with their sort keys, collected by the builders below."""

    keys: list[tuple[float, int, int, LaneId]]
    info: dict[LaneId, LaneInfo]
    index: dict[LaneId, float]

    def mean(self, lanes: Iterable[LaneId], default: float) -> float:
        values = [self.index[lane] for lane in lanes if lane in self.index]
        return sum(values) / len(values) if values else default


def _process_lanes(ordered: OrderedTrace, lang: Lang, pids: bool) -> tuple[_Keyed, dict[Pid, ProcessLane]]:
    trace = ordered.trace
    names = process_names(trace, ordered.linked, lang, pids)
    keyed = _Keyed([], {}, {})
    of_pid: dict[Pid, ProcessLane] = {}
    family_of: dict[Pid, tuple[object, ...]] = {}
    for i, proc in enumerate(_process_order(trace)):
        lane = ProcessLane(proc.pid)
        of_pid[proc.pid] = lane
        parent_family = family_of.get(proc.ppid, ())
        family_of[proc.pid] = (parent_family, proc.argv, proc.forked)
        name = names[proc.pid]
        keyed.info[lane] = LaneInfo(name.title, name.subtitle, proc.pid, ("process", *family_of[proc.pid]), name.detail)
        keyed.keys.append((float(i), 0, 0, lane))
        keyed.index[lane] = float(i)
    return keyed, of_pid


def _families(keyed: _Keyed, lanes: Iterable[LaneId]) -> tuple[object, ...]:
    """The families of some lanes, as a set (sorted by their text, families are nested tuples)."""
    return tuple(sorted({keyed.info[lane].family for lane in lanes if lane in keyed.info}, key=repr))


def _channel_users(ordered: OrderedTrace, of_pid: Mapping[Pid, ProcessLane]) -> dict[GroupId, set[LaneId]]:
    """Which process lanes use each channel group: send, receive, create, hold or close one of its ends."""
    linked = ordered.linked
    users: dict[GroupId, set[LaneId]] = defaultdict(set)
    ep_group: dict[Inode, GroupId] = {}
    for ch in linked.channels:
        for ep in (ch.src, ch.dst):
            if ep is not None:
                ep_group[ep.inode] = ch.group
        for key in (*ch.sends, *ch.recvs):
            if key.pid in of_pid:
                users[ch.group].add(of_pid[key.pid])
    for event in ordered.trace.events:
        ino = event.inode
        if ino is not None and ino in ep_group and event.pid in of_pid:
            users[ep_group[ino]].add(of_pid[event.pid])
    return users


def _first_use(ordered: OrderedTrace) -> dict[GroupId, int]:
    first: dict[GroupId, int] = {}
    for ch in ordered.linked.channels:
        for key in (*ch.sends, *ch.recvs):
            rank = ordered.rank(key)
            if rank < first.get(ch.group, 1 << 62):
                first[ch.group] = rank
    return first


def _kernel_lanes(
    ordered: OrderedTrace, keyed: _Keyed, of_pid: Mapping[Pid, ProcessLane], view: View, lang: Lang
) -> dict[GroupId, ChannelLane]:
    """One lane per pipe, socketpair or connection buffer (IP connections only in the kernel view)."""
    users = _channel_users(ordered, of_pid)
    first = _first_use(ordered)
    kinds: dict[GroupId, str] = {}
    for ch in ordered.linked.channels:
        kinds.setdefault(ch.group, ch.kind)
    group_lane: dict[GroupId, ChannelLane] = {}
    default = float(len(of_pid))
    for group, kind in kinds.items():
        if view is View.PACKETS and kind in IP_KINDS:
            continue
        lane = ChannelLane(group)
        group_lane[group] = lane
        lane_users = users.get(group, set())
        key = keyed.mean(lane_users, default) + (0.4 if len(lane_users) <= 1 else 0.0)
        family = ("channel", kind, _families(keyed, lane_users))
        keyed.info[lane] = LaneInfo(group_title(group, lang), tr("in_kernel", lang), family=family)
        keyed.keys.append((key, 1, first.get(group, 0), lane))
    return group_lane


def _socket_ends(
    linked: LinkedTrace,
) -> tuple[
    dict[Inode, SockAddr | None], dict[Inode, Inode], dict[Inode, Channel], dict[tuple[SockAddr, SockAddr], Inode]
]:
    """Per IP socket: its address, the socket at the other end, one channel it is on; and each 4-tuple's socket."""
    addr_of: dict[Inode, SockAddr | None] = {}
    tuples: dict[tuple[SockAddr, SockAddr], Inode] = {}
    peer: dict[Inode, Inode] = {}
    channel_of: dict[Inode, Channel] = {}
    for ch in linked.channels:
        if ch.kind not in IP_KINDS:
            continue
        for ep, addr in ((ch.src, ch.src_addr), (ch.dst, ch.dst_addr)):
            if ep is not None:
                addr_of.setdefault(ep.inode, addr)
                channel_of.setdefault(ep.inode, ch)
        if ch.src is not None and ch.dst is not None:
            peer[ch.src.inode], peer[ch.dst.inode] = ch.dst.inode, ch.src.inode
        if ch.src_addr is not None and ch.dst_addr is not None:
            src, dst = _addr_key(ch.src_addr), _addr_key(ch.dst_addr)
            if ch.src is not None:
                tuples.setdefault((src, dst), ch.src.inode)
            if ch.dst is not None:
                tuples.setdefault((dst, src), ch.dst.inode)
    return addr_of, peer, channel_of, tuples


def _socket_owners(
    linked: LinkedTrace, of_pid: Mapping[Pid, ProcessLane]
) -> tuple[dict[Inode, set[LaneId]], dict[Inode, str]]:
    """Per IP socket: the process lanes that sent or received through it, and its side of the connection."""
    owners: dict[Inode, set[LaneId]] = defaultdict(set)
    for ch in linked.channels:
        if ch.kind in IP_KINDS:
            for ep, keys in ((ch.src, ch.sends), (ch.dst, ch.recvs)):
                if ep is not None:
                    owners[ep.inode].update(of_pid[k.pid] for k in keys if k.pid in of_pid)
    side_of: dict[Inode, str] = {}
    for conn in linked.connections:
        for ep, side in ((conn.client, "client"), (conn.server, "server")):
            if ep is not None and conn.kind in IP_KINDS:
                side_of[ep.inode] = side
    return owners, side_of


def _socket_lanes(
    ordered: OrderedTrace, keyed: _Keyed, of_pid: Mapping[Pid, ProcessLane], lang: Lang
) -> tuple[dict[Inode, SocketLane], dict[tuple[SockAddr, SockAddr], SocketLane]]:
    """Packets view: a lane per TCP or UDP socket, beside the process that owns it, toward its peer."""
    linked = ordered.linked
    addr_of, peer, channel_of, tuples = _socket_ends(linked)
    owners, side_of = _socket_owners(linked, of_pid)
    socket_lane: dict[Inode, SocketLane] = {}
    addr_lane: dict[tuple[SockAddr, SockAddr], SocketLane] = {}
    default = float(len(of_pid))
    for ino, addr in addr_of.items():
        lane = SocketLane(ino)
        socket_lane[ino] = lane
        if addr is not None and addr.port is not None:
            addr_lane.setdefault((_addr_key(addr), SockAddr("")), lane)
        own = keyed.mean(owners.get(ino, ()), default)
        other = keyed.mean(owners.get(peer[ino], ()), own + 1) if ino in peer else own + 1
        side = side_of.get(ino, "")
        subtitle = tr(f"{side}_socket", lang) if side else tr("socket", lang)
        kind = channel_of[ino].kind
        family = ("socket", kind, side, _families(keyed, owners.get(ino, ())))
        keyed.info[lane] = LaneInfo(f"{kind.upper()} {addr}", subtitle, family=family)
        places = [keyed.index[o] for o in owners.get(ino, ()) if o in keyed.index] or [own]
        keyed.keys.append((max(places) + 0.3 if other >= own else min(places) - 0.3, 2, 0, lane))  # facing its peer
    for key, ino in tuples.items():
        addr_lane[key] = socket_lane[ino]
    return socket_lane, addr_lane


def assign_lanes(ordered: OrderedTrace, view: View, lang: Lang, pids: bool = False) -> Lanes:
    """The lanes of one view, in left-to-right order (kernel and socket lanes next to the processes using them)."""
    keyed, of_pid = _process_lanes(ordered, lang, pids)
    group_lane: dict[GroupId, ChannelLane] = {}
    socket_lane: dict[Inode, SocketLane] = {}
    addr_lane: dict[tuple[SockAddr, SockAddr], SocketLane] = {}
    if view is not View.PROCESSES:
        group_lane = _kernel_lanes(ordered, keyed, of_pid, view, lang)
    if view is View.PACKETS:
        socket_lane, addr_lane = _socket_lanes(ordered, keyed, of_pid, lang)
    keyed.keys.sort(key=lambda item: item[:3])
    endpoint_lane: dict[Inode, LaneId] = {}
    for ch in ordered.linked.channels:
        if ch.group in group_lane:
            for ep in (ch.src, ch.dst):
                if ep is not None:
                    endpoint_lane[ep.inode] = group_lane[ch.group]
    for ino, ep_info in ordered.linked.endpoints.items():
        if ep_info.group is not None and ep_info.group in group_lane:
            endpoint_lane.setdefault(ino, group_lane[ep_info.group])
    endpoint_lane.update(socket_lane)
    return Lanes(
        tuple(lane for *_, lane in keyed.keys),
        keyed.info,
        of_pid,
        group_lane,
        socket_lane,
        addr_lane,
        endpoint_lane,
    )
