"""The layout model of a sequence diagram, computed once and read by every renderer.

From a linked, ordered trace to lanes (one per process, plus one per pipe /
socket buffer in the kernel view, one per socket in the packets view), rows
(one per step of `tracer.order`'s topological order, so a receive is never
drawn before its send), arrows, activation bars, notes and folded loops —
with positions in points, y growing downwards, so that graphviz only draws.

The stages are pure functions applied in order (STYLE.md, processors):
`build_steps` (what gets a row), `fold_steps` (repeated exchanges become one
iteration with a count), `build_diagram` (rows, items and coordinates).
"""

from __future__ import annotations

import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from tracer.link import Channel, Flow, LinkedTrace
from tracer.model import RECV_CALLS, SEND_CALLS, Event, EventKey, Packet, Pid, Process, Trace
from tracer.order import Node, OrderedTrace, PacketNode
from tracer.render.base import RenderOptions
from tracer.render.i18n import duration, lane_names, tr
from tracer.render.labels import show_bytes, show_call, show_flags, show_size, show_text_line

OUTPUT_CALLS = frozenset({"stdout", "stderr", "stdin"})
#: Calls that can wait for another process; their wait is drawn as an activation bar.
BLOCKING_CALLS = RECV_CALLS | frozenset({"accept", "connect", "connect_ex", "wait", "waitpid", "sleep", "select"})
SLOW_NANOS = 1_000_000  # any call slower than this (a send into a full buffer) gets a bar too
IP_KINDS = frozenset({"tcp", "udp"})
MAX_PERIOD = 24  # longest repeated block (in rows) folding looks for
NOTE_LINES = 6
HEAD_HEIGHT_LINES = 2.0  # a lane's head box: title and subtitle  # printed lines shown in one note before "…"


# -- the model ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Lane:
    """A lifeline: a process, a kernel buffer (pipe, socketpair, connection) or a socket on the wire."""

    id: str
    kind: str  # process, channel, socket
    title: str
    subtitle: str
    pid: Pid | None = None
    first_row: int = 0
    last_row: int = 0
    end: str = ""  # exit status, for a process
    open_end: bool = False  # the process was still running (blocked) when the run ended
    x: float = 0.0


@dataclass(frozen=True)
class Arrow:
    """A message between two lanes, from the sending row to the receiving row (never upwards)."""

    id: str
    kind: str  # msg, in, out, packet, fork, connect, eof, lost, found
    src: str
    dst: str
    src_row: int
    dst_row: int
    label: str
    detail: str = ""  # the byte count or packet numbers, drawn after the label
    flows: tuple[int, ...] = ()  # indices into LinkedTrace.flows
    packet: int | None = None
    title: str = ""  # a description for the SVG <title> (tooltips, tests)
    label_at: str = "src"  # src: above the sending end; dst: below the receiving end
    dashed: bool = False


@dataclass(frozen=True)
class Bar:
    """An activation bar: a call that waited (wait), slept (sleep), never returned (open), bytes held (held)."""

    lane: str
    row0: int
    row1: int
    kind: str
    label: str = ""


@dataclass(frozen=True)
class CallLabel:
    """What a process called at a row, written beside its lifeline."""

    lane: str
    row: int
    text: str
    kind: str = "call"  # call, enter, error, blocked, head
    side: str = "right"


@dataclass(frozen=True)
class NoteLine:
    """One line of a note: what was printed, and what was typed after it (a prompt and its answer)."""

    text: str
    kind: str = "out"  # out, err, in (typed / scripted input)
    typed: str = ""  # input read right after a prompt on the same line


@dataclass(frozen=True)
class Note:
    """Lines a process printed (or read from its terminal), at the moment it did."""

    lane: str
    row: int
    lines: tuple[NoteLine, ...]
    side: str = "right"


@dataclass(frozen=True)
class Fold:
    """Rows that stand for `count` repetitions of the same exchange (a loop)."""

    row0: int
    row1: int
    count: int
    label: str
    detail: str
    lanes: tuple[str, ...]
    flows: tuple[int, ...]  # every flow the loop stands for
    events: int = 0  # events folded away


@dataclass(frozen=True)
class Row:
    index: int
    kind: str  # head, call, enter, output, exit, packet
    lane: str
    keys: tuple[Node, ...]
    y: float = 0.0  # the row's line: calls, arrows and notes are centred on it
    height: float = 0.0  # the row's own height around `y`
    pre: float = 0.0  # room above it for the head of a lane that starts here


@dataclass(frozen=True)
class LegendEntry:
    symbol: str  # msg, kernel, packet, wait, sleep, open, note, error, dashed, loop
    text: str


@dataclass(frozen=True)
class Diagram:
    """Everything a renderer needs, positions included (points, y down)."""

    title: str
    subtitle: str
    options: RenderOptions
    lanes: tuple[Lane, ...]
    rows: tuple[Row, ...]
    arrows: tuple[Arrow, ...]
    bars: tuple[Bar, ...]
    calls: tuple[CallLabel, ...]
    notes: tuple[Note, ...]
    folds: tuple[Fold, ...]
    legend: tuple[LegendEntry, ...]
    width: float = 0.0
    height: float = 0.0
    top: float = 0.0  # y of the first row's top edge (the title block is above)
    font: str = "DejaVu Sans"
    mono: str = "DejaVu Sans Mono"
    shown_flows: tuple[int, ...] = ()  # flows drawn as arrows
    folded_flows: tuple[int, ...] = ()  # flows that only a fold stands for
    lane_index: Mapping[str, int] = field(default_factory=dict)

    def lane(self, lane_id: str) -> Lane:
        return self.lanes[self.lane_index[lane_id]]


# -- text sizes -------------------------------------------------------------------------------------

def text_width(text: str, size: float, mono: bool = False) -> float:
    """Estimated width in points: generous, so labels never overflow what was reserved for them."""
    width = 0.0
    for ch in text:
        if unicodedata.east_asian_width(ch) in ("W", "F"):
            width += 1.0
        elif mono:
            width += 0.61
        elif ch in "il.,:;'|!()[] ":
            width += 0.36
        elif ch in "mwMW@%":
            width += 0.9
        elif ch.isupper():
            width += 0.7
        else:
            width += 0.6
    return width * size


# -- steps: what gets a row --------------------------------------------------------------------------

@dataclass(frozen=True)
class Step:
    """One row to be: a call, the entry of a blocking call, printed output, a packet, a lane's head or end."""

    kind: str  # head, call, enter, output, exit, packet
    lane: str
    keys: tuple[Node, ...]
    sig: tuple[object, ...]
    time: int = 0


@dataclass(frozen=True)
class FoldedSteps:
    """The output of `fold_steps`: one representative iteration standing for `count` of them."""

    steps: tuple[Step, ...]
    count: int
    hidden: frozenset[Node]  # every node of the other iterations
    all_keys: tuple[Node, ...]  # every node of every iteration


