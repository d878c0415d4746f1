"""Two canonical traces: equivalent, or the list of differences a user can act on.

Differences are said in terms of roles, calls and messages ("client: expected
send 'exit\\n' (5 B) on tcp#1.client before close tcp#1.client; got close
tcp#1.client"), never pids or timestamps. Per process the calls are matched
as sequences (program order matters: a swap is a difference); flows and calls
made in signal handlers are matched as multisets (their order between
processes is accidental). Everything here is linear in the size of the forms
(`align.py`), so two 100,000-call runs compare in seconds.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from ipctrace.compare.canonical import canonicalize
from ipctrace.compare.choices import CHOICES, READ_BOUNDARIES, check_ignore, program_argv, without
from ipctrace.compare.describe import describe, describe_packet, summary
from ipctrace.compare.flows import flow_differences
from ipctrace.compare.form import CanonicalCall, CanonicalTrace
from ipctrace.compare.identity import Role
from ipctrace.compare.sequences import sequence_differences
from ipctrace.model import Trace
from ipctrace.perf import gc_paused

EXPLAIN_LIMIT = 40  # differences shown before "... and N more"


@dataclass(frozen=True, slots=True)
class Difference:
    """One way two runs differ. `role` is the process it concerns, None for the run as a whole."""

    kind: str  # ending, process, call, async, flow, packet, golden
    role: Role | None
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


def diff_traces(
    a: Trace, b: Trace, ignore: Iterable[str] = frozenset(), *, a_name: str = "A", b_name: str = "B"
) -> DiffResult:
    """Compare two recorded runs; `a` is taken as the expected one."""
    ignored = check_ignore(ignore)
    boundaries = READ_BOUNDARIES in ignored
    return diff_canonical(
        canonicalize(a, read_boundaries=boundaries),
        canonicalize(b, read_boundaries=boundaries),
        ignored,
        expected_name=a_name,
        actual_name=b_name,
    )


def diff_canonical(
    expected: CanonicalTrace,
    actual: CanonicalTrace,
    ignore: Iterable[str] = frozenset(),
    *,
    expected_name: str = "",
    actual_name: str = "",
) -> DiffResult:
    """Compare two canonical traces (from runs or golden files)."""
    with gc_paused():
        return _diff(expected, actual, check_ignore(ignore), expected_name, actual_name)


def _diff(
    expected: CanonicalTrace, actual: CanonicalTrace, ignored: frozenset[str], expected_name: str, actual_name: str
) -> DiffResult:
    notes = []
    if ignored:
        notes.append("ignored: " + ", ".join(CHOICES[k] for k in sorted(ignored)))
    mismatch = _boundaries_mismatch(expected, actual, READ_BOUNDARIES in ignored, expected_name, actual_name)
    if mismatch is not None:
        return DiffResult((mismatch,), tuple(notes), expected_name, actual_name)
    exp, act = without(expected, ignored), without(actual, ignored)
    if _two_implementations(exp, act, ignored):
        ignored = ignored | {"programs"}
        exp, act = without(exp, ("programs",)), without(act, ("programs",))
        notes.append(
            f"both are runs of {expected.scenario}, one as the Python port and one as the C original: "
            "`python x.py ARGS` and a built `x ARGS` are taken as the same program"
        )
    diffs: list[Difference] = []
    if exp.ending != act.ending:
        diffs.append(
            Difference("ending", None, f"the run ended {ending_text(exp.ending)}; got {ending_text(act.ending)}")
        )
    diffs += _process_differences(exp, act)
    if "programs" not in ignored and _only_named_differently(exp, act):
        notes.append(
            "`python x.py` and a built `x` are the same program with --ignore programs (a port and its C original)"
        )
    diffs += [Difference("flow", None, text) for text in flow_differences(exp.flows, act.flows)]
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


def _boundaries_mismatch(
    exp: CanonicalTrace, act: CanonicalTrace, wanted: bool, exp_name: str, act_name: str
) -> Difference | None:
    """Read boundaries compared only when both forms kept them, and asked for; one sentence otherwise."""
    without_them = [
        name or default
        for form, name, default in ((exp, exp_name, "the expected run"), (act, act_name, "this run"))
        if form.read_boundaries != wanted
    ]
    if not without_them:
        return None
    how = "without" if wanted else "with"
    advice = (
        f"record it again with --ipctrace-ignore {READ_BOUNDARIES} (or ignore={{'{READ_BOUNDARIES}'}})"
        if wanted
        else f"compare with {READ_BOUNDARIES} too, or record it again without it"
    )
    return Difference("golden", None, f"{' and '.join(without_them)} kept its reads {how} their boundaries; {advice}")


def ending_text(ending: str) -> str:
    return {
        "complete": "with every process done",
        "expected-blocked": "blocked, as the scenario expects",
        "timeout": "at its timeout",
        "failed": "in failure",
        "deadlock": "in a deadlock",
        "interrupted": "interrupted",
        "": "(ending not recorded)",
    }.get(ending, ending)


def _process_differences(exp: CanonicalTrace, act: CanonicalTrace) -> list[Difference]:
    out = [
        Difference("process", p.role, f"missing process: expected it, {summary(p)}")
        for p in exp.processes
        if act.process(p.role) is None
    ]
    out += [
        Difference("process", p.role, f"extra process: {summary(p)}")
        for p in act.processes
        if exp.process(p.role) is None
    ]
    for p in exp.processes:
        q = act.process(p.role)
        if q is None:
            continue
        if p.parent != q.parent:
            out.append(Difference("process", p.role, f"expected parent {p.parent}; got {q.parent}"))
        if p.started != q.started or p.argv != q.argv:
            expected = f"{p.started} {' '.join(p.argv)}".rstrip()
            got = f"{q.started} {' '.join(q.argv)}".rstrip()
            out.append(Difference("process", p.role, f"expected to start by {expected}; got {got}"))
        if p.exit != q.exit:
            out.append(
                Difference("process", p.role, f"expected {p.exit or 'no known end'}; got {q.exit or 'no known end'}")
            )
    return out


def _two_implementations(exp: CanonicalTrace, act: CanonicalTrace, ignored: frozenset[str]) -> bool:
    """The same scenario run as its Python port and as its C original: their programs are named differently."""
    if "programs" in ignored or exp.scenario is None or exp.scenario != act.scenario:
        return False
    return _only_named_differently(exp, act)


def _only_named_differently(exp: CanonicalTrace, act: CanonicalTrace) -> bool:
    """Some process starts differ only in how their program is named (`python x.py` against `x`)."""
    pairs = [(p, act.process(p.role)) for p in exp.processes]
    return any(q is not None and p.argv != q.argv and program_argv(p.argv) == program_argv(q.argv) for p, q in pairs)


def _slot(c: CanonicalCall) -> str:
    """Calls that can stand for each other when a stretch differs: the same call, on any endpoint."""
    return c.call


def _describe_pair(x: CanonicalCall, y: CanonicalCall) -> tuple[str, str]:
    """Two calls whose short descriptions are alike, shown around where their texts first differ."""
    if x.data is not None and y.data is not None and x.data != y.data:
        k = next(
            (k for k, (p, q) in enumerate(zip(x.data, y.data, strict=False)) if p != q), min(len(x.data), len(y.data))
        )
        return describe(x, focus=k), describe(y, focus=k)
    return describe(x) + " " + x.key, describe(y) + " " + y.key


def _call_differences(role: Role, a: tuple[CanonicalCall, ...], b: tuple[CanonicalCall, ...]) -> list[Difference]:
    texts = sequence_differences(a, b, describe, _slot, _describe_pair)
    return [Difference("call", role, t) for t in texts]


def _async_differences(role: Role, a: tuple[CanonicalCall, ...], b: tuple[CanonicalCall, ...]) -> list[Difference]:
    ca, cb = Counter(a), Counter(b)
    out = [Difference("async", role, f"in a signal handler: expected {describe(c)}; missing") for c in ca - cb]
    out += [Difference("async", role, f"in a signal handler: unexpected {describe(c)}") for c in cb - ca]
    return out


def _packet_differences(exp: CanonicalTrace, act: CanonicalTrace) -> list[Difference]:
    a, b = dict(exp.packets or ()), dict(act.packets or ())
    out = [Difference("packet", None, f"expected {len(a[ch])} packets on {ch}; got none") for ch in a.keys() - b.keys()]
    out += [Difference("packet", None, f"unexpected packets on {ch} ({len(b[ch])})") for ch in b.keys() - a.keys()]
    for ch in sorted(a.keys() & b.keys()):
        texts = sequence_differences(a[ch], b[ch], describe_packet, lambda p: p.flags)
        out += [Difference("packet", None, f"packets on {ch}: {t}") for t in texts]
    return out
