"""The cost per call of a recorder: one loop program run untraced, traced and under strace, interleaved.

Shared by the Python recorder's section (recorder_cost.py) and the native recorder's (native_cost.py):
only the program and how it is traced differ. Each repeat runs every workload in every mode in turn,
so drift on a shared machine hits all modes alike; ratios are taken repeat by repeat, then summarised.
"""

from __future__ import annotations

import shutil
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from benchmarks.common import Context, Section, Stat, Table, Target, num, ratios, run_json, yes_no

EVENTS_PER_ITERATION = 2  # each iteration is a send and a receive
UNTRACED, TRACED, STRACE = "untraced", "traced", "strace"


@dataclass(frozen=True)
class Variant:
    """Another way of tracing the same loop, measured in the same repeats (rows of its own, no target)."""

    mode: str  # its key among the modes
    label: str  # how its rows are named
    env: dict[str, str]  # set in the traced environment


@dataclass(frozen=True)
class LoopCost:
    """What one recorder's section measures: its loop program, how it is traced, and its targets."""

    key: str  # the section's key, also in progress lines and scratch folder names
    traced_word: str  # how the traced column is named ("traced", "native")
    target_what: str  # how the targets name the recorder ("recorder", "native recorder")
    workloads: tuple[tuple[str, str], ...]  # (kind given to the program, label of the row)
    limits: dict[str, float]  # traced / untraced at most this, per kind
    iterations: int
    quick_iterations: int
    strace_iterations: int  # strace's cost per call is steady: fewer iterations under it
    command: Callable[[str, int], list[str]]  # (kind, iterations) -> argv
    traced_env: Callable[[Path, dict[str, str]], dict[str, str]]  # (logs folder, base env) -> env
    count_events: Callable[[Path], int]  # data calls recorded in a logs folder
    strace_factor: float | None = None  # strace at least this many times slower than traced (a target)
    strace_digits: int = 1
    traced_env_extra: dict[str, str] | None = None  # set in the traced environment of the TRACED mode
    variants: tuple[Variant, ...] = ()  # further traced modes, side by side with TRACED


@dataclass(frozen=True)
class Measured:
    n: int  # iterations untraced and traced
    strace_n: int
    strace: bool  # strace was installed and measured
    ns: dict[tuple[str, str], list[float]]  # (kind, mode) -> ns per iteration, one per repeat
    events: dict[str, list[float]]  # kind -> events recorded per iteration, one per traced repeat
    cpu: dict[tuple[str, str], list[float]]  # (kind, mode) -> CPU ns per iteration, when the program says


def measure(ctx: Context, loop: LoopCost) -> Measured:
    n = loop.quick_iterations if ctx.quick else loop.iterations
    strace = shutil.which("strace")
    variants = {v.mode: v for v in loop.variants}
    modes = [UNTRACED, TRACED, *variants] + ([STRACE] if strace else [])
    ns: dict[tuple[str, str], list[float]] = defaultdict(list)
    events: dict[str, list[float]] = defaultdict(list)
    cpu: dict[tuple[str, str], list[float]] = defaultdict(list)
    for rep in range(ctx.repeats):
        for kind, _ in loop.workloads:
            for mode in modes:
                ctx.log(f"  {loop.key} {kind} {mode}, repeat {rep + 1}/{ctx.repeats}")
                iterations = min(n, loop.strace_iterations) if mode == STRACE else n
                cmd = loop.command(kind, iterations)
                env = ctx.child_env()
                logs = None
                if mode == TRACED or mode in variants:
                    logs = ctx.scratch(f"{loop.key}-{kind}") / "recording"
                    logs.mkdir()
                    env = loop.traced_env(logs, env)
                    env.update(variants[mode].env if mode in variants else loop.traced_env_extra or {})
                elif mode == STRACE and strace:
                    cmd = [strace, "-f", "-o", "/dev/null", *cmd]
                out = run_json(cmd, env=env, timeout=600)
                ns[kind, mode].append(out["ns_per_iter"])
                if "cpu_ns_per_iter" in out:
                    cpu[kind, mode].append(out["cpu_ns_per_iter"])
                if logs is not None:
                    if mode == TRACED:
                        events[kind].append(loop.count_events(logs) / (n + out["warmup"]))
                    shutil.rmtree(logs)
    return Measured(n, min(n, loop.strace_iterations), strace is not None, dict(ns), dict(events), dict(cpu))


