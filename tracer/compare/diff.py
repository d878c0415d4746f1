"""Two canonical traces: equivalent, or the list of differences a user can act on.

Differences are said in terms of roles, calls and messages ("client: expected
send 'exit\\n' (5 B) on tcp#1.client before close tcp#1.client; got close
tcp#1.client"), never pids or timestamps. Per process the calls are matched
as sequences (program order matters: a swap is a difference); flows and calls
made in signal handlers are matched as multisets (their order between
processes is accidental).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path
from typing import TypeVar

from ipctrace.compare.canonical import (
    Call,
    CanonicalPacket,
    CanonicalProcess,
    CanonicalTrace,
    Flow,
    canonicalize,
    load,
    quote,
    save,
    without,
)
from ipctrace.model import Trace

#: What `ignore` may name, and what each leaves out of the comparison.
IGNORABLE = {
    "packets": "captured packets",
    "acks": "pure TCP ACKs (no payload, no SYN/FIN/RST)",
    "sleeps": "sleep calls",
    "payloads": "payload text and input lines (sizes still count)",
    "output": "printed lines (stdout and stderr)",
    "handlers": "calls made in signal handlers (their presence can depend on when a signal came)",
}
EXPLAIN_LIMIT = 40  # differences shown before "... and N more"

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Difference:
    """One way two runs differ. `role` is the process it concerns, None for the run as a whole."""

    kind: str  # ending, process, call, async, flow, packet
    role: str | None
    text: str

    def __str__(self) -> str:
        return f"{self.role}: {self.text}" if self.role else self.text


@dataclass(frozen=True, slots=True)
class DiffResult:
    """The outcome of a comparison: equivalent, or the differences in the order a user reads them."""

    differences: tuple[Difference, ...]
    notes: tuple[str, ...] = ()
    expected_name: str = ""  # what was expected (a golden file, trace A); shown in the report when given
    actual_name: str = ""

    @property
    def equivalent(self) -> bool:
        return not self.differences

    def of_kind(self, kind: str) -> tuple[Difference, ...]:
        return tuple(d for d in self.differences if d.kind == kind)

    def explain(self, limit: int = EXPLAIN_LIMIT) -> str:
        """A readable report: one line a difference, then notes (what was not compared)."""
        if self.equivalent:
            lines = ["equivalent"]
        else:
            n = len(self.differences)
            names = f" (expected: {self.expected_name}; got: {self.actual_name})" if self.expected_name else ""
            lines = [f"not equivalent: {n} difference{'s' if n != 1 else ''}{names}"]
            lines += [f"- {d}" for d in self.differences[:limit]]
            if n > limit:
                lines.append(f"... and {n - limit} more")
        lines += [f"note: {note}" for note in self.notes]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.explain()


def check_ignore(ignore: Iterable[str]) -> frozenset[str]:
    """The ignore names, checked: an unknown one raises ValueError listing the valid ones."""
    names = frozenset(ignore)
    unknown = sorted(names - IGNORABLE.keys())
    if unknown:
        valid = ", ".join(f"{k} ({v})" for k, v in IGNORABLE.items())
        raise ValueError(f"cannot ignore {', '.join(map(repr, unknown))}; choose among: {valid}")
    return names


def diff_traces(
    a: Trace, b: Trace, ignore: Iterable[str] = frozenset(), *, a_name: str = "A", b_name: str = "B"
) -> DiffResult:
    """Compare two recorded runs; `a` is taken as the expected one."""
    return diff_canonical(canonicalize(a), canonicalize(b), ignore, expected_name=a_name, actual_name=b_name)


def diff_canonical(
    expected: CanonicalTrace,
    actual: CanonicalTrace,
    ignore: Iterable[str] = frozenset(),
    *,
    expected_name: str = "",
    actual_name: str = "",
) -> DiffResult:
    """Compare two canonical traces (from runs or golden files)."""
    ignored = check_ignore(ignore)
    notes = []
    if ignored:
        notes.append("ignored: " + ", ".join(IGNORABLE[k] for k in sorted(ignored)))
    exp, act = without(expected, ignored), without(actual, ignored)
    diffs: list[Difference] = []
    if exp.ending != act.ending:
        diffs.append(Difference("ending", None, f"the run ended {_ending(exp.ending)}; got {_ending(act.ending)}"))
    diffs += _process_differences(exp, act)
    diffs += _flow_differences(exp.flows, act.flows)
    for proc in exp.processes:
        other = act.process(proc.role)
        if other is not None:
            diffs += _call_differences(proc.role, proc.calls, other.calls)
            diffs += _async_differences(proc.role, proc.asynchronous, other.asynchronous)
    if exp.packets is None or act.packets is None:
        if exp.packets is not None or act.packets is not None:
            which = (expected_name or "the expected run") if exp.packets is None else (actual_name or "this run")
            notes.append(f"packets not compared: {which} was recorded without packet capture")
    else:
        diffs += _packet_differences(exp, act)
    return DiffResult(tuple(diffs), tuple(notes), expected_name, actual_name)


def _ending(ending: str) -> str:
    return {
        "complete": "with every process done",
        "expected-blocked": "blocked, as the scenario expects",
        "timeout": "at its timeout",
        "failed": "in failure",
        "": "(ending not recorded)",
    }.get(ending, ending)


# -- processes --------------------------------------------------------------------------------------


def _summary(p: CanonicalProcess, n: int = 3) -> str:
    start = f"started by {p.parent} ({p.started})" if p.parent else f"started as {' '.join(p.argv) or '?'}"
    calls = "; ".join(c.describe() for c in p.calls[:n]) + ("; …" if len(p.calls) > n else "")
    return f"{start}, {len(p.calls)} calls ({calls or 'none'}), {p.exit or 'end unknown'}"


def _process_differences(exp: CanonicalTrace, act: CanonicalTrace) -> list[Difference]:
    out = []
    for p in exp.processes:
        if act.process(p.role) is None:
            out.append(Difference("process", p.role, f"missing process: expected it, {_summary(p)}"))
    for p in act.processes:
        if exp.process(p.role) is None:
            out.append(Difference("process", p.role, f"extra process: {_summary(p)}"))
    for p in exp.processes:
        q = act.process(p.role)
        if q is None:
            continue
        if p.parent != q.parent:
            out.append(Difference("process", p.role, f"expected parent {p.parent}; got {q.parent}"))
        if p.started != q.started or p.argv != q.argv:
            out.append(
                Difference(
                    "process",
                    p.role,
                    f"expected to start by {p.started} {' '.join(p.argv)}".rstrip()
                    + f"; got {q.started} {' '.join(q.argv)}".rstrip(),
                )
            )
        if p.exit != q.exit:
            out.append(
                Difference("process", p.role, f"expected {p.exit or 'no known end'}; got {q.exit or 'no known end'}")
            )
    return out


# -- calls ------------------------------------------------------------------------------------------


def _align(
    ka: Sequence[str], kb: Sequence[str], sa: Sequence[str], sb: Sequence[str]
) -> tuple[list[tuple[int, int]], list[tuple[int, int]], list[int], list[int]]:
    """(equal pairs, changed pairs, deleted a indices, inserted b indices).

    Items are matched on their keys; inside a block that differs, on their
    slots (the same call), so a changed read is paired with the read that
    replaced it rather than with whatever stood there.
    """
    equal: list[tuple[int, int]] = []
    changed: list[tuple[int, int]] = []
    deleted: list[int] = []
    inserted: list[int] = []
    for tag, i1, i2, j1, j2 in SequenceMatcher(a=ka, b=kb, autojunk=False).get_opcodes():
        if tag == "equal":
            equal += zip(range(i1, i2), range(j1, j2), strict=True)
        elif tag == "delete":
            deleted += range(i1, i2)
        elif tag == "insert":
            inserted += range(j1, j2)
        else:
            inner = SequenceMatcher(a=sa[i1:i2], b=sb[j1:j2], autojunk=False)
            for t, p1, p2, q1, q2 in inner.get_opcodes():
                n = p2 - p1 if t == "equal" else min(p2 - p1, q2 - q1) if t == "replace" else 0
                changed += [(i1 + p1 + k, j1 + q1 + k) for k in range(n)]
                deleted += range(i1 + p1 + n, i1 + p2)
                inserted += range(j1 + q1 + n, j1 + q2)
    return equal, changed, deleted, inserted


def _sequence_differences(
    a: Sequence[T],
    b: Sequence[T],
    key: Callable[[T], str],
    describe: Callable[[T], str],
    slot: Callable[[T], str],
    describe_pair: Callable[[T, T], tuple[str, str]] | None = None,
) -> list[str]:
    """Sequence differences as sentences: changed, missing, unexpected, swapped or moved items."""
    ka, kb = [key(x) for x in a], [key(x) for x in b]
    equal, pairs, deleted, inserted = _align(ka, kb, [slot(x) for x in a], [slot(x) for x in b])
    # An item gone from one place that turns up at another was moved; past one neighbour, it was swapped.
    free_b = sorted(inserted + [j for _, j in pairs])
    moved: list[tuple[int, int]] = []
    for i in sorted(deleted + [i for i, _ in pairs]):
        j = next((j for j in free_b if kb[j] == ka[i]), None)
        if j is not None:
            moved.append((i, j))
            free_b.remove(j)
    moved_a, moved_b = {i for i, _ in moved}, {j for _, j in moved}
    deleted += [i for i, j in pairs if j in moved_b and i not in moved_a]
    inserted += [j for i, j in pairs if i in moved_a and j not in moved_b]
    pairs = [(i, j) for i, j in pairs if i not in moved_a and j not in moved_b]
    aligned = dict(equal + pairs + moved)
    inverse = {j: i for i, j in aligned.items()}

    def b_slot(i: int) -> int:
        """Where a's item i would sit in b: the b index of the next item matched in both."""
        return next((aligned[k] for k in range(i + 1, len(a)) if k in aligned), len(b))

    def a_slot(j: int) -> float:
        return next((inverse[k] - 0.5 for k in range(j + 1, len(b)) if k in inverse), len(a) - 0.5)

    out: list[tuple[float, str]] = []
    for i, j in moved:
        nxt = a[i + 1] if i + 1 < len(a) else None
        prev = a[i - 1] if i > 0 else None
        before = b[j - 1] if j > 0 else None
        after = b[j + 1] if j + 1 < len(b) else None
        x = describe(a[i])
        if nxt is not None and before is not None and key(nxt) == key(before):
            out.append((i, f"expected {x} before {describe(nxt)}; got them swapped"))
        elif prev is not None and after is not None and key(prev) == key(after):
            out.append((i - 1, f"expected {describe(prev)} before {x}; got them swapped"))
        else:
            where = f"before {describe(nxt)}" if nxt is not None else "at the end"
            now = f"after {describe(before)}" if before is not None else "first"
            out.append((i, f"{x} moved: expected it {where}; got it {now}"))
    for i, j in pairs:
        x, y = describe(a[i]), describe(b[j])
        if x == y and describe_pair is not None:  # the difference lies past what a short description shows
            x, y = describe_pair(a[i], b[j])
        word = "" if slot(a[i]) == slot(b[j]) else " instead"  # another kind of call took its place
        out.append((i, f"expected {x}; got {y}{word}"))
    for run in _runs(sorted(set(deleted) - moved_a), b_slot):
        i, j = run[0], b_slot(run[0])
        what = describe(a[i]) if len(run) == 1 else f"{len(run)} more: " + "; ".join(describe(a[k]) for k in run)
        if j < len(b):
            out.append((i, f"expected {what} before {describe(b[j])}; got {describe(b[j])}"))
        elif b:
            out.append((i, f"expected {what} after {describe(b[-1])}; got nothing more"))
        else:
            out.append((i, f"expected {what}; got nothing at all"))
    for j in set(inserted) - moved_b:
        where = f" before {describe(b[j + 1])}" if j + 1 < len(b) else (f" after {describe(b[j - 1])}" if j else "")
        out.append((a_slot(j), f"unexpected {describe(b[j])}{where}"))
    return [text for _, text in sorted(out, key=lambda item: item[0])]