@dataclass(frozen=True)
class Lanes:
    """Which lane every event and packet belongs to, for one view."""

    order: tuple[str, ...]
    info: Mapping[str, Lane]
    of_pid: Mapping[Pid, str]
    group_lane: Mapping[str, str]  # channel group → kernel lane (kernel view, and non-IP in packets view)
    socket_lane: Mapping[tuple[int, int], str]  # socket inode → lane (packets view)
    addr_lane: Mapping[tuple[str, int], str]  # normalized address → socket lane (packets view)
    endpoint_lane: Mapping[tuple[int, int], str] = field(default_factory=dict)  # any inode → its kernel lane


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


def _channel_of(linked: LinkedTrace, key: EventKey) -> Channel | None:
    flows = linked.flows_of(key)
    if flows:
        return linked.channel(flows[0].channel)
    return None


def _addr_key(addr: object) -> tuple[str, int] | None:
    from tracer.link import normalize

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

    group_users: dict[str, set[str]] = defaultdict(set)
    group_kind: dict[str, str] = {}
    ep_group: dict[tuple[int, int], str] = {}
    for ch in linked.channels:
        group_kind[ch.group] = ch.kind
        for ep in (ch.src, ch.dst):
            if ep is not None:
                ep_group[(ep.dev, ep.ino)] = ch.group
        for key in (*ch.sends, *ch.recvs):
            if key.pid in of_pid:
                group_users[ch.group].add(of_pid[key.pid])
    for ino, ep_info in linked.endpoints.items():
        if ep_info.group and ino not in ep_group and ep_info.group in group_kind:
            ep_group[ino] = ep_info.group
    for event in trace.events:  # whoever created, held or closed a pipe or socket uses it too
        ep = event.endpoint
        if ep is not None and (ep.dev, ep.ino) in ep_group and event.pid in of_pid:
            group_users[ep_group[(ep.dev, ep.ino)]].add(of_pid[event.pid])

    group_lane: dict[str, str] = {}
    socket_lane: dict[tuple[int, int], str] = {}
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
            number = group.split("#", 1)[1] if "#" in group else ""
            word = kind if kind in ("pipe", "socketpair", "unix", "tcp", "udp", "unix-dgram") else "socket"
            title = tr(word, lang)
            title += f" #{number}" if number else ""
            info[lane_id] = Lane(lane_id, "channel", title, tr("in_kernel", lang))
            keyed.append((key, 1, lane_id))
            first_use[lane_id] = min((ordered.rank(k) for ch in linked.channels if ch.group == group
                                      for k in (*ch.sends, *ch.recvs)), default=0)
    if view == "packets":
        owners: dict[tuple[int, int], set[str]] = defaultdict(set)
        peer: dict[tuple[int, int], tuple[int, int]] = {}
        addr_of: dict[tuple[int, int], object] = {}
        conn_side: dict[tuple[int, int], str] = {}
        for conn in linked.connections:
            if conn.kind in IP_KINDS:
                for ep, side in ((conn.client, "client"), (conn.server, "server")):
                    if ep is not None:
                        conn_side[(ep.dev, ep.ino)] = side
        for ch in linked.channels:
            if ch.kind not in IP_KINDS:
                continue
            ends = [(ch.src, ch.src_addr, ch.sends), (ch.dst, ch.dst_addr, ch.recvs)]
            for ep, addr, keys in ends:
                if ep is None:
                    continue
                ino = (ep.dev, ep.ino)
                addr_of.setdefault(ino, addr)
                for key in keys:
                    if key.pid in of_pid:
                        owners[ino].add(of_pid[key.pid])
            if ch.src is not None and ch.dst is not None:
                peer[(ch.src.dev, ch.src.ino)] = (ch.dst.dev, ch.dst.ino)
                peer[(ch.dst.dev, ch.dst.ino)] = (ch.src.dev, ch.src.ino)
        for ino, addr in addr_of.items():
            lane_id = f"s:{ino[0]}:{ino[1]}"
            socket_lane[ino] = lane_id
            akey = _addr_key(addr)
            if akey is not None:
                addr_lane.setdefault(akey, lane_id)
            own = mean(owners.get(ino, ()))
            other = mean(owners.get(peer[ino], ())) if ino in peer else own + 1
            key = own + (0.3 if other >= own else -0.3)
            side = conn_side.get(ino, "")
            kind = next((ch.kind for ch in linked.channels if ch.src is not None and (ch.src.dev, ch.src.ino) == ino
                         or ch.dst is not None and (ch.dst.dev, ch.dst.ino) == ino), "tcp")
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
    return Lanes(tuple(lane_id for _, _, lane_id in keyed), info, of_pid, group_lane, socket_lane, addr_lane,
                 endpoint_lane)


def _packet_shown(packet: Packet, mode: str) -> bool:
    if mode == "none":
        return False
    if mode == "all" or packet.proto != "tcp":
        return True
    return bool(packet.payload) or any(f in packet.flags for f in "SFR")


def _packet_lanes(packet: Packet, lanes: Lanes) -> tuple[str, str] | None:
    src, dst = _addr_key(packet.src), _addr_key(packet.dst)
    if src is None or dst is None:
        return None
    a, b = lanes.addr_lane.get(src), lanes.addr_lane.get(dst)
    if a is None or b is None or a == b:
        return None
    return a, b


def _done(event: Event) -> int:
    return event.t1 if event.t1 is not None else event.t0


def build_steps(ordered: OrderedTrace, lanes: Lanes, options: RenderOptions) -> list[Step]:
    """The rows to draw, in the topological order: blocking calls get an entry row, printed lines merge."""
    trace, linked = ordered.trace, ordered.linked
    events = {e.key: e for e in trace.events}
    packets = {p.index: p for p in trace.packets}
    forked = {e.result for e in trace.events if e.call == "fork" and not e.failed and isinstance(e.result, int)}
    steps: list[Step] = []
    for node in ordered.order:
        if isinstance(node, PacketNode):
            if options.view != "packets" or node.index not in packets:
                continue
            packet = packets[node.index]
            ends = _packet_lanes(packet, lanes)
            if ends is None or not _packet_shown(packet, options.packets):
                continue
            plink = linked.packet_link(node.index)
            role = plink.role if plink is not None else packet.flags
            sig = ("packet", ends[0], ends[1], role, packet.flags, packet.length.bit_length())
            steps.append(Step("packet", ends[0], (node,), sig, packet.ts))
            continue
        event = events[node]
        lane = lanes.of_pid.get(event.pid)
        if lane is None:
            continue
        if event.call == "start":
            if event.pid in forked and event.args.get("how") == "fork":
                continue  # the child's head is drawn at its parent's fork()
            steps.append(Step("head", lane, (node,), ("head", lane), _done(event)))
        elif event.call in OUTPUT_CALLS:
            last = steps[-1] if steps else None
            if last is not None and last.kind == "output" and last.lane == lane:
                steps[-1] = Step("output", lane, (*last.keys, node), last.sig, last.time)
            else:
                steps.append(Step("output", lane, (node,), ("output", lane), _done(event)))
        elif event.call == "exit":
            steps.append(Step("exit", lane, (node,), ("exit", lane), _done(event)))
        else:
            ch = _channel_of(linked, node)
            where = ch.group if ch is not None else (event.endpoint.kind if event.endpoint else "")
            direction = "out" if event.call in SEND_CALLS else "in" if event.call in RECV_CALLS else ""
            size = (event.size or 0).bit_length() if direction else 0  # a 4-byte DONE is not a 1 KiB chunk
            sig = ("call", lane, event.call, where, direction, size, event.error or "", event.blocked)
            steps.append(Step("call", lane, (node,), sig, _done(event)))
    return _insert_entries(steps, events)


