"""`ipctrace explore NAME`: a course example explored, its outcomes written to output/NAME/explore/summary.json.

Every role of the scenario is driven under one controller: the server and its clients, each with
the exploration's free port and its scripted input, started in the scenario's order. The gate
lives in both recorders: the Python one (record/gate.py) and the native one (record/native/gate.c,
the same line protocol), so a scenario's C original (`--impl c`) is explored too.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from ipctrace.calls import Call
from ipctrace.explore.controller import ExploreError
from ipctrace.explore.deciding import Deciding, who
from ipctrace.explore.exploration import Budget, Exploration, explore
from ipctrace.explore.roles import RolePlan
from ipctrace.model import Pid, Trace
from ipctrace.render.options import Mark
from ipctrace.scenarios import Impl, Scenario
from ipctrace.session.folder import disk_sentence, generate_file, output_folder_sentence, write_whole
from ipctrace.session.ports import choose_port
from ipctrace.session.roles import missing_program
from ipctrace.session.runner import substitutions

if TYPE_CHECKING:
    from ipctrace.session import RunResult
    from ipctrace.session.diagrams import DiagramRequest

SUMMARY = "summary.json"


def explore_folder(scenario: Scenario, output_root: Path) -> Path:
    return output_root / scenario.run_name / "explore"


def scenario_command(scenario: Scenario) -> tuple[list[str], str]:
    """The command of a one-role scenario with no port and the folder it runs in (benchmarks, tests)."""
    if len(scenario.roles) != 1 or scenario.uses_port:
        raise ExploreError(f"scenario {scenario.name} has more than one program or a port: explore it by its name.")
    plan, cwd = scenario_roles(scenario, None, Path("."))
    return list(plan[0].command), cwd


def scenario_roles(scenario: Scenario, port: int | None, files: Path) -> tuple[tuple[RolePlan, ...], str]:
    """Every role as the explorer drives it (its port and folder filled in), and the folder the roles run in."""
    subst = substitutions(scenario, files, port, _built_c_programs(scenario))
    plan = tuple(
        RolePlan(
            role.name,
            tuple(arg.format(**subst) for arg in role.command),
            ready=RolePlan.ready_ids(role.ready),
            script=None if role.stdin is None or role.interactive else tuple(role.stdin),
            service=role.service,
        )
        for role in scenario.roles
    )
    return plan, subst["cwd"]


def _built_c_programs(scenario: Scenario) -> str:
    """The folder of the built C originals when the scenario's commands name it ({cbin}), built if needed."""
    if not any("{cbin}" in arg for role in scenario.roles for arg in role.command):
        return ""
    from ipctrace.cprograms import CProgramsUnavailable, built_programs

    try:
        return str(built_programs())
    except CProgramsUnavailable as exc:
        raise ExploreError(str(exc)) from None


def _native(scenario: Scenario) -> Path | None:
    """The native recorder's library, which gates what is not Python (as `run` puts it in every run)."""
    from ipctrace.cprograms import native_library_or_reason

    library, why = native_library_or_reason()
    if library is None and scenario.impl == Impl.C:
        raise ExploreError(f"{why.rstrip('.')}: the C original cannot be explored without the native recorder.")
    return library