def _variant_row(loop: LoopCost, got: Measured, kind: str, label: str, v: Variant) -> list[str]:
    """A variant's row: the same columns as the traced row's, with no target."""
    u, t = got.ns[kind, UNTRACED], got.ns[kind, v.mode]
    per_event = Stat.of((a - b) / EVENTS_PER_ITERATION for a, b in zip(t, u, strict=True))
    row = [f"{label}, {v.label}", Stat.of(u).cell(), Stat.of(t).cell(), "", ratios(t, u).cell(2), per_event.cell(0)]
    row.append(ratios(got.ns[kind, STRACE], t).cell(loop.strace_digits) if got.strace else "n/a")
    row += ["—", "—"]
    if got.cpu:
        row.append(ratios(got.cpu[kind, v.mode], got.cpu[kind, UNTRACED]).cell(2))
    return row


def summarise(loop: LoopCost, got: Measured, section: Section) -> None:
    """The section's table of ns per iteration and ratios, its targets, and the sentence on what was missed."""
    word = loop.traced_word
    rows = []
    for kind, label in loop.workloads:
        u, t = got.ns[kind, UNTRACED], got.ns[kind, TRACED]
        tr = ratios(t, u)
        per_event = Stat.of((a - b) / EVENTS_PER_ITERATION for a, b in zip(t, u, strict=True))
        met = tr.median <= loop.limits[kind]
        section.targets.append(
            Target(
                f"{loop.target_what}, {kind}: traced / untraced",
                f"≤ {loop.limits[kind]:g}x",
                f"{num(tr.median, 2)}x",
                met,
            )
        )
        row = [
            label,
            Stat.of(u).cell(),
            Stat.of(t).cell(),
            Stat.of(got.ns[kind, STRACE]).cell() if got.strace else "n/a",
            tr.cell(2),
            per_event.cell(0),
        ]
        strace_met: bool | None = None
        if got.strace:
            sr = ratios(got.ns[kind, STRACE], t)
            row.append(sr.cell(loop.strace_digits))
            if loop.strace_factor is not None:
                strace_met = sr.median >= loop.strace_factor
                section.targets.append(
                    Target(
                        f"{loop.target_what}, {kind}: strace / traced",
                        f"≥ {loop.strace_factor:g}x",
                        f"{num(sr.median, loop.strace_digits)}x",
                        strace_met,
                    )
                )
        else:
            row.append("n/a")
        if loop.strace_factor is None:
            row.append(yes_no(met))
        else:
            row.append(f"{yes_no(met)} / {yes_no(strace_met) if got.strace else 'not measured'}")
        row.append(Stat.of(got.events[kind]).cell(2))
        if got.cpu:
            row.append(ratios(got.cpu[kind, TRACED], got.cpu[kind, UNTRACED]).cell(2))
        rows.append(row)
        rows.extend(_variant_row(loop, got, kind, label, v) for v in loop.variants)
    section.tables.append(
        Table(
            [
                "workload",
                "untraced ns/iter",
                f"{word} ns/iter",
                "strace -f ns/iter",
                f"{word} / untraced",
                "recorder ns per event",
                f"strace / {word}",
                "targets (traced / strace)" if loop.strace_factor is not None else "target",
                "events written per iteration",
                *([f"{word} / untraced, CPU time"] if got.cpu else []),
            ],
            rows,
            f"median (min–max) over {len(got.ns[loop.workloads[0][0], UNTRACED])} run"
            + ("s" if len(got.ns[loop.workloads[0][0], UNTRACED]) > 1 else ""),
        )
    )
    if not got.strace:
        section.notes.append("strace is not installed here: the strace column is left out (apt-get install strace).")
    missed = [t for t in section.targets if t.met is False]
    section.intro += (
        "\n\n**Targets missed**: " + "; ".join(f"{t.what} is {t.measured} (target {t.target})" for t in missed) + "."
        if missed
        else "\n\nBoth targets are met."
        if loop.strace_factor is None
        else "\n\nEvery target is met."
    )