def _insert_entries(steps: list[Step], events: Mapping[EventKey, Event]) -> list[Step]:
    """Give each call that waited an entry row at the moment it was called, so its wait is a bar."""
    head_at: dict[str, int] = {}
    insert_before: dict[int, list[Step]] = defaultdict(list)
    moved: set[int] = set()
    for i, step in enumerate(steps):
        if step.kind == "head":
            head_at[step.lane] = i
        if step.kind != "call":
            continue
        event = events[step.keys[0]]  # type: ignore[index]
        if event.blocked or event.t1 is None:
            # never returned: draw it where it was called, its bar open to the end
            j = i
            floor = head_at.get(step.lane, -1)
            while j - 1 > floor and steps[j - 1].lane != step.lane and steps[j - 1].time > event.t0:
                j -= 1
            if j < i:
                insert_before[j].append(step)
                moved.add(i)
            continue
        slow = event.t1 - event.t0 >= SLOW_NANOS
        if event.call not in BLOCKING_CALLS and not slow:
            continue
        j = i
        floor = head_at.get(step.lane, -1)
        while j - 1 > floor and steps[j - 1].lane != step.lane and steps[j - 1].time > event.t0:
            j -= 1
        if j < i or event.call == "sleep":
            insert_before[j].append(Step("enter", step.lane, step.keys, ("enter", *step.sig[1:]), event.t0))
    out: list[Step] = []
    for i, step in enumerate(steps):
        out.extend(insert_before.get(i, ()))
        if i not in moved:
            out.append(step)
    return out


# -- folding: a pure transform on steps -------------------------------------------------------------

def _partners(steps: Sequence[Step], ordered: OrderedTrace) -> list[tuple[int, int]]:
    """For each step, the lowest and highest step index it is tied to by a flow, a packet, a fork or an entry."""
    linked = ordered.linked
    where: dict[Node, list[int]] = defaultdict(list)
    for i, step in enumerate(steps):
        for key in step.keys:
            where[key].append(i)
    ties: dict[Node, set[Node]] = defaultdict(set)
    for flow in linked.flows:
        if flow.send is not None and flow.recv is not None:
            ties[flow.send].add(flow.recv)
            ties[flow.recv].add(flow.send)
    for plink in linked.packet_links:
        node = PacketNode(plink.packet)
        for key in (*plink.causes, *plink.effects):
            ties[node].add(key)
            ties[key].add(node)
    out = []
    for i, step in enumerate(steps):
        lo = hi = i
        for key in step.keys:
            for j in where[key]:
                lo, hi = min(lo, j), max(hi, j)
            for other in ties.get(key, ()):
                for j in where.get(other, ()):
                    lo, hi = min(lo, j), max(hi, j)
        out.append((lo, hi))
    return out


def _closed(partners: Sequence[tuple[int, int]], a: int, b: int, members: Iterable[int] | None = None) -> bool:
    idx = range(a, b) if members is None else members
    return all(a <= partners[i][0] and partners[i][1] < b for i in idx)


def _multiset_prefix(sigs: Sequence[tuple[object, ...]]) -> list[int]:
    """Prefix sums of a random value per signature: equal block sums mean equal multisets (with certainty enough)."""
    import random

    rng = random.Random(0x1BC)
    value: dict[tuple[object, ...], int] = {}
    prefix = [0]
    for sig in sigs:
        if sig not in value:
            value[sig] = rng.getrandbits(62)
        prefix.append(prefix[-1] + value[sig])
    return prefix


def _find_folds(core: Sequence[Step], partners: Sequence[tuple[int, int]], min_repeat: int
                ) -> list[tuple[int, int, int]]:
    """(start, period, count) of each fold among `core` steps, greedy from the top."""
    prefix = _multiset_prefix([s.sig for s in core])
    n = len(core)
    out = []
    i = 0
    while i < n:
        best: tuple[int, int] | None = None
        for p in range(1, MAX_PERIOD + 1):
            if i + p * min_repeat > n:
                break
            block = prefix[i + p] - prefix[i]
            k = 1
            while i + (k + 1) * p <= n and prefix[i + (k + 1) * p] - prefix[i + k * p] == block:
                k += 1
            if k < min_repeat or (best is not None and k * p <= best[0] * best[1]):
                continue
            if min(partners[j][0] for j in range(i, i + p)) < i:
                continue  # the first block is tied to something above: no fold can start here
            while k >= min_repeat and not _closed(partners, i, i + k * p):
                k -= 1
            if k >= min_repeat and (best is None or k * p > best[0] * best[1]):
                best = (p, k)
        if best is None:
            i += 1
            continue
        out.append((i, best[0], best[1]))
        i += best[0] * best[1]
    return out


def fold_steps(steps: Sequence[Step], ordered: OrderedTrace, min_repeat: int) -> list[Step | FoldedSteps]:
    """Replace runs of a repeated exchange by one representative iteration and a count.

    A run is `k` blocks with the same multiset of step signatures (the order
    inside a block may vary) and no flow or packet tying a step inside to one
    outside. Entry rows of blocking calls are left out of the comparison (a
    receive waits in some iterations and not in others) and follow their calls.
    """
    core_pos = [i for i, s in enumerate(steps) if s.kind != "enter"]
    core = [steps[i] for i in core_pos]
    partners = _partners(core, ordered)
    folds = _find_folds(core, partners, min_repeat)
    enters = [(i, s) for i, s in enumerate(steps) if s.kind == "enter"]
    call_pos = {s.keys[0]: core_pos[j] for j, s in enumerate(core) if s.kind == "call"}

    out: list[Step | FoldedSteps] = []
    cursor = 0  # next core index
    enter_at = 0  # next entry (by original position)
    after: list[Step] = []

    def flush_enters(until: int, hidden: frozenset[Node] = frozenset()) -> list[Step]:
        nonlocal enter_at
        taken = []
        while enter_at < len(enters) and enters[enter_at][0] < until:
            step = enters[enter_at][1]
            if step.keys[0] not in hidden:
                taken.append(step)
            enter_at += 1
        return taken

    for start, p, k in [*folds, (len(core), 0, 0)]:
        while cursor < start:
            out.extend(flush_enters(core_pos[cursor]))
            out.extend(after)
            after = []
            out.append(core[cursor])
            cursor += 1
        if p == 0:
            break
        run = list(range(start, start + p * k))
        per_lane: Counter[str] = Counter(core[j].lane for j in run)
        taken: Counter[str] = Counter()
        rep = []
        for j in run:
            lane = core[j].lane
            if taken[lane] < per_lane[lane] // k:
                taken[lane] += 1
                rep.append(j)
        if not _ties_inside(partners, rep):
            rep = run[:p]
        shown = {key for j in rep for key in core[j].keys}
        all_keys = tuple(key for j in run for key in core[j].keys)
        hidden = frozenset(key for key in all_keys if key not in shown)
        end_pos = core_pos[run[-1]] + 1
        inside = [*flush_enters(core_pos[start]), *flush_enters(end_pos)]
        last_pos = core_pos[run[-1]]
        chosen: list[tuple[int, Step]] = [(core_pos[j], core[j]) for j in rep]
        for step in inside:
            if step.keys[0] in hidden:
                continue
            pos = call_pos.get(step.keys[0], end_pos)
            if pos > last_pos:
                after.append(step)  # entered in the loop, returned after it
            else:
                first = min((q for q, s in chosen if s.keys[0] == step.keys[0]), default=core_pos[start])
                chosen.append((first - 0.5, step))  # type: ignore[arg-type]
        chosen.sort(key=lambda item: item[0])
        out.append(FoldedSteps(tuple(s for _, s in chosen), k, hidden, all_keys))
        cursor = start + p * k
    out.extend(flush_enters(len(steps) + 1))
    out.extend(after)
    return out


