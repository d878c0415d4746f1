"""End to end: `ipctrace run` of whole course examples against the same programs run untraced."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from benchmarks.common import PROGRAMS, PYTHON, ChildFailed, Context, Section, Stat, Table, Target, ratios, run_json

TARGET_SCENARIO, TARGET_SECONDS = "tcp_chat", 0.5
#: The untraced programs' wall (s) on this machine when the target was set: the machine's pace varies (its
#: `python -c pass` from 16 to 36 ms), so the section also says what a run's wall is at that pace.
TARGET_SET_AT_UNTRACED = 0.11

SCENARIOS = ("pipe3", "tcp_chat", "udp_file_done")
QUICK_SCENARIOS = ("tcp_chat",)
MODES = ("untraced", "ipctrace run", "ipctrace run --no-render", "ipctrace run --no-render --no-capture")


def _command(ctx: Context, mode: str, scenario: str) -> tuple[list[str], Path]:
    """The command of one measured run, and the folder it writes into."""
    out = ctx.scratch(f"e2e-{scenario}")
    if mode == "untraced":
        return [PYTHON, str(PROGRAMS / "untraced_roles.py"), scenario, str(out)], out
    cmd = [PYTHON, "-m", "ipctrace", "run", scenario, "--port", "0", "--output", str(out), "--quiet"]
    return cmd + mode.split()[2:], out


#: The supervised part of a run, read from its trace: ms after the header's `started` (just before the
#: first program starts) for each point, and the time the programs' scripted reads of stdin took.
TIMELINE = (
    "first role's first event",
    "first role's `listen`",
    "next role's first event",
    "scripted reads of stdin (sum)",
    "last process ended",
    "run over (`ended`)",
)


def timeline(trace: Path) -> dict[str, float] | None:
    """Where the supervised part of one run went (`TIMELINE`), or None for a trace without those points."""
    try:
        lines = [json.loads(line) for line in trace.read_text().splitlines()]
    except (OSError, ValueError):
        return None
    header, start = lines[0], lines[0]["started"]
    roles = list(header["roles"].items())
    events = [o for o in lines if o.get("type") == "event"]
    ends = [o["end"] for o in lines if o.get("type") == "process" and o.get("end")]
    if len(roles) < 2 or not ends:
        return None
    first, second = ({int(p) for p in pids} for _, pids in roles[:2])
    try:
        points = [
            next(e["t0"] for e in events if e["pid"] in first),
            next(e["t1"] for e in events if e["pid"] in first and e["call"] == "listen"),
            next(e["t0"] for e in events if e["pid"] in second),
        ]
    except StopIteration:
        return None
    reads = sum(e["t1"] - e["t0"] for e in events if e["call"] == "read" and e.get("fd") == 0 and e.get("t1"))
    values = [(t - start) / 1e6 for t in points] + [reads / 1e6]
    values += [(t - start) / 1e6 for t in (max(ends), header["ended"])]
    return dict(zip(TIMELINE, values, strict=True))


def run(ctx: Context) -> Section:
    scenarios = QUICK_SCENARIOS if ctx.quick else SCENARIOS
    results: dict[tuple[str, str], list[dict]] = defaultdict(list)
    timelines: dict[str, list[dict[str, float]]] = defaultdict(list)
    failures: dict[str, int] = {}
    for scenario in scenarios:  # unmeasured runs first: bytecode caches and the page cache warm
        for mode in MODES[:2]:
            ctx.log(f"  end-to-end warm-up: {scenario} {mode}")
            run_json([PYTHON, str(PROGRAMS / "measure.py"), *_command(ctx, mode, scenario)[0]], env=ctx.child_env())
    for rep in range(ctx.repeats):
        for scenario in scenarios:
            for mode in MODES:
                ctx.log(f"  end-to-end {scenario} {mode}, repeat {rep + 1}/{ctx.repeats}")
                cmd, folder = _command(ctx, mode, scenario)
                out = run_json([PYTHON, str(PROGRAMS / "measure.py"), *cmd], env=ctx.child_env(), timeout=120)
                if scenario == TARGET_SCENARIO and mode != "untraced" and out["rc"] == 0:
                    points = timeline(folder / scenario / "trace.jsonl")
                    if points is not None:
                        timelines[mode].append(points)
                if out["rc"] != 0:
                    last = (out["stderr"].strip().splitlines() or ["(no message)"])[-1][:300]
                    key = f"{scenario} ({mode}) exited {out['rc']}: {last}"
                    failures[key] = failures.get(key, 0) + 1
                results[scenario, mode].append(out)

    def ok(scenario: str, mode: str) -> list[dict]:
        return [r for r in results[scenario, mode] if r["rc"] == 0]

    def cell(scenario: str, mode: str, key: str, digits: int, scale: float = 1.0) -> str:
        values = [r[key] * scale for r in ok(scenario, mode)]
        return Stat.of(values).cell(digits) if values else "failed"

    rows: list[Sequence[str]] = []
    for scenario in scenarios:
        pairs = [
            (t["wall"], u["wall"])
            for t, u in zip(results[scenario, "ipctrace run"], results[scenario, "untraced"], strict=True)
            if t["rc"] == 0 and u["rc"] == 0
        ]  # same repeat, both ended well
        rows.append(
            [
                f"`{scenario}`",
                f"{min(len(ok(scenario, m)) for m in MODES)}/{ctx.repeats}",
                cell(scenario, "untraced", "wall", 2),
                cell(scenario, "ipctrace run", "wall", 2),
                cell(scenario, "ipctrace run --no-render", "wall", 2),
                cell(scenario, "ipctrace run --no-render --no-capture", "wall", 2),
                ratios([t for t, _ in pairs], [u for _, u in pairs]).cell(2) if pairs else "failed",
                Stat.of(t - u for t, u in pairs).cell(2) if pairs else "failed",
                cell(scenario, "untraced", "maxrss_kib", 1, 1 / 1024),
                cell(scenario, "ipctrace run", "maxrss_kib", 1, 1 / 1024),
                cell(scenario, "untraced", "cpu", 2),
                cell(scenario, "ipctrace run", "cpu", 2),
            ]
        )
    section = Section(
        "end_to_end",
        "End to end: `ipctrace run` against the untraced programs",
        "Each course example run three ways from a fresh process: *untraced* (its programs started in order "
        "by a small launcher that waits for the server's port in /proc/net and pipes the scripted input in up "
        "front), `ipctrace run NAME --port 0 --quiet` (recording, scapy capture, trace assembly, the text "
        "timeline and the diagrams: SVG, PNG pages, PDF, Mermaid, PlantUML), the same with `--no-render`, and "
        "with `--no-render --no-capture` (recording only). *wall* is seconds from start to exit; *added* is "
        "ipctrace's wall time minus the untraced run's. *peak RSS* is the largest single process of the "
        "run (`ru_maxrss` over every reaped descendant, orphans included): for ipctrace that is the ipctrace "
        "process itself. *CPU* is user+system seconds of all processes. `pipe3` sleeps 3 s by design, so its "
        "ratio is close to 1 whatever the tracer costs. There is no target for this section; it shows what a "
        "lecturer waits for.",
    )
    section.tables.append(
        Table(
            [
                "scenario",
                "runs ok",
                "untraced wall s",
                "ipctrace run wall s",
                "--no-render wall s",
                "--no-render --no-capture wall s",
                "wall ratio",
                "added s",
                "untraced peak RSS MiB",
                "ipctrace peak RSS MiB",
                "untraced CPU s",
                "ipctrace CPU s",
            ],
            rows,
            f"median (min–max) over {ctx.repeats} run{'s' if ctx.repeats > 1 else ''}, after one warm-up run",
        )
    )
    if timelines:
        section.tables.append(
            Table(
                ["mode", *TIMELINE],
                [_timeline_row(mode, runs) for mode, runs in timelines.items()],
                f"`{TARGET_SCENARIO}`, the supervised part (`Supervisor.run`) read from its trace: ms after the "
                "header's `started` (just before the first program starts), median (min–max)",
            )
        )
    split = _split(ok, scenarios)
    if split:
        section.tables.append(
            Table(
                ["scenario", "recording (no capture, no render) s", "+ capture s", "+ diagrams s", "whole run s"],
                split,
                "medians; each part is the difference between two modes of the table above",
            )
        )
    tail = _tail_table(ctx)
    if tail is not None:
        section.tables.append(tail)
    if TARGET_SCENARIO in scenarios and ok(TARGET_SCENARIO, "ipctrace run"):
        whole = Stat.of(r["wall"] for r in ok(TARGET_SCENARIO, "ipctrace run")).median
        section.targets.append(
            Target(
                f"`ipctrace run {TARGET_SCENARIO}` wall",
                f"≤ {TARGET_SECONDS:g} s",
                f"{whole:.2f} s",
                whole <= TARGET_SECONDS,
            )
        )
        untraced = [r["wall"] for r in ok(TARGET_SCENARIO, "untraced")]
        if untraced:
            pace = Stat.of(untraced).median
            section.notes.append(
                f"The {TARGET_SECONDS:g} s target was set when `{TARGET_SCENARIO}`'s untraced programs took "
                f"{TARGET_SET_AT_UNTRACED:g} s; in this run they took {pace:.2f} s. At that pace this run's "
                f"{whole:.2f} s would be {whole * TARGET_SET_AT_UNTRACED / pace:.2f} s (the wall ratio, which "
                "does not depend on the pace, is in the table)."
            )
    if failures:
        section.notes.append(
            "Runs that did not end well, left out of the figures: "
            + "; ".join(f"{what} ({n}x)" for what, n in failures.items())
        )
    return section


def _timeline_row(mode: str, runs: list[dict[str, float]]) -> Sequence[str]:
    return [f"`{mode}`", *(Stat.of(t[k] for t in runs).cell(0) for k in TIMELINE)]


def _split(ok, scenarios) -> list[Sequence[str]]:
    """Where an `ipctrace run` spends its time: recording, capture (start, drain, parse), diagrams."""
    rows: list[Sequence[str]] = []
    for scenario in scenarios:
        med = {}
        for mode in MODES[1:]:
            runs = ok(scenario, mode)
            if not runs:
                break
            med[mode] = Stat.of(r["wall"] for r in runs).median
        else:
            record = med["ipctrace run --no-render --no-capture"]
            capture = med["ipctrace run --no-render"] - record
            render = med["ipctrace run"] - med["ipctrace run --no-render"]
            rows.append(
                [f"`{scenario}`", f"{record:.2f}", f"{capture:+.2f}", f"{render:+.2f}", f"{med['ipctrace run']:.2f}"]
            )
    return rows


TAIL_STAGES = (
    ("ordered", "stop, capture parsed, trace assembled and written, ordered"),
    ("layout", "layout"),
    ("neato started", "DOT written, neato given it"),
    ("tool-free formats written", "Mermaid, PlantUML, classroom page written"),
    ("neato waited for, files written", "neato waited for, SVG/PNG/PDF written"),
    ("whole", "summary, exit"),
)


def _tail_table(ctx: Context) -> Table | None:
    """After the programs of `ipctrace run tcp_chat` ended, stage by stage (`programs/draw_tail.py run`)."""
    runs = []
    for rep in range(ctx.repeats):
        ctx.log(f"  end-to-end tail breakdown, repeat {rep + 1}/{ctx.repeats}")
        try:
            runs.append(
                run_json(
                    [PYTHON, str(PROGRAMS / "draw_tail.py"), "run", TARGET_SCENARIO], env=ctx.child_env(), timeout=120
                )
            )
        except ChildFailed:
            continue
    if not runs:
        return None
    rows = [
        [
            "first program started (from the interpreter's first line)",
            Stat.of(r["points"]["first program"] for r in runs).cell(0),
            "",
        ],
        ["programs ended", Stat.of(r["points"]["programs ended"] for r in runs).cell(0), ""],
    ]
    for key, label in TAIL_STAGES:
        rows.append(
            [
                f"{label} (ms after the programs ended)",
                Stat.of(r["stages"][key][0] for r in runs).cell(0),
                Stat.of(r["stages"][key][1] for r in runs).cell(0),
            ]
        )
    rows.append(
        [
            "CPU of every child (the traced programs, neato, fc-list)",
            "",
            Stat.of(r["children_cpu_ms"] for r in runs).cell(0),
        ]
    )
    rows.append(
        [
            "neato CPU spent before its DOT came (started during the run)",
            "",
            Stat.of(r["neato_cpu_before_handover_ms"] for r in runs).cell(0),
        ]
    )
    return Table(
        [f"`ipctrace run {TARGET_SCENARIO}` after its programs", "wall ms", "CPU ms of ipctrace"],
        rows,
        f"median (min–max) over {len(runs)} runs, from `programs/draw_tail.py run`",
    )