def _runs(indices: Sequence[int], slot: Callable[[int], int]) -> list[list[int]]:
    """Consecutive indices that would sit at the same place (reported together when there are 3 or more)."""
    runs: list[list[int]] = []
    for i in indices:
        if runs and runs[-1][-1] == i - 1 and slot(runs[-1][-1]) == slot(i):
            runs[-1].append(i)
        else:
            runs.append([i])
    return [r for run in runs for r in ([run] if len(run) >= 3 else [[k] for k in run])]


def _slot(c: Call) -> str:
    """Calls that can stand for each other when a block differs: the same call, on any endpoint."""
    return c.call


def _describe_pair(x: Call, y: Call) -> tuple[str, str]:
    """Two calls whose short descriptions are alike, shown around where their texts first differ."""
    if x.data is not None and y.data is not None and x.data != y.data:
        k = next(
            (k for k, (p, q) in enumerate(zip(x.data, y.data, strict=False)) if p != q), min(len(x.data), len(y.data))
        )
        return x.describe(focus=k), y.describe(focus=k)
    return x.describe() + " " + x.key, y.describe() + " " + y.key


def _call_differences(role: str, a: Sequence[Call], b: Sequence[Call]) -> list[Difference]:
    texts = _sequence_differences(a, b, lambda c: c.key, Call.describe, _slot, _describe_pair)
    return [Difference("call", role, t) for t in texts]


