"""The `ipctrace` command: a thin shell over the library (session, tracefile, render, compare)."""

from __future__ import annotations

import argparse
import os
import sys
from contextlib import contextmanager
from pathlib import Path

from ipctrace.arguments import command_parser, extra_arguments_message
from ipctrace.errors import IpctraceError

TYPE_CHECKING = False  # as typing.TYPE_CHECKING (mypy reads the name), without importing typing (~4 ms)
if TYPE_CHECKING:  # the command imports what it runs when it runs it: `ipctrace --help` stays fast
    import signal
    from collections.abc import Iterator, Sequence

    from ipctrace.explore.outcomes import ProcessOutcome
    from ipctrace.model import Trace
    from ipctrace.render.graphviz.early import Ahead
    from ipctrace.scenario_index import Row
    from ipctrace.scenarios import Scenario
    from ipctrace.session import RunResult
    from ipctrace.session.request import DiagramRequest

EXIT_OK, EXIT_DIFFERENT, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130  # 130: 128 + SIGINT


class CliError(IpctraceError):
    """A problem with what the user asked for; printed as one sentence, exit status 2."""


@contextmanager
def _shown(what: str, after: str = "", *, needed: bool = True) -> Iterator[None]:
    """Write `what` to standard output, and flush it: a full disk or a closed output is one sentence.

    `after` says what the command did all the same (the run's files are written before its summary);
    `needed=False`: a closed output is no error (`diff`'s exit status is its answer). A reader that
    left (`ipctrace show ... | head`) is no error either: `main` ends quietly.
    """
    if sys.stdout is None and needed:  # started with its output closed (`>&-`): nothing printed could be seen
        raise CliError(
            f"standard output is closed, so {what} cannot be shown (give ipctrace a terminal, a file or a pipe){after}."
        )
    try:
        yield
        if sys.stdout is not None:
            sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise CliError(f"cannot write {what} to standard output ({exc.strerror}){after}.") from None


def _trace_path(path: Path) -> Path:
    """The trace a user means: a file, a run's folder, or a scenario's name for its run under output/."""
    if path.is_dir():
        if not (path / "trace.jsonl").exists():
            runs = sorted(str(d.parent) for d in path.glob("*/trace.jsonl"))
            if runs:
                shown = ", ".join(runs[:6]) + (", ..." if len(runs) > 6 else "")
                raise CliError(f"{path} holds runs, not a trace of its own: name one of them ({shown}).")
        return path / "trace.jsonl"
    if path.exists() or len(path.parts) != 1:
        return path
    run = Path("output") / path / "trace.jsonl"
    if run.exists():  # `ipctrace show pipe3` after `ipctrace run pipe3`
        return run
    from ipctrace.scenarios import builtin_scenarios

    if str(path) in builtin_scenarios():
        raise CliError(f"{path} has no run in output/ yet: `ipctrace run {path}` records one.")
    return path


def _scenario(args: argparse.Namespace) -> Scenario:
    """The scenario `ipctrace run` was asked for, with its scripted input replaced as --say/--script say."""
    from ipctrace.scenarios import Impl, adhoc_scenario, find_scenario, scripted_input

    command = list(args.command_line)
    if args.scenario and command:
        raise CliError("give either a scenario name or a command after `--`, not both.")
    if command and args.impl != "python":
        raise CliError(
            "--impl chooses between a scenario's Python port and its C original; a program given after `--` "
            "runs as it is (ipctrace run -- ./my_server 8080)."
        )
    if command:
        scenario = adhoc_scenario(command, name=args.name)
    elif args.scenario:
        scenario = find_scenario(args.scenario).for_impl(Impl(args.impl))
    else:
        raise CliError("say what to run: a scenario name (`ipctrace list`) or a command after `--`.")
    for role, lines in scripted_input(args.say, args.script).items():
        scenario = scenario.with_stdin(role, tuple(lines))
    return scenario


