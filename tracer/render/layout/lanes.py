"""Lanes: which lifeline every process, kernel buffer and socket gets, and in what left-to-right order.

Computed once per view, before any row exists: the steps, the items and the
packet arrows all ask `Lanes` where an event or a packet is drawn.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ipctrace.link import GroupId
from ipctrace.model import Inode, Packet, Pid, Process, Trace
from ipctrace.order import OrderedTrace
from ipctrace.render.i18n import lane_names, tr
from ipctrace.render.layout.model import Lane

IP_KINDS = frozenset({"tcp", "udp"})


@dataclass(frozen=True)
class Lanes:
    """Which lane every event and packet belongs to, for one view."""

    order: tuple[str, ...]
    info: Mapping[str, Lane]
    of_pid: Mapping[Pid, str]
    group_lane: Mapping[GroupId, str]  # channel group → kernel lane (kernel view, and non-IP in packets view)
    socket_lane: Mapping[Inode, str]  # socket inode → lane (packets view)
    addr_lane: Mapping[tuple[str, int], str]  # normalized address → socket lane (packets view)
    endpoint_lane: Mapping[Inode, str] = field(default_factory=dict)  # any inode → its kernel lane


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

    def visit(proc: Process) -> None:
        out.append(proc)
        for child in children[proc.pid]:
            visit(child)

    for root in roots:
        visit(root)
    return out


def _addr_key(addr: object) -> tuple[str, int] | None:
    from ipctrace.link import normalize

    if addr is None:
        return None
    norm = normalize(addr)  # type: ignore[arg-type]
    if norm is None or norm.port is None:
        return None
    return (norm.host, norm.port)


def assign_lanes(ordered: OrderedTrace, view: str, lang: str) -> Lanes:
    """The lanes of one view, in left-to-right order (kernel and socket lanes next to the processes using them)."""
    trace, linked = ordered.trace, ordered.linked
    procs = _process_order(trace)
    parents = {p.ppid for p in trace.processes}
    info: dict[str, Lane] = {}
    keyed: list[tuple[float, int, str]] = []
    of_pid: dict[Pid, str] = {}
    for i, proc in enumerate(procs):
        lane_id = f"p{proc.pid}"
        of_pid[proc.pid] = lane_id
        title, subtitle = lane_names(proc.role, proc.pid, proc.pid in parents, lang)
        info[lane_id] = Lane(lane_id, "process", title, subtitle, pid=proc.pid)
        keyed.append((float(i), 0, lane_id))
    index = {lane_id: float(i) for i, (_, _, lane_id) in enumerate(keyed)}

    group_users: dict[GroupId, set[str]] = defaultdict(set)
    group_kind: dict[GroupId, str] = {}
    ep_group: dict[Inode, GroupId] = {}
    for ch in linked.channels:
        group_kind[ch.group] = ch.kind
        for ep in (ch.src, ch.dst):
            if ep is not None:
                ep_group[ep.inode] = ch.group
        for key in (*ch.sends, *ch.recvs):
            if key.pid in of_pid:
                group_users[ch.group].add(of_pid[key.pid])
    for ino, ep_info in linked.endpoints.items():
        if ep_info.group and ino not in ep_group and ep_info.group in group_kind:
            ep_group[ino] = ep_info.group
    for event in trace.events:  # whoever created, held or closed a pipe or socket uses it too
        ep = event.endpoint
        if ep is not None and ep.inode in ep_group and event.pid in of_pid:
            group_users[ep_group[ep.inode]].add(of_pid[event.pid])

    group_lane: dict[GroupId, str] = {}
    socket_lane: dict[Inode, str] = {}
    addr_lane: dict[tuple[str, int], str] = {}
    first_use: dict[str, int] = {}

    def mean(lanes: Iterable[str]) -> float:
        values = [index[lane] for lane in lanes if lane in index]
        return sum(values) / len(values) if values else float(len(procs))

    if view in ("kernel", "packets"):
        for group, kind in group_kind.items():
            if view == "packets" and kind in IP_KINDS:
                continue
            lane_id = f"k:{group}"
            group_lane[group] = lane_id
            users = group_users.get(group, set())
            key = mean(users)
            if len(users) <= 1:
                key += 0.4
            number = str(group.number)
            word = kind if kind in ("pipe", "socketpair", "unix", "tcp", "udp", "unix-dgram") else "socket"
            title = tr(word, lang)
            title += f" #{number}" if number else ""
            info[lane_id] = Lane(lane_id, "channel", title, tr("in_kernel", lang))
            keyed.append((key, 1, lane_id))
            first_use[lane_id] = min(
                (ordered.rank(k) for ch in linked.channels if ch.group == group for k in (*ch.sends, *ch.recvs)),
                default=0,
            )
    if view == "packets":
        owners: dict[Inode, set[str]] = defaultdict(set)
        peer: dict[Inode, Inode] = {}
        addr_of: dict[Inode, object] = {}
        conn_side: dict[Inode, str] = {}
        for conn in linked.connections:
            if conn.kind in IP_KINDS:
                for ep, side in ((conn.client, "client"), (conn.server, "server")):
                    if ep is not None:
                        conn_side[ep.inode] = side
        for ch in linked.channels:
            if ch.kind not in IP_KINDS:
                continue
            ends = [(ch.src, ch.src_addr, ch.sends), (ch.dst, ch.dst_addr, ch.recvs)]
            for ep, addr, keys in ends:
                if ep is None:
                    continue
                ino = ep.inode
                addr_of.setdefault(ino, addr)
                for key in keys:
                    if key.pid in of_pid:
                        owners[ino].add(of_pid[key.pid])
            if ch.src is not None and ch.dst is not None:
                peer[ch.src.inode] = ch.dst.inode
                peer[ch.dst.inode] = ch.src.inode
        for ino, addr in addr_of.items():
            lane_id = f"s:{ino.dev}:{ino.ino}"
            socket_lane[ino] = lane_id
            akey = _addr_key(addr)
            if akey is not None:
                addr_lane.setdefault(akey, lane_id)
            own = mean(owners.get(ino, ()))
            other = mean(owners.get(peer[ino], ())) if ino in peer else own + 1
            key = own + (0.3 if other >= own else -0.3)
            side = conn_side.get(ino, "")
            kind = next(
                (
                    ch.kind
                    for ch in linked.channels
                    if ch.src is not None and ch.src.inode == ino or ch.dst is not None and ch.dst.inode == ino
                ),
                "tcp",
            )
            subtitle = tr(f"{side}_socket", lang) if side else tr("socket", lang)
            info[lane_id] = Lane(lane_id, "socket", f"{kind.upper()} {addr}", subtitle)
            keyed.append((key, 2, lane_id))
    if view == "packets":
        for ino, ep_info in linked.endpoints.items():
            if ino in socket_lane or ep_info.local is None or ep_info.local.port is None:
                continue
            if ep_info.endpoint.kind not in ("tcp", "tcp6", "udp", "udp6"):
                continue
            same_port = [lane for (host, port), lane in addr_lane.items() if port == ep_info.local.port]
            if len(set(same_port)) == 1:
                socket_lane[ino] = same_port[0]  # a listening socket: its port is the server socket's lane
    keyed.sort(key=lambda item: (item[0], item[1], first_use.get(item[2], 0)))
    endpoint_lane = {ino: group_lane[g] for ino, g in ep_group.items() if g in group_lane}
    endpoint_lane.update(socket_lane)
    return Lanes(
        tuple(lane_id for _, _, lane_id in keyed), info, of_pid, group_lane, socket_lane, addr_lane, endpoint_lane
    )


def _packet_lanes(packet: Packet, lanes: Lanes) -> tuple[str, str] | None:
    src, dst = _addr_key(packet.src), _addr_key(packet.dst)
    if src is None or dst is None:
        return None
    a, b = lanes.addr_lane.get(src), lanes.addr_lane.get(dst)
    if a is None or b is None or a == b:
        return None
    return a, b