def _async_differences(role: str, a: Sequence[Call], b: Sequence[Call]) -> list[Difference]:
    ca, cb = Counter(c.key for c in a), Counter(c.key for c in b)
    by_key = {c.key: c for c in (*a, *b)}
    out = []
    for k in ca - cb:
        out.append(Difference("async", role, f"in a signal handler: expected {by_key[k].describe()}; missing"))
    for k in cb - ca:
        out.append(Difference("async", role, f"in a signal handler: unexpected {by_key[k].describe()}"))
    return out


# -- flows ------------------------------------------------------------------------------------------


def _flow_key(f: Flow) -> tuple:
    return (f.channel, f.sender, f.send, f.receiver, f.recv, f.size, f.data)


def _flow_differences(a: Sequence[Flow], b: Sequence[Flow]) -> list[Difference]:
    missing = list((Counter(map(_flow_key, a)) - Counter(map(_flow_key, b))).elements())
    extra = list((Counter(map(_flow_key, b)) - Counter(map(_flow_key, a))).elements())
    by_key = {_flow_key(f): f for f in (*a, *b)}
    want = [by_key[k] for k in missing]
    got = [by_key[k] for k in extra]
    out = []
    tests: list[Callable[[Flow, Flow], bool]] = [
        # the same bytes from the same sender, read elsewhere: sent to the wrong peer, or read by another process
        lambda x, y: (x.sender, x.data, x.size) == (y.sender, y.data, y.size),
        # the same send and receive, other bytes: a changed message
        lambda x, y: (
            (x.channel, x.sender, x.send, x.receiver, x.recv) == (y.channel, y.sender, y.send, y.receiver, y.recv)
        ),
        lambda x, y: (x.channel, x.sender, x.send) == (y.channel, y.sender, y.send),
    ]
    for test in tests:
        for x in list(want):
            y = next((y for y in got if test(x, y)), None)
            if y is None:
                continue
            want.remove(x)
            got.remove(y)
            out.append(Difference("flow", None, _flow_change(x, y)))
    out += [Difference("flow", None, f"expected message {x.describe()}; it did not happen") for x in want]
    out += [Difference("flow", None, f"unexpected message {y.describe()}") for y in got]
    return out