def _ties_inside(partners: Sequence[tuple[int, int]], members: Sequence[int]) -> bool:
    """True when the chosen steps are tied only among themselves."""
    chosen = set(members)
    return all((partners[j][0] in chosen or partners[j][0] == j) and (partners[j][1] in chosen or partners[j][1] == j)
               for j in members)


# -- the diagram ------------------------------------------------------------------------------------

class _Builder:
    """Turns (possibly folded) steps into rows and items, then computes positions."""

    def __init__(self, ordered: OrderedTrace, options: RenderOptions, lanes: Lanes,
                 font: str, mono: str) -> None:
        self.ordered = ordered
        self.trace = ordered.trace
        self.linked = ordered.linked
        self.options = options
        self.lang = options.lang
        self.lanes = lanes
        self.font, self.mono = font, mono
        self.events = {e.key: e for e in self.trace.events}
        self.packets = {p.index: p for p in self.trace.packets}
        self.rows: list[Row] = []
        self.row_of: dict[Node, int] = {}
        self.enter_row: dict[Node, int] = {}
        self.arrows: list[Arrow] = []
        self.bars: list[Bar] = []
        self.calls: list[CallLabel] = []
        self.notes: list[Note] = []
        self.folds: list[Fold] = []
        self.hidden: set[Node] = set()
        self.folded_flows: set[int] = set()
        self.flow_index = {id(f): i for i, f in enumerate(self.linked.flows)}
        self.head_row: dict[str, int] = {}
        self.exit_row: dict[str, int] = {}
        self.isn = self._isns()

    # rows

    def add_rows(self, items: Sequence[Step | FoldedSteps]) -> None:
        for item in items:
            if isinstance(item, FoldedSteps):
                row0 = len(self.rows)
                for step in item.steps:
                    self._row(step)
                self.hidden |= item.hidden
                self._fold(item, row0, len(self.rows) - 1)
            else:
                self._row(item)

    def _row(self, step: Step) -> None:
        index = len(self.rows)
        self.rows.append(Row(index, step.kind, step.lane, step.keys))
        for key in step.keys:
            if step.kind == "enter":
                self.enter_row[key] = index
            else:
                self.row_of[key] = index

    def _fold(self, item: FoldedSteps, row0: int, row1: int) -> None:
        flows = sorted({self.flow_index[id(f)] for key in item.all_keys if isinstance(key, EventKey)
                        for f in self.linked.flows_of(key)})
        self.folded_flows |= {i for i in flows
                              if self.linked.flows[i].send in item.hidden or self.linked.flows[i].recv in item.hidden}
        sends = [self.events[k] for k in item.all_keys if isinstance(k, EventKey) and self.events[k].moves_data_out]
        lanes = tuple(dict.fromkeys(s.lane for s in item.steps))
        sizes = [e.size or 0 for e in sends]
        what = ""
        if sends:
            calls = sorted({e.call for e in sends})
            lo, hi = min(sizes), max(sizes)
            each = show_size(hi) if lo == hi else f"{lo:,}–{hi:,} B"
            what = f"{'/'.join(calls)} {each} · {tr('bytes_total', self.lang, b=show_size(sum(sizes)))}"
        label = tr("loop", self.lang, n=f"{item.count:,}")
        events = sum(1 for k in item.hidden if isinstance(k, EventKey))
        self.folds.append(Fold(row0, row1, item.count, label, what, lanes, tuple(flows), events))

    # items

    def build_items(self) -> None:
        view = self.options.view
        for row in self.rows:
            handler = getattr(self, f"_item_{row.kind}")
            handler(row)
        if view == "processes":
            self._message_arrows()
        else:
            self._kernel_arrows()
        if view == "packets":
            self._packet_arrows()
        if view != "packets":
            self._connect_and_eof_arrows()
        self._held_bars()

    def _event(self, row: Row) -> Event:
        return self.events[row.keys[0]]  # type: ignore[index]

    def _item_head(self, row: Row) -> None:
        self.head_row.setdefault(row.lane, row.index)

    def _item_exit(self, row: Row) -> None:
        self.exit_row[row.lane] = row.index

    def _item_enter(self, row: Row) -> None:
        event = self._event(row)
        text = show_call(event).split(" → ")[0]
        self.calls.append(CallLabel(row.lane, row.index, text, "enter"))

    def _item_call(self, row: Row) -> None:
        event = self._event(row)
        key = row.keys[0]
        text = show_call(event)
        kind = "call"
        if event.blocked:
            kind = "blocked"
            self.bars.append(Bar(row.lane, row.index, -1, "open", tr("still_blocked", self.lang)))
        elif event.error is not None:
            kind = "error"
            text = f"{text} ✗ {event.error}"
        if key in self.enter_row:
            enter = self.enter_row[key]
            waited = (event.t1 or event.t0) - event.t0
            kind_bar = "sleep" if event.call == "sleep" else "wait"
            self.bars.append(Bar(row.lane, enter, row.index, kind_bar, duration(waited, self.lang)))
            result = text.split(" → ", 1)[1] if " → " in text else ""
            text = f"{event.call} → {result}" if result else f"{event.call} returns"
            if event.error is not None:
                text = f"{event.call} ✗ {event.error}"
            text += f"  ({tr('waited', self.lang, t=duration(waited, self.lang))})"
        if event.call == "fork" and isinstance(event.result, int) and event.result > 0:
            child = self.lanes.of_pid.get(event.result)
            if child is not None:
                self.head_row.setdefault(child, row.index)
                self.arrows.append(Arrow(f"fork-{event.result}", "fork", row.lane, child, row.index, row.index,
                                         f"fork() → {event.result}", title=f"fork {event.pid} → {event.result}",
                                         dashed=True))
                return
        self.calls.append(CallLabel(row.lane, row.index, text, kind))

    def _item_output(self, row: Row) -> None:
        lines: list[NoteLine] = []
        pending = ""
        pending_kind = "out"
        for key in row.keys:
            event = self.events[key]  # type: ignore[index]
            kind = {"stdout": "out", "stderr": "err", "stdin": "in"}[event.call]
            data = event.data or b""
            if kind == "in" and not data:
                data = b"(end of input)\n" if not event.blocked else b""
            text = data.decode("utf-8", "replace")
            if kind != pending_kind and pending:
                lines.append(NoteLine(pending, pending_kind))
                pending = ""
            pending_kind = kind
            for piece in text.splitlines(keepends=True):
                pending += piece.rstrip("\n")
                if piece.endswith("\n"):
                    lines.append(NoteLine(pending, kind))
                    pending = ""
        if pending:
            lines.append(NoteLine(pending, pending_kind))
        merged: list[NoteLine] = []
        for line in lines:
            if merged and line.kind == "in" and merged[-1].kind != "in" and not merged[-1].typed \
                    and merged[-1].text.rstrip().endswith((":", ">", "?")):
                prev = merged.pop()
                merged.append(NoteLine(prev.text, prev.kind, typed=line.text))
            else:
                merged.append(line)
        cleaned = [NoteLine(show_text_line(ln.text.encode(), 60), ln.kind, show_text_line(ln.typed.encode(), 60))
                   for ln in merged if ln.text.strip() or ln.typed.strip()]
        if not cleaned:
            cleaned = [NoteLine("⏎", "out")]
        if len(cleaned) > NOTE_LINES:
            cleaned = [*cleaned[:NOTE_LINES - 1], NoteLine(f"… (+{len(cleaned) - NOTE_LINES + 1})", "out")]
        self.notes.append(Note(row.lane, row.index, tuple(cleaned)))

    def _item_packet(self, row: Row) -> None:
        node = row.keys[0]
        assert isinstance(node, PacketNode)
        packet = self.packets[node.index]
        ends = _packet_lanes(packet, self.lanes)
        if ends is None:
            return
        flows = self._flows_in_packet(node.index)
        if packet.proto == "tcp":
            label = show_flags(packet.flags)
            detail = self._seq_text(packet)
        else:
            label = "UDP"
            detail = f"len={packet.length}"
        self.arrows.append(Arrow(f"packet-{node.index}", "packet", ends[0], ends[1], row.index, row.index,
                                 label, detail, flows=flows, packet=node.index,
                                 title=f"packet {node.index} {packet.src} → {packet.dst} {label} {detail}"))

    # arrows

    def _flow_label(self, flow: Flow) -> str:
        data = flow.data
        text = show_bytes(data, self.options.payload_limit)
        if not flow.complete and len(data) <= self.options.payload_limit:
            text = text[:-1] + "…'"
        return text

    def _flow_title(self, i: int, flow: Flow) -> str:
        if flow.stream_offset is not None:
            where = f"{flow.stream_offset}-{flow.stream_offset + flow.length}"
        else:
            where = f"datagram {flow.length} B"
        return f"flow {flow.channel} {where}"

    def _shown(self, key: EventKey | None) -> bool:
        return key is not None and key in self.row_of and key not in self.hidden

    def _message_arrows(self) -> None:
        """Processes view: one arrow per flow, from the send's row to the receive's row."""
        per_send: Counter[EventKey] = Counter()
        for i, flow in enumerate(self.linked.flows):
            send_ok, recv_ok = self._shown(flow.send), self._shown(flow.recv)
            if flow.send is not None and flow.recv is not None:
                if not (send_ok and recv_ok):
                    continue
                src, dst = self.rows[self.row_of[flow.send]], self.rows[self.row_of[flow.recv]]
                per_send[flow.send] += 1
                at = "src" if per_send[flow.send] == 1 else "dst"
                self.arrows.append(Arrow(f"flow-{i}", "msg", src.lane, dst.lane, src.index, dst.index,
                                         self._flow_label(flow), show_size(flow.length), flows=(i,),
                                         title=self._flow_title(i, flow), label_at=at))
            elif send_ok and flow.send is not None:
                src = self.rows[self.row_of[flow.send]]
                self.arrows.append(Arrow(f"flow-{i}", "lost", src.lane, self._reader_lane(flow, src.lane),
                                         src.index, src.index, self._flow_label(flow),
                                         f"{show_size(flow.length)} · {tr('never_read', self.lang)}", flows=(i,),
                                         title=self._flow_title(i, flow) + " never read"))
            elif recv_ok and flow.recv is not None:
                dst = self.rows[self.row_of[flow.recv]]
                self.arrows.append(Arrow(f"flow-{i}", "found", self._reader_lane(flow, dst.lane), dst.lane,
                                         dst.index, dst.index, self._flow_label(flow),
                                         f"{show_size(flow.length)} · {tr('unknown_sender', self.lang)}", flows=(i,),
                                         title=self._flow_title(i, flow) + " unknown sender"))

    def _reader_lane(self, flow: Flow, own: str) -> str:
        """Where a lost or found message points: the other process on its channel, else the next lane."""
        ch = self.linked.channel(flow.channel)
        for key in (*ch.recvs, *ch.sends):
            lane = self.lanes.of_pid.get(key.pid)
            if lane is not None and lane != own:
                return lane
        order = self.lanes.order
        i = order.index(own)
        return order[i + 1] if i + 1 < len(order) else order[i - 1] if i > 0 else own

    def _kernel_lane(self, flow: Flow, side: str) -> str | None:
        ch = self.linked.channel(flow.channel)
        if self.options.view == "packets" and ch.kind in IP_KINDS:
            ep = ch.src if side == "src" else ch.dst
            if ep is not None and (ep.dev, ep.ino) in self.lanes.socket_lane:
                return self.lanes.socket_lane[(ep.dev, ep.ino)]
        return self.lanes.group_lane.get(ch.group)

    def _kernel_arrows(self) -> None:
        """Kernel and packets views: a send puts bytes into the kernel, a receive takes them out."""
        legs: dict[tuple[str, EventKey], list[int]] = defaultdict(list)
        for i, flow in enumerate(self.linked.flows):
            if flow.send is not None and self._shown(flow.send):
                legs[("in", flow.send)].append(i)
            if flow.recv is not None and self._shown(flow.recv):
                legs[("out", flow.recv)].append(i)
        for (kind, key), flows in legs.items():
            event = self.events[key]
            row = self.rows[self.row_of[key]]
            first = self.linked.flows[flows[0]]
            lane = self._kernel_lane(first, "src" if kind == "in" else "dst")
            if lane is None:
                continue
            data = event.data or b""
            size = event.size if event.size is not None else len(data)
            text = show_bytes(data, self.options.payload_limit)
            if size > len(data) and len(data) <= self.options.payload_limit:
                text = text[:-1] + "…'"
            src, dst = (row.lane, lane) if kind == "in" else (lane, row.lane)
            titles = "; ".join(self._flow_title(i, self.linked.flows[i]) for i in flows)
            self.arrows.append(Arrow(f"{kind}-{key.pid}-{key.seq}", kind, src, dst, row.index, row.index,
                                     text, show_size(size), flows=tuple(flows), title=f"{kind} {titles}"))

    def _flows_in_packet(self, index: int) -> tuple[int, ...]:
        plink = self.linked.packet_link(index)
        packet = self.packets[index]
        if plink is None or plink.channel is None:
            return ()
        out = []
        for i, flow in enumerate(self.linked.flows):
            if flow.channel != plink.channel:
                continue
            if flow.stream_offset is None:
                if flow.send in plink.causes:
                    out.append(i)
            elif plink.offset is not None and packet.payload and flow.stream_offset < plink.offset + packet.length \
                    and plink.offset < flow.stream_offset + flow.length:
                out.append(i)
        return tuple(out)

    def _packet_arrows(self) -> None:
        """Packets are drawn per row (`_item_packet`); nothing more to add."""

    def _isns(self) -> dict[tuple[str, int], int]:
        """The initial sequence number of each TCP sender, for Wireshark-style relative numbers."""
        isn: dict[tuple[str, int], int] = {}
        for p in sorted(self.trace.packets, key=lambda p: p.index):
            key = _addr_key(p.src)
            if p.proto != "tcp" or key is None or p.seq is None:
                continue
            if "S" in p.flags:
                isn[key] = p.seq
            else:
                isn.setdefault(key, p.seq - 1)
        return isn

    def _seq_text(self, packet: Packet) -> str:
        src, dst = _addr_key(packet.src), _addr_key(packet.dst)
        parts = []
        if packet.seq is not None and src in self.isn:
            parts.append(f"seq={(packet.seq - self.isn[src]) % (1 << 32)}")
        if "A" in packet.flags and packet.ack is not None and dst in self.isn:
            parts.append(f"ack={(packet.ack - self.isn[dst]) % (1 << 32)}")
        parts.append(f"len={packet.length}")
        return " ".join(parts)

    def _connect_and_eof_arrows(self) -> None:
        for conn in self.linked.connections:
            if conn.connect is None or conn.accept is None:
                continue
            if not (self._shown(conn.connect) and self._shown(conn.accept)):
                continue
            a, b = self.rows[self.row_of[conn.connect]], self.rows[self.row_of[conn.accept]]
            if b.index >= a.index and a.lane != b.lane:
                self.arrows.append(Arrow(f"connect-{conn.group}", "connect", a.lane, b.lane, a.index, b.index,
                                         "connect → accept", title=f"connect {conn.group}", dashed=True))
        for n, eof in enumerate(self.linked.eofs):
            if not (self._shown(eof.release) and self._shown(eof.read)):
                continue
            a, b = self.rows[self.row_of[eof.release]], self.rows[self.row_of[eof.read]]
            release = self.events[eof.release]
            if b.index > a.index and a.lane != b.lane and release.call in ("close", "shutdown"):
                self.arrows.append(Arrow(f"eof-{n}", "eof", a.lane, b.lane, a.index, b.index, tr("eof", self.lang),
                                         title=f"eof {eof.channel}", dashed=True))

    def _held_bars(self) -> None:
        """Kernel lanes: bytes written and not yet read are visibly held by the kernel."""
        if self.options.view == "processes":
            return
        spans: dict[str, list[tuple[int, int]]] = defaultdict(list)
        last = len(self.rows) - 1
        for flow in self.linked.flows:
            if flow.send is None or not self._shown(flow.send):
                continue
            lane = self._kernel_lane(flow, "src")
            if lane is None:
                continue
            ch = self.linked.channel(flow.channel)
            if self.options.view == "packets" and ch.kind in IP_KINDS:
                continue  # on the wire, packets show where the bytes are
            start = self.row_of[flow.send]
            end = self.row_of[flow.recv] if flow.recv is not None and self._shown(flow.recv) else last
            if flow.recv is not None and not self._shown(flow.recv):
                continue
            if end > start:
                spans[lane].append((start, end))
        for lane, items in spans.items():
            items.sort()
            merged = [items[0]]
            for a, b in items[1:]:
                if a <= merged[-1][1]:
                    merged[-1] = (merged[-1][0], max(merged[-1][1], b))
                else:
                    merged.append((a, b))
            for a, b in merged:
                self.bars.append(Bar(lane, a, b, "held"))

    # lanes

    def finish_lanes(self) -> list[Lane]:
        last = max(len(self.rows) - 1, 0)
        used: dict[str, list[int]] = defaultdict(list)
        for arrow in self.arrows:
            used[arrow.src].append(arrow.src_row)
            used[arrow.dst].append(arrow.dst_row)
        for bar in self.bars:
            used[bar.lane].append(bar.row0)
        for row in self.rows:
            used[row.lane].append(row.index)
            if row.kind in ("call", "enter") and isinstance(row.keys[0], EventKey):
                ep = self.events[row.keys[0]].endpoint
                if ep is not None and (ep.dev, ep.ino) in self.lanes.endpoint_lane:
                    used[self.lanes.endpoint_lane[(ep.dev, ep.ino)]].append(row.index)
        procs = {p.pid: p for p in self.trace.processes}
        out = []
        for lane_id in self.lanes.order:
            lane = self.lanes.info[lane_id]
            rows = used.get(lane_id)
            if lane.kind == "process":
                if lane_id not in self.head_row and not rows:
                    continue
                first = min(self.head_row.get(lane_id, min(rows or [0])), min(rows or [last]))
                proc = procs.get(lane.pid) if lane.pid is not None else None
                open_end = any(b.lane == lane_id and b.kind == "open" for b in self.bars)
                if lane_id in self.exit_row:
                    end_row = self.exit_row[lane_id]
                else:
                    end_row = last if open_end else max(rows or [first])
                end = ""
                if proc is not None and proc.exit is not None:
                    status = proc.exit
                    end = tr("killed", self.lang, sig=str(status).split(" by ")[-1]) if status.signal is not None \
                        else tr("exit", self.lang, code=status.code)
                elif open_end:
                    end = tr("still_blocked", self.lang)
                elif lane_id in self.exit_row:
                    end = tr("ended", self.lang)
                else:
                    end = tr("still_running", self.lang)
                out.append(_replace(lane, first_row=first, last_row=max(end_row, first), end=end, open_end=open_end))
            else:
                if not rows:
                    continue
                out.append(_replace(lane, first_row=min(rows), last_row=max(rows)))
        return out


