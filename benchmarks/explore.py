"""The race explorer: schedules a second, time to explore each example exhaustively, the reduction's factor.

Each program is explored with partial-order reduction and, where the full interleaving space is small
enough to run, without it, side by side in the same run (interleaved repeats). The C originals (`--impl c`,
gated by the native recorder) run beside their Python ports.
"""

from __future__ import annotations

import statistics
import sys

from benchmarks.common import REPO, Context, Section, Table, Target

EXAMPLES = ("pipe2", "pipe2_nosleep", "pipe3", "socketpair_fork")
#: Scenarios of a server and its clients, driven whole (every role under one controller, a free port each).
NETWORK = (
    "tcp_hello",
    "tcp_chat",
    "tcp_chat_exit",
    "tcp_chat_exit_server",
    "udp_hello",
    "udp_file",
    "udp_file_done",
    "unix_stream",
    "unix_dgram",
)
TARGET_SECONDS = 10.0  # issue 18: each course example explored exhaustively in under 10 s on this machine
RACE = str(REPO / "tests" / "programs" / "pipe_race.py")
C_RACE = REPO / "tests" / "programs" / "native" / "pipe_race.c"
C = " (C)"  # a row of a C original: the scenario's `--impl c`


def _command(name: str) -> list[str]:
    from ipctrace.explore.scenario import scenario_command
    from ipctrace.scenarios import Impl, find_scenario

    scenario = find_scenario(name.removesuffix(C))
    return scenario_command(scenario.for_impl(Impl.C) if name.endswith(C) else scenario)[0]


def _c_race(ctx: Context) -> list[str]:
    import subprocess

    out = ctx.scratch("explore-race") / "pipe_race"
    subprocess.run(["gcc", "-O2", "-o", str(out), str(C_RACE)], check=True)
    return [str(out), "2", "1", "2", "1"]


def _explore_scenario(name: str, budget):
    import tempfile
    from pathlib import Path

    from ipctrace.explore.scenario import explore_scenario
    from ipctrace.scenarios import find_scenario

    with tempfile.TemporaryDirectory(prefix="ipctrace-bench-") as out:
        return explore_scenario(find_scenario(name), budget, output_root=Path(out))[0]


def run(ctx: Context) -> Section:
    from ipctrace.cprograms import native_library
    from ipctrace.explore.exploration import Budget, explore

    budget = Budget(max_runs=100_000, max_seconds=900, random_runs=0)
    native = native_library()
    examples = ("pipe3",) if ctx.quick else EXAMPLES  # --quick: the smallest, in a few seconds
    examples += tuple(name + C for name in examples)
    programs: dict[str, list[str]] = {name: _command(name) for name in examples}
    if not ctx.quick:
        programs["pipe_race 2x1 2x1"] = [sys.executable, RACE, "2", "1", "2", "1"]
        programs["pipe_race 2x1 2x1" + C] = _c_race(ctx)
        programs["pipe_race 2x2 2x2"] = [sys.executable, RACE, "2", "2", "2", "2"]
    full_too = set(examples)
    measured: dict[tuple[str, bool], list] = {}
    for rep in range(ctx.repeats):
        for name, command in programs.items():
            for reduce in (True, False):
                if not reduce and name not in full_too:
                    continue
                ctx.log(f"explore {name} reduce={reduce} ({rep + 1}/{ctx.repeats})")
                got = explore(command, budget, reduce=reduce, native=native if name.endswith(C) else None)
                measured.setdefault((name, reduce), []).append(got)
    network = ("tcp_chat",) if ctx.quick else NETWORK
    for rep in range(ctx.repeats):
        for name in network:
            ctx.log(f"explore {name} ({rep + 1}/{ctx.repeats})")
            measured.setdefault((name, True), []).append(_explore_scenario(name, budget))
    programs.update({name: [] for name in network})
    rows = []
    targets = []
    for name in programs:
        runs = measured[(name, True)]
        secs = sorted(r.seconds for r in runs)
        last = runs[-1]
        full = measured.get((name, False))
        factor = (
            f"{full[-1].schedules / last.schedules:.1f}x ({full[-1].schedules} → {last.schedules})" if full else "—"
        )
        rate = sorted(r.schedules / r.seconds for r in runs)
        rows.append(
            [
                name,
                f"{last.schedules} ({last.pruned} cut short)",
                f"{statistics.median(r.seconds / max(r.schedules + r.pruned, 1) for r in runs) * 1000:.0f}",
                str(len(last.outcomes)),
                "yes" if all(r.exhaustive for r in runs) else "no",
                f"{secs[len(secs) // 2]:.2f} ({secs[0]:.2f}–{secs[-1]:.2f})",
                f"{rate[len(rate) // 2]:.1f}",
                factor,
            ]
        )
        if name.removesuffix(C) in EXAMPLES or name in NETWORK:
            median = secs[len(secs) // 2]
            targets.append(
                Target(
                    f"explore {name} exhaustively",
                    f"< {TARGET_SECONDS:g} s",
                    f"{median:.2f} s",
                    median < TARGET_SECONDS,
                )
            )
    table = Table(
        [
            "program",
            "schedules (with reduction)",
            "ms a run",
            "outcomes",
            "exhaustive",
            "seconds to exhaust",
            "schedules/s",
            "reduction factor (schedules without → with)",
        ],
        rows,
    )
    return Section(
        "explore",
        "Race explorer",
        "`ipctrace explore`: every schedule the reduction keeps, one traced run each (a fork of a fork server "
        "started once). The reduction factor is the number of schedules without reduction over the number with "
        "it, both exhaustive, same run; pipe_race (two writers × one or two writes, two readers × one or two "
        "reads) with reduction only: without it there are tens of thousands of interleavings. A pipe read that "
        "got all it asked for commutes with a write whose bytes it did not take, so pipe_race 2x2 2x2 needs one "
        "schedule per order of its writes and of its reads (36), not one per order of its eight pipe calls (504, "
        "what the reduction without that rule ran, with 263 runs cut short, in 303 s on 2026-12-01). The "
        "scenarios of a server and its clients (tcp_hello to unix_dgram) run every role under one controller, "
        "one fork server a role, with a free port and their scripted input; with reduction only. Rows marked "
        "(C) explore the C original (`ipctrace explore NAME --impl c`; pipe_race: tests/programs/native/"
        "pipe_race.c), gated by the native recorder: the same schedules and outcomes as the Python port.",
        tables=[table],
        targets=targets,
    )