def _flow_change(x: Flow, y: Flow) -> str:
    sender = f"{x.sender} ({x.send})" if x.sender else "an untraced sender"
    if (x.channel, x.receiver, x.recv) == (y.channel, y.receiver, y.recv) and x.sender == y.sender:
        return (
            f"message from {sender} to {x.receiver} ({x.recv}) on {x.channel}: expected {quote(x.data)} "
            f"({x.size} B); got {quote(y.data)} ({y.size} B)"
        )
    where_x = f"{x.receiver} ({x.recv})" if x.receiver else "nobody (never read)"
    where_y = f"{y.receiver} ({y.recv})" if y.receiver else "nobody (never read)"
    if x.channel != y.channel:
        return (
            f"message {quote(x.data)} ({x.size} B) from {sender} went to the wrong peer: expected {where_x} on "
            f"{x.channel}; got {where_y} on {y.channel}"
        )
    return (
        f"message {quote(x.data)} ({x.size} B) from {sender} on {x.channel}: expected {where_x} to read it; "
        f"got {where_y}"
    )


# -- packets ----------------------------------------------------------------------------------------


def _packet_differences(exp: CanonicalTrace, act: CanonicalTrace) -> list[Difference]:
    a, b = dict(exp.packets or ()), dict(act.packets or ())
    out = []
    for ch in a.keys() - b.keys():
        out.append(Difference("packet", None, f"expected {len(a[ch])} packets on {ch}; got none"))
    for ch in b.keys() - a.keys():
        out.append(Difference("packet", None, f"unexpected packets on {ch} ({len(b[ch])})"))
    for ch in sorted(a.keys() & b.keys()):
        texts = _sequence_differences(a[ch], b[ch], repr, CanonicalPacket.describe, lambda p: p.flags)
        out += [Difference("packet", None, f"packets on {ch}: {t}") for t in texts]
    return out