def _replace(obj, **changes):  # type: ignore[no-untyped-def]
    from dataclasses import replace

    return replace(obj, **changes)


# -- geometry ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Metrics:
    """Sizes derived from the font size, in points."""

    font: float
    line: float
    pad: float
    bar: float
    min_gap: float
    small: float

    @classmethod
    def of(cls, font_size: float) -> Metrics:
        return cls(font=font_size, line=font_size * 1.3, pad=font_size * 0.6, bar=font_size * 0.8,
                   min_gap=font_size * 9, small=font_size * 0.85)


def arrow_label_width(arrow: Arrow, m: Metrics) -> float:
    mono = arrow.kind in ("msg", "in", "out", "lost", "found")
    width = text_width(arrow.label, m.font, mono=mono)
    if arrow.detail:
        width += text_width("  " + arrow.detail, m.small)
    return width


def call_width(call: CallLabel, m: Metrics) -> float:
    return text_width(call.text, m.small)


def note_width(note: Note, m: Metrics) -> float:
    return max(text_width(line.text + line.typed + ("⌨ " if line.kind == "in" or line.typed else ""), m.small)
               for line in note.lines) + 2 * m.pad


def head_width(lane: Lane, m: Metrics) -> float:
    return max(text_width(lane.title, m.font) * 1.1, text_width(lane.subtitle, m.small)) + 3 * m.pad


