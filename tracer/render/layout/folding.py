"""Folding: repeated exchanges become one representative iteration with a count.

A pure transform from steps to steps (`fold_steps`), applied only when
`RenderOptions.fold` is set; it has its own module so the rest of the layout
never needs to know whether a row stands for one exchange or for thousands.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ipctrace.order import Node, OrderedTrace, PacketNode
from ipctrace.render.layout.model import LaneId, RowKind
from ipctrace.render.layout.steps import Step

MAX_PERIOD = 24  # longest repeated block (in rows) folding looks for


@dataclass(frozen=True)
class FoldedSteps:
    """The output of `fold_steps`: one representative iteration standing for `count` of them."""

    steps: tuple[Step, ...]
    count: int
    hidden: frozenset[Node]  # every node of the other iterations
    all_keys: tuple[Node, ...]  # every node of every iteration


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


def _find_folds(
    core: Sequence[Step], partners: Sequence[tuple[int, int]], min_repeat: int
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
    core_pos = [i for i, s in enumerate(steps) if s.kind is not RowKind.ENTER]
    core = [steps[i] for i in core_pos]
    partners = _partners(core, ordered)
    folds = _find_folds(core, partners, min_repeat)
    enters = [(i, s) for i, s in enumerate(steps) if s.kind is RowKind.ENTER]
    call_pos = {s.keys[0]: core_pos[j] for j, s in enumerate(core) if s.kind is RowKind.CALL}

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
        per_lane: Counter[LaneId] = Counter(core[j].lane for j in run)
        taken: Counter[LaneId] = Counter()
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
    return all(
        (partners[j][0] in chosen or partners[j][0] == j) and (partners[j][1] in chosen or partners[j][1] == j)
        for j in members
    )