# -- golden files -----------------------------------------------------------------------------------

#: Endings a golden trace is never recorded from: the run did not do what its scenario says.
BAD_ENDINGS = frozenset({"timeout", "failed"})


@dataclass(eq=False)
class Golden:
    """A golden canonical trace on disk, compared with a run by `==` (as syrupy's snapshot is).

    Mutable on purpose: `==` keeps the comparison in `result`, so pytest's
    assertion message can show it. With `update`, `==` rewrites the file from
    the run instead of comparing, and is always true.
    """

    path: Path
    ignore: frozenset[str] = frozenset()
    update: bool = False
    result: DiffResult | None = None
    written: bool = field(default=False)

    def check(self, actual: CanonicalTrace) -> DiffResult:
        """Compare (or, updating, record) a run; the outcome is also kept in `result`."""
        if self.update:
            if actual.ending in BAD_ENDINGS:
                diff = DiffResult(
                    (
                        Difference(
                            "ending",
                            None,
                            f"the run ended {_ending(actual.ending)}; a golden "
                            f"trace is not recorded from it ({self.path} left as it was)",
                        ),
                    )
                )
            else:
                save(actual, self.path)
                self.written = True
                diff = DiffResult((), (f"golden trace written: {self.path}",))
        elif not self.path.exists():
            diff = DiffResult(
                (
                    Difference(
                        "golden",
                        None,
                        f"there is no golden trace {self.path} yet; run pytest "
                        "with --ipctrace-update to record it from this run",
                    ),
                )
            )
        else:
            diff = diff_canonical(
                load(self.path), actual, self.ignore, expected_name=f"golden {self.path}", actual_name="this run"
            )
        self.result = diff
        return diff

    def __eq__(self, other: object) -> bool:
        if isinstance(other, CanonicalTrace):
            return self.check(other).equivalent
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Golden({str(self.path)!r})"