def _sides(builder: _Builder, order: Sequence[str]) -> None:
    """Put each call label and note on the side of its lane away from that row's arrows (outside at the edges)."""
    pos = {lane: i for i, lane in enumerate(order)}
    last = len(order) - 1
    arrow_dir: dict[tuple[str, int], set[str]] = defaultdict(set)
    for a in builder.arrows:
        if a.src == a.dst or a.src not in pos or a.dst not in pos:
            continue
        right = pos[a.dst] > pos[a.src]
        arrow_dir[(a.src, a.src_row)].add("right" if right else "left")
        arrow_dir[(a.dst, a.dst_row)].add("left" if right else "right")

    def side(lane: str, row: int) -> str:
        dirs = arrow_dir.get((lane, row), set())
        i = pos.get(lane, 0)
        if dirs == {"right"}:
            return "left"
        if dirs == {"left"}:
            return "right"
        if i == 0 and last > 0:
            return "left"
        return "right"

    builder.calls = [_replace(c, side=side(c.lane, c.row)) for c in builder.calls]
    builder.notes = [_replace(n, side="left" if pos.get(n.lane, 0) == 0 and last > 0 else "right")
                     for n in builder.notes]


def _row_heights(builder: _Builder, m: Metrics, lanes: Sequence[Lane]) -> list[float]:
    heights = [m.line * 2.0 for _ in builder.rows]
    for note in builder.notes:
        heights[note.row] = max(heights[note.row], len(note.lines) * m.line + 1.4 * m.pad)
    for lane in lanes:
        if lane.first_row < len(heights):
            heights[lane.first_row] = max(heights[lane.first_row], HEAD_HEIGHT_LINES * m.line + 2.2 * m.pad)
        if lane.kind == "process" and lane.last_row < len(heights):
            heights[lane.last_row] = max(heights[lane.last_row], 2.3 * m.line)
    for arrow in builder.arrows:
        if arrow.label_at == "dst":
            heights[arrow.dst_row] = max(heights[arrow.dst_row], 2.8 * m.line)
        if arrow.kind == "fork":
            heights[arrow.src_row] = max(heights[arrow.src_row], 2 * m.line + 2.4 * m.pad)
    return heights