def explore_scenario(
    scenario: Scenario, budget: Budget | None = None, reduce: bool = True, output_root: Path = Path("output")
) -> tuple[Exploration, Path]:
    """Explore `scenario` and write its summary; returns the exploration and the summary's path.

    A scenario on a port gets a free one for the whole exploration; its files (`{outdir}`: what it
    generates, receives, its socket names) live in a folder of the exploration's own.
    """
    folder = explore_folder(scenario, output_root)
    _writable(folder)  # before the search, which can take minutes: a bad --output is said at once
    port = choose_port(0, scenario.protocols) if scenario.uses_port else None
    files = Path(tempfile.mkdtemp(prefix="ipctrace-files-"))
    try:
        plan, cwd = scenario_roles(scenario, port, files)
        for role in plan:
            problem = missing_program(role.command, cwd)
            if problem is not None:
                raise ExploreError(f"cannot start {role.name}: {problem}.")
        for name, size in scenario.generate.items():
            generate_file(files / name, size)
        result = explore(plan[0].command, budget, reduce=reduce, cwd=cwd, roles=plan, native=_native(scenario))
    finally:
        shutil.rmtree(files, ignore_errors=True)
    summary = {"scenario": scenario.name, **({"port": port} if port else {}), **result.as_json()}
    path = folder / SUMMARY
    try:
        write_whole(path, json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    except OSError as exc:
        raise ExploreError(f"{disk_sentence(path, exc)}: the exploration's summary was not written.") from None
    return result, path


def _writable(folder: Path) -> None:
    """Make the exploration's folder, or say in one sentence why it cannot be made there."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExploreError(output_folder_sentence(folder, exc)) from None


def _schedules(summary: object) -> dict[int, tuple[str, ...]] | None:
    """Each outcome's schedule (its process paths) by the outcome's id, from a summary.json; None if it holds none."""
    outcomes = summary.get("outcomes", []) if isinstance(summary, dict) else None
    if not isinstance(outcomes, list):
        return None
    schedules = {}
    for o in outcomes:
        ok = isinstance(o, dict) and type(o.get("id")) is int and isinstance(o.get("schedule"), list)
        if not ok or not all(isinstance(step, str) for step in o["schedule"]):
            return None
        schedules[o["id"]] = tuple(o["schedule"])
    return schedules


def representative(scenario: Scenario, outcome: int, output_root: Path = Path("output")) -> tuple[str, ...]:
    """The schedule of outcome `outcome` from the scenario's last exploration; one sentence when there is none."""
    path = explore_folder(scenario, output_root) / SUMMARY
    try:
        summary = json.loads(path.read_text())
    except FileNotFoundError:
        raise ExploreError(
            f"{path} does not exist: run `ipctrace explore {scenario.name}` first, then replay an outcome by its id."
        ) from None
    except (OSError, ValueError) as exc:
        raise ExploreError(f"{path} cannot be read ({exc}); run `ipctrace explore {scenario.name}` again.") from None
    schedules = _schedules(summary)
    if schedules is None:
        raise ExploreError(
            f"{path} is not shaped as an exploration's summary (each outcome's id and schedule); "
            f"run `ipctrace explore {scenario.name}` again."
        )
    ids = list(schedules)
    if outcome in schedules:
        return schedules[outcome]
    raise ExploreError(
        f"the exploration of {scenario.name} has no outcome {outcome}; its outcomes are {', '.join(map(str, ids))}."
    )


def _draw(request: DiagramRequest, deciding: Deciding | None, run: RunResult) -> None:
    """Draw a replayed outcome, its deciding step marked (found in this run's own trace)."""
    from dataclasses import replace

    from ipctrace.session.diagrams import draw

    mark = deciding_mark(run.trace, deciding) if deciding is not None else None
    if mark is not None:
        request = replace(request, options=replace(request.options, marks=(mark,)))
    draw(run.trace, run.outdir, request)


#: Outcomes drawn at most (each is one traced replay of its representative schedule).
MAX_DRAWN = 10


def explorer_paths(trace: Trace) -> dict[str, Pid]:
    """The explorer's name of each process of a replayed run (`main`, `main.1` its first fork, ...) → its pid."""
    pids = {p.pid for p in trace.processes}
    roots = [p.pid for p in trace.processes if p.ppid not in pids]
    out: dict[str, Pid] = {}
    todo = [("main", roots[0])] if len(roots) == 1 else []
    while todo:
        path, pid = todo.pop()
        out[path] = pid
        forks = [e for e in trace.events_of(pid) if e.call is Call.FORK and isinstance(e.result, int) and e.result > 0]
        todo += [(f"{path}.{k + 1}", e.result) for k, e in enumerate(forks) if e.result in pids]
    return out


def deciding_mark(trace: Trace, deciding: Deciding) -> Mark | None:
    """The deciding step as a mark on a replayed trace: the process's `nth` call of that name (None: not found)."""
    pid = explorer_paths(trace).get(deciding.path)
    if pid is None:
        return None
    same = [e for e in trace.events_of(pid) if e.call.value == deciding.call]
    if len(same) < deciding.nth:
        return None
    return Mark(same[deciding.nth - 1].key, deciding.sentence[0].lower() + deciding.sentence[1:])


def as_outcome(scenario: Scenario, outcome: int) -> Scenario:
    """The scenario replaying outcome `outcome`: its ending's explanation told of its own schedule, not this one."""
    if scenario.ending is None:
        return scenario
    why = f"Expected: the schedule of outcome {outcome}, found by ipctrace explore, ends here."
    return replace(scenario, ending=replace(scenario.ending, explanation=why))


def draw_outcomes(scenario: Scenario, result: Exploration, output_root: Path = Path("output")) -> dict[int, Path]:
    """Replay each outcome's representative schedule as a traced run and draw it: explore/outcome-N/."""
    from ipctrace.render import RenderOptions
    from ipctrace.session import RunOptions, run_scenario
    from ipctrace.session.diagrams import DiagramRequest

    folders: dict[int, Path] = {}
    for group in result.outcomes[:MAX_DRAWN]:
        outdir = explore_folder(scenario, output_root) / f"outcome-{group.number}"
        options = RunOptions(outdir=outdir, port=0, capture="none", schedule=group.representative)
        # the scenario's lesson tells one outcome; each outcome's slides say which one they show
        paths = [p.path for p in group.outcome.processes]
        endings = "; ".join(f"{who(p.path, paths)} {p.ending()}" for p in group.outcome.processes)
        caption = (  # one line: what each process printed is on the slides, the deciding step is marked there
            f"Outcome {group.number} of {len(result.outcomes)} ({group.schedules} of {result.schedules} schedules): "
            + endings
        )
        request = DiagramRequest(RenderOptions(caption=caption))
        run = run_scenario(as_outcome(scenario, group.number), options, then=partial(_draw, request, group.deciding))
        folders[group.number] = run.outdir
    return folders