#: What `ipctrace run` needs once the programs have ended, imported while they run (`RunOptions.preload`).
AFTER_RUN = ("ipctrace.summary", "ipctrace.render.text")
AFTER_RUN_DRAWN = (
    "ipctrace.session.diagrams",
    "ipctrace.render.i18n:korean_font",  # `fc-list`, which every layout asks
    "ipctrace.render.graphviz.pngfast:library",  # the PNG encoder settings, built on first use
    *AFTER_RUN,
    "ipctrace.render.graphviz.early:start_deferred",  # the neato processes the diagrams will take
    "ipctrace.render.html:load_assets",  # the classroom page's script and style
)


def cmd_run(args: argparse.Namespace) -> int:
    ahead = None
    if not args.no_render:
        # The neato processes the diagrams will take, started by the warm-up while the programs run:
        # their start-up is done by the time the trace is (`render.graphviz.early`).
        from ipctrace.render.graphviz.early import start_later

        ahead = start_later(_formats_asked(args))
    try:
        return _run(args, ahead)
    finally:
        if ahead is not None:
            ahead.close()  # those no drawing took; all of them when nothing was drawn (a bad option, no trace)


def _formats_asked(args: argparse.Namespace) -> list[str]:
    return [f.strip() for f in args.format.split(",")]  # checked with the request; only graphviz's are started


def _run(args: argparse.Namespace, ahead: Ahead | None) -> int:
    from ipctrace.session import RunOptions, StopSignals, run_scenario

    scenario = _scenario(args)
    if args.schedule is not None and args.schedule.isdigit():  # an explored outcome, replayed
        from ipctrace.explore.scenario import as_outcome

        scenario = as_outcome(scenario, int(args.schedule))
    request = None if args.no_render else _diagram_request(args)  # a bad drawing option: before the run
    options = RunOptions(
        output_root=args.output,
        name=args.name,
        port=args.port,
        capture="none" if args.no_capture else args.capture,
        payload_cap=args.payload_cap,
        timeout=args.timeout,
        echo=None if args.quiet else sys.stdout,
        schedule=_schedule(args, scenario),
        preload=AFTER_RUN if request is None else AFTER_RUN_DRAWN,
    )
    problem = ""
    with StopSignals() as stop:

        def draw_diagrams(result: RunResult) -> None:  # while the run still holds its folder
            nonlocal problem
            if request is not None and stop.caught is None and result.recorded:  # nothing recorded: nothing to draw
                from ipctrace.session.diagrams import draw

                drawing = draw(result.trace, result.outdir, request, ahead)
                problem = drawing.problem
                result.files.update(drawing.files)
            elif request is not None:
                result.notes.append(f"no diagram was drawn ({stop.why()}); `ipctrace render {result.outdir}` draws it")

        result = run_scenario(scenario, options, stop, then=draw_diagrams)
        from ipctrace.summary import print_summary

        with _shown("the run's summary", f"; the run's files are in {result.outdir}"):
            print_summary(result, sys.stdout, timeline=not args.quiet)
    return _run_status(result, problem, stop.caught)


def _schedule(args: argparse.Namespace, scenario: Scenario) -> str | tuple[str, ...] | None:
    if args.schedule is None:
        return None
    if not args.schedule.isdigit():
        return args.schedule  # a named one; an unknown name is one sentence when the run starts
    from ipctrace.explore.scenario import representative

    return representative(scenario, int(args.schedule), args.output)