def _lane_gaps(builder: _Builder, lanes: Sequence[Lane], m: Metrics) -> tuple[list[float], float, float]:
    """Distances between neighbouring lanes (and the outer margins) so that no two labels overlap."""
    n = len(lanes)
    pos = {lane.id: i for i, lane in enumerate(lanes)}
    gaps = [m.min_gap] * max(n - 1, 0)
    left_margin = right_margin = m.pad * 2
    right_at: dict[tuple[int, int], float] = defaultdict(float)
    left_at: dict[tuple[int, int], float] = defaultdict(float)
    half_bar = m.bar / 2 + m.pad
    for c in builder.calls:
        if c.lane not in pos:
            continue
        key = (pos[c.lane], c.row)
        w = call_width(c, m) + half_bar
        if c.side == "right":
            right_at[key] = max(right_at[key], w)
        else:
            left_at[key] = max(left_at[key], w)
    for note in builder.notes:
        if note.lane not in pos:
            continue
        key = (pos[note.lane], note.row)
        w = note_width(note, m) + half_bar
        if note.side == "right":
            right_at[key] = max(right_at[key], w)
        else:
            left_at[key] = max(left_at[key], w)
    for (i, row), w in right_at.items():
        if i < n - 1:
            gaps[i] = max(gaps[i], w + left_at.get((i + 1, row), 0.0) + m.pad)
        else:
            right_margin = max(right_margin, w + m.pad)
    for (i, _row), w in left_at.items():
        if i == 0:
            left_margin = max(left_margin, w + m.pad)
    for i in range(n - 1):
        gaps[i] = max(gaps[i], head_width(lanes[i], m) / 2 + head_width(lanes[i + 1], m) / 2 + m.pad)
    left_margin = max(left_margin, head_width(lanes[0], m) / 2 + m.pad) if lanes else left_margin
    right_margin = max(right_margin, head_width(lanes[-1], m) / 2 + m.pad) if lanes else right_margin
    spans = []
    for a in builder.arrows:
        if a.src not in pos or a.dst not in pos:
            continue
        i, j = sorted((pos[a.src], pos[a.dst]))
        need = arrow_label_width(a, m) + 2 * m.pad + m.bar
        if i == j:
            continue
        spans.append((j - i, i, j, need))
    for _, i, j, need in sorted(spans):
        have = sum(gaps[i:j])
        if have < need:
            extra = (need - have) / (j - i)
            for g in range(i, j):
                gaps[g] += extra
    for lane in lanes:
        if lane.kind == "process" and lane.end:
            w = text_width(lane.end, m.small) / 2 + m.pad * 2
            i = pos[lane.id]
            if i == 0:
                left_margin = max(left_margin, w)
            if i == n - 1:
                right_margin = max(right_margin, w)
    for fold in builder.folds:
        w = text_width(fold.label, m.font) + text_width(fold.detail, m.small) + 4 * m.pad
        idx = sorted(pos[x] for x in fold.lanes if x in pos)
        if idx:
            span = sum(gaps[idx[0]:idx[-1]])
            if span + 2 * m.min_gap / 3 < w and idx[-1] > idx[0]:
                extra = (w - span) / (idx[-1] - idx[0])
                for g in range(idx[0], idx[-1]):
                    gaps[g] += extra
    return gaps, left_margin, right_margin


def choose_fonts(lang: str) -> tuple[str, str]:
    if lang == "ko":
        from tracer.render.i18n import require_korean_font

        korean = require_korean_font()
        # Latin, digits and arrows from DejaVu (Nanum's → is a dot); Hangul from the Korean font
        return f"DejaVu Sans,{korean}", f"DejaVu Sans Mono,{korean}"
    return "DejaVu Sans", "DejaVu Sans Mono"


def legend_entries(diagram_arrows: Sequence[Arrow], bars: Sequence[Bar], calls: Sequence[CallLabel],
                   notes: Sequence[Note], folds: Sequence[Fold], lang: str) -> tuple[LegendEntry, ...]:
    """Only what this diagram uses, in a fixed order."""
    kinds = {a.kind for a in diagram_arrows}
    entries = []
    if kinds & {"msg", "lost", "found"}:
        entries.append(LegendEntry("msg", tr("legend_msg", lang)))
    if kinds & {"in", "out"}:
        entries.append(LegendEntry("kernel", tr("legend_kernel", lang)))
    if "packet" in kinds:
        entries.append(LegendEntry("packet", tr("legend_packet", lang)))
    if kinds & {"fork", "connect", "eof"}:
        entries.append(LegendEntry("dashed", tr("legend_fork", lang)))
    bar_kinds = {b.kind for b in bars}
    if "wait" in bar_kinds:
        entries.append(LegendEntry("wait", tr("legend_wait", lang)))
    if "sleep" in bar_kinds:
        entries.append(LegendEntry("sleep", tr("legend_sleep", lang)))
    if "open" in bar_kinds:
        entries.append(LegendEntry("open", tr("legend_open", lang)))
    if notes:
        entries.append(LegendEntry("note", tr("legend_note", lang)))
    if any(c.kind == "error" for c in calls):
        entries.append(LegendEntry("error", tr("legend_error", lang)))
    if folds:
        entries.append(LegendEntry("loop", tr("legend_loop", lang)))
    return tuple(entries)


