"""Two sequences in program order (a process's calls, a channel's packets): their differences as sentences.

Items are matched on themselves (`align.py`); inside a stretch that differs,
on their slots (the same kind of call), so a changed read is paired with the
read that replaced it rather than with whatever stood there. An item gone
from one place that turns up at another was moved; past one neighbour, it
was swapped. Linear in the length of the sequences.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from ipctrace.compare.align import Gap, align, gaps

T = TypeVar("T", bound=Hashable)


@dataclass
class _Alignment:
    """Which item of a is which of b: equal, changed (same slot, other content), moved, deleted, inserted."""

    equal: list[tuple[int, int]] = field(default_factory=list)
    changed: list[tuple[int, int]] = field(default_factory=list)
    moved: list[tuple[int, int]] = field(default_factory=list)
    deleted: list[int] = field(default_factory=list)
    inserted: list[int] = field(default_factory=list)


def _classify(a: Sequence[T], b: Sequence[T], slot: Callable[[T], str]) -> _Alignment:
    out = _Alignment(equal=align(a, b))
    for gap in gaps(out.equal, len(a), len(b)):
        _pair_by_slot(a, b, gap, slot, out)
    return out


def _pair_by_slot(a: Sequence[T], b: Sequence[T], gap: Gap, slot: Callable[[T], str], out: _Alignment) -> None:
    """Inside one differing stretch: items of the same slot are changed pairs; the rest pair up by position."""
    sa = [slot(x) for x in a[gap.a0 : gap.a1]]
    sb = [slot(y) for y in b[gap.b0 : gap.b1]]
    same = align(sa, sb)
    out.changed += [(gap.a0 + i, gap.b0 + j) for i, j in same]
    for inner in gaps(same, len(sa), len(sb)):
        n = min(inner.a1 - inner.a0, inner.b1 - inner.b0)
        out.changed += [(gap.a0 + inner.a0 + k, gap.b0 + inner.b0 + k) for k in range(n)]
        out.deleted += range(gap.a0 + inner.a0 + n, gap.a0 + inner.a1)
        out.inserted += range(gap.b0 + inner.b0 + n, gap.b0 + inner.b1)


def _find_moves(a: Sequence[T], b: Sequence[T], al: _Alignment) -> None:
    """An item missing at one place and present, unmatched, at another was moved there."""
    free: dict[T, deque[int]] = {}
    for j in sorted([*al.inserted, *(j for _, j in al.changed)]):
        free.setdefault(b[j], deque()).append(j)
    for i in sorted([*al.deleted, *(i for i, _ in al.changed)]):
        spots = free.get(a[i])
        if spots:
            al.moved.append((i, spots.popleft()))
    moved_a, moved_b = {i for i, _ in al.moved}, {j for _, j in al.moved}
    al.deleted = [i for i in al.deleted if i not in moved_a]
    al.deleted += [i for i, j in al.changed if j in moved_b and i not in moved_a]
    al.inserted = [j for j in al.inserted if j not in moved_b]
    al.inserted += [j for i, j in al.changed if i in moved_a and j not in moved_b]
    al.changed = [(i, j) for i, j in al.changed if i not in moved_a and j not in moved_b]


def _next_matched(pairs: Sequence[tuple[int, int]], length: int, default: int) -> list[int]:
    """For each index, the partner of the next matched index after it (`default` when none follows)."""
    partner = dict(pairs)
    out = [default] * (length + 1)
    for i in range(length - 1, -1, -1):
        out[i] = partner[i + 1] if i + 1 in partner else out[i + 1]
    return out


def sequence_differences(
    a: Sequence[T],
    b: Sequence[T],
    describe: Callable[[T], str],
    slot: Callable[[T], str],
    describe_pair: Callable[[T, T], tuple[str, str]] | None = None,
) -> list[str]:
    """Sequence differences as sentences: changed, missing, unexpected, swapped or moved items."""
    al = _classify(a, b, slot)
    _find_moves(a, b, al)
    matched = [*al.equal, *al.changed, *al.moved]
    b_slot = _next_matched(matched, len(a), len(b))  # where a's item i would sit in b
    a_slot = _next_matched([(j, i) for i, j in matched], len(b), len(a))
    out: list[tuple[float, str]] = [_move(a, b, i, j, describe) for i, j in al.moved]
    for i, j in al.changed:
        x, y = describe(a[i]), describe(b[j])
        if x == y and describe_pair is not None:  # the difference lies past what a short description shows
            x, y = describe_pair(a[i], b[j])
        word = "" if slot(a[i]) == slot(b[j]) else " instead"  # another kind of call took its place
        out.append((i, f"expected {x}; got {y}{word}"))
    for run in _runs(sorted(al.deleted), b_slot):
        out.append((run[0], _missing(a, b, run, b_slot[run[0]], describe)))
    for j in al.inserted:
        where = f" before {describe(b[j + 1])}" if j + 1 < len(b) else (f" after {describe(b[j - 1])}" if j else "")
        out.append((a_slot[j] - 0.5, f"unexpected {describe(b[j])}{where}"))
    return [text for _, text in sorted(out, key=lambda item: item[0])]


def _move(a: Sequence[T], b: Sequence[T], i: int, j: int, describe: Callable[[T], str]) -> tuple[float, str]:
    nxt = a[i + 1] if i + 1 < len(a) else None
    prev = a[i - 1] if i > 0 else None
    before = b[j - 1] if j > 0 else None
    after = b[j + 1] if j + 1 < len(b) else None
    x = describe(a[i])
    if nxt is not None and before is not None and nxt == before:
        return i, f"expected {x} before {describe(nxt)}; got them swapped"
    if prev is not None and after is not None and prev == after:
        return i - 1, f"expected {describe(prev)} before {x}; got them swapped"
    where = f"before {describe(nxt)}" if nxt is not None else "at the end"
    now = f"after {describe(before)}" if before is not None else "first"
    return i, f"{x} moved: expected it {where}; got it {now}"


def _missing(a: Sequence[T], b: Sequence[T], run: list[int], j: int, describe: Callable[[T], str]) -> str:
    what = describe(a[run[0]]) if len(run) == 1 else f"{len(run)} more: " + "; ".join(describe(a[k]) for k in run)
    if j < len(b):
        return f"expected {what} before {describe(b[j])}; got {describe(b[j])}"
    if b:
        return f"expected {what} after {describe(b[-1])}; got nothing more"
    return f"expected {what}; got nothing at all"


def _runs(indices: Sequence[int], slot: Sequence[int]) -> list[list[int]]:
    """Consecutive indices that would sit at the same place (reported together when there are 3 or more)."""
    runs: list[list[int]] = []
    for i in indices:
        if runs and runs[-1][-1] == i - 1 and slot[runs[-1][-1]] == slot[i]:
            runs[-1].append(i)
        else:
            runs.append([i])
    return [r for run in runs for r in ([run] if len(run) >= 3 else [[k] for k in run])]