def cmd_explore(args: argparse.Namespace) -> int:
    from ipctrace.explore.exploration import Budget
    from ipctrace.explore.scenario import draw_outcomes, explore_scenario
    from ipctrace.inputs import InputError
    from ipctrace.scenarios import Impl, adhoc_scenario, find_scenario

    if args.scenario and args.command_line:
        raise CliError("give either a scenario name or a command after `--`, not both.")
    if args.command_line and args.impl != "python":
        raise CliError(
            "--impl chooses between a scenario's Python port and its C original; a program given after `--` "
            "is explored as it is (ipctrace explore -- ./my_fork_program)."
        )
    if args.command_line:
        scenario = adhoc_scenario(list(args.command_line))
    elif args.scenario:
        scenario = find_scenario(args.scenario).for_impl(Impl(args.impl))
    else:
        raise CliError("say what to explore: a scenario name (`ipctrace list`) or a command after `--`.")
    try:
        budget = Budget(args.max_runs, args.max_seconds, args.preemptions, args.random_runs, args.seed)
    except InputError as exc:
        raise CliError(str(exc)) from None
    result, path = explore_scenario(scenario, budget, reduce=not args.no_reduction, output_root=args.output)
    print(result.headline())
    how = result.method + ("" if result.reduce else ", no reduction")
    print(f"({how}; {result.pruned} runs cut short by the reduction; {result.seconds:.1f} s)")
    for group in result.outcomes:
        print(
            f"\noutcome {group.number}: {group.schedules} schedule(s)   "
            f"replay: {_replay_hint(args, scenario.name, group.number, _blocks(group.outcome.processes))}"
        )
        for line in group.outcome.summary():
            print(f"  {line}")
        if group.deciding is not None:
            print(f"  deciding step {group.deciding.step + 1}: {group.deciding.sentence}")
            for number, there in group.deciding.against:
                print(f"    (in outcome {number}, {there})")
    if not args.no_render and not result.interrupted:
        for number, folder in draw_outcomes(scenario, result, args.output).items():
            print(f"\ndiagrams of outcome {number}: {folder}")
    print(f"\nsummary     {path}")
    return EXIT_INTERRUPTED if result.interrupted else EXIT_OK


def _blocks(processes: Sequence[ProcessOutcome]) -> bool:
    return any(p.ending().startswith("blocked") for p in processes)


def _replay_hint(args: argparse.Namespace, name: str, outcome: int, blocked: bool) -> str:
    """The command that replays `outcome`, as the user can type it (a command after `--` is given again).

    A command's run is never called deadlocked (it may read the terminal): an outcome that blocks
    forever is replayed with a short timeout instead of the default minute.
    """
    import shlex

    output = "" if args.output == Path("output") else f" --output {shlex.quote(str(args.output))}"
    if args.command_line:
        timeout = " --timeout 5" if blocked else ""
        return f"ipctrace run --schedule {outcome}{timeout}{output} -- {shlex.join(args.command_line)}"
    impl = " --impl c" if getattr(args, "impl", "python") == "c" else ""
    return f"ipctrace run {name}{impl} --schedule {outcome}{output}"


def _run_status(result: RunResult, problem: str, caught: signal.Signals | None) -> int:
    """The exit status of `ipctrace run`, after the sentence about what went wrong, if anything did."""
    from ipctrace.session import Ending

    if result.ending == Ending.DISK_FULL:
        print(f"ipctrace: {result.message}.", file=sys.stderr)
        return EXIT_ERROR
    if problem:
        print(f"ipctrace: no diagram: {problem}", file=sys.stderr)
        return EXIT_ERROR
    if caught is not None:
        return 128 + int(caught)
    return int(result.exit_status)


def _diagram_request(args: argparse.Namespace) -> DiagramRequest:
    """The drawing options and formats asked for, checked before anything runs (bad ones raise RenderError)."""
    from ipctrace.render.options import RenderOptions
    from ipctrace.session.request import DiagramRequest

    options = RenderOptions(
        view=args.view,
        packets=args.packets,
        fold=not args.no_fold,
        theme=args.theme,
        font_size=args.font_size,
        title=args.title,
        lang=args.lang,
        pids=args.pids,
        builds=args.builds,
    )
    return DiagramRequest(options, DiagramRequest.parse_formats(args.format), args.max_pages)