def default_title(trace: Trace) -> str:
    if trace.header.scenario:
        return trace.header.scenario
    return " ".join(trace.header.command) or "ipctrace"


def build_diagram(ordered: OrderedTrace, options: RenderOptions | None = None) -> Diagram:
    """The whole layout: lanes, rows, items and positions for one view of one trace."""
    options = options or RenderOptions()
    font, mono = choose_fonts(options.lang)
    lanes = assign_lanes(ordered, options.view, options.lang)
    steps = build_steps(ordered, lanes, options)
    items: list[Step | FoldedSteps] = fold_steps(steps, ordered, options.fold_min) if options.fold else list(steps)
    builder = _Builder(ordered, options, lanes, font, mono)
    builder.add_rows(items)
    builder.build_items()
    lane_list = builder.finish_lanes()
    order = [lane.id for lane in lane_list]
    keep = set(order)
    builder.arrows = [a for a in builder.arrows if a.src in keep and a.dst in keep]
    _sides(builder, order)

    m = Metrics.of(options.font_size)
    heights = _row_heights(builder, m, lane_list)
    fold_top = {f.row0 for f in builder.folds}
    fold_bottom = {f.row1 for f in builder.folds}
    top = m.font * 2.2 + m.line * 1.5 + m.pad * 2  # title, subtitle
    touched = {(a.src, a.src_row) for a in builder.arrows} | {(a.dst, a.dst_row) for a in builder.arrows}
    pre_rows = {lane.first_row for lane in lane_list
                if lane.kind != "process" and (lane.id, lane.first_row) in touched}
    y = top
    rows = []
    for row, h in zip(builder.rows, heights, strict=True):
        if row.index in fold_top:
            y += m.line * 1.8
        pre = HEAD_HEIGHT_LINES * m.line + m.pad * 2 if row.index in pre_rows else 0.0
        center = y + pre + h / 2
        rows.append(_replace(row, y=center, height=h, pre=pre))
        y += h + pre
        if row.index in fold_bottom:
            y += m.pad * 1.5
    bottom = y + m.line * 1.5 + m.pad

    gaps, left, right = _lane_gaps(builder, lane_list, m)
    x = left
    placed = []
    for i, lane in enumerate(lane_list):
        placed.append(_replace(lane, x=x))
        if i < len(gaps):
            x += gaps[i]
    width = x + right
    title = options.title or default_title(ordered.trace)
    subtitle = f"{tr('view_' + options.view, options.lang)} · {tr('time_flows_down', options.lang)} ↓"
    if options.view == "packets" and not ordered.trace.packets:
        subtitle += " · no packets were captured"
    shown = sorted({i for a in builder.arrows for i in a.flows if a.kind in ("msg", "lost", "found", "in", "out")})
    legend = legend_entries(builder.arrows, builder.bars, builder.calls, builder.notes, builder.folds, options.lang) \
        if options.legend else ()
    return Diagram(
        title=title, subtitle=subtitle, options=options, lanes=tuple(placed), rows=tuple(rows),
        arrows=tuple(builder.arrows), bars=tuple(b if b.row1 >= 0 else _replace(b, row1=len(rows) - 1)
                                                 for b in builder.bars),
        calls=tuple(builder.calls), notes=tuple(builder.notes), folds=tuple(builder.folds), legend=legend,
        width=width, height=bottom, top=top, font=font, mono=mono, shown_flows=tuple(shown),
        folded_flows=tuple(sorted(builder.folded_flows)),
        lane_index={lane.id: i for i, lane in enumerate(placed)},
    )


# -- the same diagram as a script of statements (Mermaid, PlantUML) ---------------------------------

@dataclass(frozen=True)
class ScriptItem:
    """One statement of a text sequence diagram, in drawing order."""

    kind: str  # loop, end-loop, message, activate, deactivate, note, over
    lane: str = ""
    other: str = ""
    text: str = ""
    lines: tuple[str, ...] = ()
    style: str = "solid"  # solid, dashed, lost
    side: str = "right"


def script(diagram: Diagram) -> list[ScriptItem]:
    """Walk the rows top to bottom: what a text format states at each, messages at their arrival."""
    folds_at = {f.row0: f for f in diagram.folds}
    fold_ends: Counter[int] = Counter(f.row1 for f in diagram.folds)
    data_rows = {(a.src, a.src_row) for a in diagram.arrows if a.kind in ("msg", "in", "lost")} | \
        {(a.dst, a.dst_row) for a in diagram.arrows if a.kind in ("msg", "out", "found")}
    by_row: dict[int, list[ScriptItem]] = defaultdict(list)
    for bar in diagram.bars:
        if bar.kind in ("wait", "sleep", "open"):
            by_row[bar.row0].append(ScriptItem("activate", bar.lane))
    for call in diagram.calls:
        if call.kind == "enter" or (call.lane, call.row) not in data_rows:
            by_row[call.row].append(ScriptItem("note", call.lane, text=call.text, side=call.side))
    for arrow in diagram.arrows:
        row = arrow.dst_row
        text = f"{arrow.label} ({arrow.detail})" if arrow.detail else arrow.label
        style = "dashed" if arrow.dashed else "lost" if arrow.kind == "lost" else "solid"
        by_row[row].append(ScriptItem("message", arrow.src, arrow.dst, text=text, style=style))
    for note in diagram.notes:
        lines = tuple(line.text + (f" ⌨ {line.typed}" if line.typed else "") if line.kind != "in"
                      else f"⌨ {line.text}" for line in note.lines)
        by_row[note.row].append(ScriptItem("note", note.lane, lines=lines, side=note.side))
    for bar in diagram.bars:
        if bar.kind in ("wait", "sleep"):
            by_row[bar.row1].append(ScriptItem("deactivate", bar.lane))
    for lane in diagram.lanes:
        if lane.kind == "process" and lane.end and not lane.open_end:
            by_row[lane.last_row].append(ScriptItem("over", lane.id, text=lane.end))
    out: list[ScriptItem] = []
    for row in diagram.rows:
        if row.index in folds_at:
            fold = folds_at[row.index]
            out.append(ScriptItem("loop", text=f"{fold.label} {fold.detail}".strip()))
        out.extend(by_row.get(row.index, ()))
        for _ in range(fold_ends.get(row.index, 0)):
            out.append(ScriptItem("end-loop"))
    for lane in diagram.lanes:
        if lane.open_end:
            out.append(ScriptItem("over", lane.id, text=lane.end))
    return out