def _terminal_columns(fallback: int = 120) -> int:
    """The terminal's width as `shutil.get_terminal_size` gives it (COLUMNS first), without importing shutil."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns if sys.__stdout__ else 0
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or fallback


def _read_rows(folder: Path) -> list[Row]:
    """The scenario files read (when the rows kept from the last time no longer match them)."""
    from ipctrace.scenarios import list_rows

    return list_rows(folder)


def cmd_list(args: argparse.Namespace) -> int:
    if args.name:
        from ipctrace.scenarios import find_scenario

        sc = find_scenario(args.name)
        with _shown(f"scenario {sc.name}"):
            _print_scenario(sc)
        return EXIT_OK

    from ipctrace.scenario_index import scenario_rows

    rows = scenario_rows(_read_rows)
    with _shown("the list of scenarios"):
        _print_rows(rows)
    return EXIT_OK


def _print_scenario(sc: Scenario) -> None:
    print(f"{sc.name}: {sc.title}\nsource   {sc.source}\nlesson   {sc.lesson}\ntimeout  {sc.timeout:g} s")
    for role in sc.roles:
        print(f"\n[{role.name}] {' '.join(role.command)}")
        if role.c_command is not None:
            print(f"  C original (--impl c): {' '.join(role.c_command)}")
        if role.ready:
            print(f"  the next role starts after its {' or '.join(role.ready)}")
        if role.service:
            print("  runs until the other roles are done, then gets SIGTERM")
        for line in role.stdin or ():
            print(f"  types: {line.rstrip()}")
    if sc.ending is not None:
        print(f"\nexpected ending: {sc.ending.explanation}")


def _print_rows(rows: list[Row]) -> None:
    width = max((len(row[0]) for row in rows), default=4)
    room = max(_terminal_columns() - width - 10, 30)
    room -= 6
    print(f"{'NAME':<{width}}  DOC  C  R  LESSON")
    for name, source, lesson, outcomes, has_c in rows:
        doc = source.split()[0] if source else ""
        lesson = lesson.split(". ")[0].rstrip(".") + "."
        if len(lesson) > room:
            lesson = lesson[: room - 1] + "…"
        racy = "R" if (outcomes or 1) > 1 else " "
        print(f"{name:<{width}}  {doc:<3}  {'C' if has_c else ' '}  {racy}  {lesson}")
    print(
        "\nDOC numbers the course document the example comes from; C marks those with a C original "
        "(ipctrace run NAME --impl c); R marks a race: more than one outcome (ipctrace explore NAME). "
        "Run one with: ipctrace run NAME"
    )


def _read_up_to_a_cut(path: Path) -> Trace:
    """The trace to show or draw: a file cut short in its last line gives what is whole, and says so."""
    from ipctrace.tracefile import read_trace

    notes: list[str] = []
    trace = read_trace(path, notes)
    for note in notes:  # a partial trace rather than nothing
        print(f"ipctrace: warning: {note}.", file=sys.stderr)
    return trace


def cmd_show(args: argparse.Namespace) -> int:
    from ipctrace.compare.golden import is_golden_file, load
    from ipctrace.compare.listing import listing
    from ipctrace.render.text import timeline_chunks

    path = _trace_path(args.trace)
    if path.is_file() and is_golden_file(path):
        with _shown("the golden file's calls"):
            sys.stdout.write(listing(load(path)))
        return EXIT_OK
    trace = _read_up_to_a_cut(path)
    with _shown("the timeline"):
        for chunk in timeline_chunks(trace):  # written as it comes: a long timeline is never one string
            sys.stdout.write(chunk)
    return EXIT_OK


def cmd_render(args: argparse.Namespace) -> int:
    from ipctrace.session.diagrams import draw
    from ipctrace.tracefile import TraceFileError

    request = _diagram_request(args)
    path = _trace_path(args.trace)
    try:
        trace = _read_up_to_a_cut(path)
    except TraceFileError:
        from ipctrace.compare.golden import is_golden_file  # only to say what the file is instead

        if is_golden_file(path):
            raise CliError(
                f"{path} is a golden file (a run's calls and messages, without their times), so it cannot be drawn: "
                "render the run's trace.jsonl, or `ipctrace show` the golden file."
            ) from None
        raise
    drawing = draw(trace, args.output or path.parent, request)
    for label, file in drawing.files.items():
        print(f"{label:<9} {file}")
    if drawing.problem:
        print(f"ipctrace: no diagram: {drawing.problem}", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK


def _canonical(spec: str, output: Path, read_boundaries: bool = False, taken: set[Path] | None = None):
    """A trace file, an output folder or a golden file, or else a scenario (a name or a .toml file) to run now.

    A scenario runs into `diff/` inside its run folder (`diff-b/` when the other side ran there), so the
    comparison never replaces what `ipctrace run` kept; where it went is said on stderr.
    """
    from ipctrace.compare import load
    from ipctrace.compare.runner import run_canonical

    path = Path(spec)
    if not spec.endswith(".toml") and (path.exists() or spec.endswith((".json", ".jsonl")) or "/" in spec):
        if not path.exists():
            raise CliError(f"{spec}: no such trace, output folder or golden file.")
        return load(path, read_boundaries=read_boundaries)
    from ipctrace.scenarios import find_scenario  # only for a scenario to run

    scenario = find_scenario(spec)
    taken = set() if taken is None else taken
    folder = output / scenario.run_name / "diff"
    if folder in taken:
        folder = folder.with_name("diff-b")
    taken.add(folder)
    _result, canonical = run_canonical(scenario, folder, read_boundaries=read_boundaries)
    print(f"ran {spec} for this comparison: its files are in {folder}", file=sys.stderr)
    return canonical


def cmd_diff(args: argparse.Namespace) -> int:
    from ipctrace.compare import READ_BOUNDARIES, diff_canonical, parse_choices

    try:
        ignore = parse_choices(args.ignore)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    boundaries = READ_BOUNDARIES in ignore
    ran: set[Path] = set()
    expected = _canonical(args.a, args.output, boundaries, ran)
    actual = _canonical(args.b, args.output, boundaries, ran)
    result = diff_canonical(expected, actual, ignore, expected_name=args.a, actual_name=args.b)
    with _shown("the comparison", needed=False):
        print(result.explain())
    return EXIT_OK if result.equivalent else EXIT_DIFFERENT


COMMANDS = {
    "run": cmd_run,
    "explore": cmd_explore,
    "list": cmd_list,
    "show": cmd_show,
    "render": cmd_render,
    "diff": cmd_diff,
}


#: Commands whose every result is on stdout or in closed files once they return: the `ipctrace` command then ends
#: its process without freeing what they made (`show` of a million events would spend about 2 CPU-s taking them
#: apart one by one; `run` about 50 ms of a short run's wall time tearing down the session's and renderers' modules).
ENDS_AT_ONCE = frozenset({"show", "run"})


def _named(argv: Sequence[str]) -> str | None:
    """The command of a command line (no top-level option takes a value); what follows `--` is not looked at."""
    before = argv[: argv.index("--")] if "--" in argv else argv
    return next((arg for arg in before if not arg.startswith("-")), None)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command_line: list[str] = []
    named = _named(argv)
    if "--" in argv:  # everything after `--` is the traced command, untouched by option parsing
        cut = argv.index("--")
        argv, command_line = argv[:cut], argv[cut + 1 :]
    parser = command_parser(named)
    args, extra = parser.parse_known_args(argv)
    if extra and args.command is not None:
        print(f"ipctrace: {extra_arguments_message(parser, args, extra)}", file=sys.stderr)
        return EXIT_ERROR
    if extra:
        parser.parse_args(argv)  # argparse's own message, and exit status 2
    args.command_line = command_line
    if args.command is None:
        parser.print_help()
        return EXIT_ERROR
    try:
        return COMMANDS[args.command](args)
    except BrokenPipeError:  # `ipctrace ... | head`: the reader left; whatever had to be written is written
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except IpctraceError as exc:  # every stage's errors derive from it: bad input, one sentence
        print(f"ipctrace: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("ipctrace: interrupted.", file=sys.stderr)
        return EXIT_INTERRUPTED


def console() -> None:
    """The `ipctrace` command (and `python -m ipctrace`): `main`, then the exit status for the shell."""
    code = main()
    if _named(sys.argv[1:]) in ENDS_AT_ONCE:
        try:
            for stream in (sys.stdout, sys.stderr):
                if stream is not None:  # None: started with it closed
                    stream.flush()
        except BrokenPipeError:  # the reader left: what it did not take is not wanted
            code = EXIT_OK
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    console()
