"""The `ipctrace` command line: its commands and options, nothing imported that a command needs only when it runs.

Kept apart from cli.py (which runs the commands) so that what a user can type is read in one place.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ipctrace import __version__


def diagram_options() -> argparse.ArgumentParser:
    """Options shared by `run` and `render`: how the sequence diagram is drawn."""
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("diagram")
    group.add_argument(
        "--view",
        choices=["processes", "kernel", "packets"],
        default="processes",
        help="processes only; add a lane per pipe/socket buffer (kernel); add the wire (packets)",
    )
    group.add_argument(
        "--packets",
        choices=["all", "data", "none"],
        default="all",
        help="in the packets view: every packet, all but pure ACKs (data), or none",
    )
    group.add_argument("--no-fold", action="store_true", help="draw repeated exchanges one by one")
    group.add_argument("--theme", choices=["light", "dark", "print"], default="light")
    group.add_argument(
        "--font-size",
        type=float,
        default=14.0,
        metavar="PT",
        help="smallest text on a slide (14 pt = 28 px at 1920×1080)",
    )
    group.add_argument("--pids", action="store_true", help="show each process's pid under its name")
    group.add_argument("--title", help="diagram title (default: the scenario's)")
    group.add_argument("--lang", choices=["en", "ko"], default="en", help="label language (ko: Korean)")
    group.add_argument(
        "--format",
        default="svg,png,pdf,mermaid,plantuml,html",
        metavar="LIST",
        help="comma-separated outputs among svg, png, pdf, mermaid, plantuml, html (the classroom page), "
        "text, perfetto (a trace for Perfetto UI and chrome://tracing)",
    )
    group.add_argument(
        "--builds",
        action="store_true",
        help="write the PNG and PDF pages as builds: one more message per page, the classroom page's steps",
    )
    group.add_argument(
        "--max-pages",
        type=int,
        default=300,
        metavar="N",
        help="draw no SVG/PNG/PDF of more than N slide pages (default 300); the text formats are always written",
    )
    return parent


#: Each command's line in `ipctrace --help`.
HELP = {
    "run": "run a scenario (or any Python command after --) under the tracer",
    "explore": "run a racy example under every schedule and show each outcome it can have",
    "list": "list the scenarios (course examples), or show one in full",
    "show": "print a trace as a text timeline",
    "render": "draw a trace as a sequence diagram (SVG, PNG pages, PDF, Mermaid, PlantUML)",
    "diff": "compare two traces: same IPC or not, and how they differ",
}


def command_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole command line; with `command` (what `argv` names), only that command's options are built.

    The others are added by name and help alone: `ipctrace --help` and `ipctrace list` do not build the
    options of `run` and `render` (a third of their start-up), and what they print is the same.
    """
    parser = argparse.ArgumentParser(
        prog="ipctrace",
        description="Trace Unix IPC and socket programs: every process's calls and the loopback packets, "
        "merged into one causally ordered timeline and drawn as a sequence diagram.",
        epilog="Examples:\n  ipctrace list\n  ipctrace run tcp_chat\n  ipctrace run -- python3 my_program.py\n"
        "  ipctrace show output/tcp_chat/trace.jsonl\n  ipctrace diff output/pipe3 tests/golden/pipe3.json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"ipctrace {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, make in _COMMANDS.items():
        if command is None or command == name:
            make(sub)
        else:
            sub.add_parser(name, help=HELP[name])
    return parser


def extra_arguments_message(parser: argparse.ArgumentParser, args: argparse.Namespace, extra: list[str]) -> str:
    """One sentence for words on a command line that nothing of its command takes.

    Words that are not options after a scenario name are almost always a program to trace typed
    without `--`; an option that is not one of the command's is named with the closest ones.
    """
    command = args.command
    words = [word for word in extra if not word.startswith("-")]
    if command in ("run", "explore") and words == extra:
        program = " ".join([args.scenario, *extra] if args.scenario else extra)
        return (
            f"{program!r} is not a scenario name: to trace a program, put `--` before its command: "
            f"ipctrace {command} -- {program}"
        )
    if words == extra:
        help_ = f"`ipctrace {command} --help`"
        return f"`ipctrace {command}` does not take {words[0]!r} as well; {help_} says what it takes."
    import difflib  # only to suggest an option

    known: list[str] = []
    for action in parser._actions:  # argparse has no public way to reach a subcommand's parser
        if isinstance(action, argparse._SubParsersAction) and command in action.choices:
            known = list(action.choices[command]._option_string_actions)
    unknown = next(word for word in extra if word.startswith("-")).split("=")[0]
    close = difflib.get_close_matches(unknown, known, n=2, cutoff=0.75)
    hint = f" Did you mean {' or '.join(close)}?" if close else ""
    return f"`ipctrace {command}` has no option {unknown!r}.{hint} `ipctrace {command} --help` lists what it takes."


def _run_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = sub.add_parser(
        "run",
        help=HELP["run"],
        description="Run a course example by name, a scenario file (.toml), or any command after `--`, "
        "under the tracer. Writes the trace, the packet capture, the diagrams and each "
        "program's output under output/NAME/ and prints where they are.",
        epilog="Examples:\n  ipctrace run pipe3\n  ipctrace run tcp_chat --say client:'hello' --say server:'hi'\n"
        "  ipctrace run udp_file_done --port 0\n  ipctrace run tcp_chat --impl c\n  ipctrace run my_scenario.toml\n"
        "  ipctrace run -- python3 my_program.py arg1\n  ipctrace run -- ./my_server 8080\n"
        "  ipctrace run --name try2 -- python3 my_program.py\n\n"
        "Exit status: 0 the run ended as expected, 1 it did not, 2 bad input or a full disk, "
        "128+N stopped by signal N (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[diagram_options()],
    )
    run.add_argument("scenario", nargs="?", help="scenario name (see `ipctrace list`) or a .toml file")
    run.add_argument(
        "--impl",
        choices=["python", "c"],
        default="python",
        help="run the scenario's Python port (default) or its C original, built on first use "
        "(written to output/NAME-c/)",
    )
    run.add_argument(
        "--name",
        help="the run's folder under the output folder (default: the scenario's name, or the program's for a command)",
    )
    run.add_argument(
        "--port", type=int, default=8080, help="port for the network examples (default 8080; 0 picks a free port)"
    )
    run.add_argument(
        "--output",
        type=Path,
        default=Path("output"),
        metavar="DIR",
        help="where to write results (default: output/, one folder per scenario)",
    )
    cap = run.add_mutually_exclusive_group()
    cap.add_argument(
        "--capture", choices=["scapy", "tcpdump"], default="scapy", help="packet capture backend (default scapy)"
    )
    cap.add_argument("--no-capture", action="store_true", help="record system calls only, no packets")
    run.add_argument("--timeout", type=float, help="seconds before a hung run is stopped (default: the scenario's)")
    run.add_argument(
        "--say",
        action="append",
        default=[],
        metavar="ROLE:TEXT",
        help="scripted input line for a role, in order (replaces that role's default script)",
    )
    run.add_argument(
        "--script",
        type=Path,
        metavar="FILE",
        help="a file of `role: text` lines, the scripted input for interactive roles",
    )
    run.add_argument(
        "--payload-cap",
        type=int,
        default=4096,
        metavar="BYTES",
        help="keep at most this many payload bytes per call (the true length is always kept)",
    )
    run.add_argument("--quiet", action="store_true", help="do not show the programs' output and the timeline")
    run.add_argument("--no-render", action="store_true", help="skip drawing the diagrams")

    run.add_argument(
        "--schedule",
        metavar="ID",
        help="replay outcome ID of the last `ipctrace explore NAME` (or a named schedule: child-first)",
    )


def _explore_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    explore = sub.add_parser(
        "explore",
        help=HELP["explore"],
        description="Run a one-role course example (its Python port or its C original, or a command after `--`) "
        "many times under a "
        "controlling scheduler, one process at a time at each pipe or socket call, and group the runs "
        "into outcomes: which read got which bytes, what each process printed, how it ended. "
        "Writes output/NAME/explore/summary.json and one diagram folder per outcome.",
        epilog="Examples:\n  ipctrace explore pipe2_nosleep\n  ipctrace run pipe2_nosleep --schedule 2\n"
        "  ipctrace explore pipe2 --impl c\n  ipctrace run pipe2 --impl c --schedule 2\n"
        "  ipctrace explore -- python3 my_fork_program.py",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    explore.add_argument("scenario", nargs="?", help="scenario name (see `ipctrace list`)")
    explore.add_argument(
        "--impl",
        choices=["python", "c"],
        default="python",
        help="explore the scenario's Python port (default) or its C original (written to output/NAME-c/explore/)",
    )
    explore.add_argument("--max-runs", type=int, default=5000, help="systematic schedules to try at most")
    explore.add_argument("--max-seconds", type=float, default=120.0, help="seconds of systematic search at most")
    explore.add_argument("--preemptions", type=int, help="at most this many preemptions a schedule")
    explore.add_argument("--random-runs", type=int, default=100, help="seeded random (PCT) schedules when not done")
    explore.add_argument("--seed", type=int, default=1, help="seed of the random schedules")
    explore.add_argument("--no-reduction", action="store_true", help="try every order, even of independent steps")
    explore.add_argument("--no-render", action="store_true", help="do not replay and draw each outcome")
    explore.add_argument(
        "--output", type=Path, default=Path("output"), metavar="DIR", help="where to write results (default output/)"
    )


def _list_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    listing = sub.add_parser(
        "list",
        help=HELP["list"],
        description="List the course examples that `ipctrace run NAME` knows; with a "
        "NAME, show that one: its lesson, roles, commands and script.",
    )
    listing.add_argument("name", nargs="?", help="a scenario to show in full")


def _show_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    show = sub.add_parser(
        "show",
        help=HELP["show"],
        description="Print a trace file (or an output folder) as a text timeline, or a golden file's calls.",
    )
    show.add_argument("trace", type=Path, help="trace.jsonl, the output folder holding it, or a golden .json")


def _render_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    render = sub.add_parser(
        "render",
        help=HELP["render"],
        description="Draw a trace as a sequence diagram. Files go next to the trace unless --output says.",
        epilog="Examples:\n  ipctrace render output/tcp_chat --view packets\n"
        "  ipctrace render output/pipe3/trace.jsonl --lang ko --theme print --format svg,pdf",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[diagram_options()],
    )
    render.add_argument("trace", type=Path, help="trace.jsonl, or the output folder holding it")
    render.add_argument("--output", type=Path, metavar="DIR", help="where to write the diagrams")


def _diff_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    diff = sub.add_parser(
        "diff",
        help=HELP["diff"],
        description="Compare two runs by what matters for IPC: each process's calls in program order and "
        "which message went from whom to whom; not pids, fds, ports or timing. A and B are "
        "trace files, output folders, golden files (.json), scenario names or scenario files (.toml; run now). "
        "Exit status 0: equivalent, 1: different, 2: bad input.",
        epilog="Examples:\n  ipctrace diff output/pipe2 output/pipe2_nosleep\n"
        "  ipctrace diff tests/golden/pipe3.json pipe3\n  ipctrace diff A B --ignore sleeps,output",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    diff.add_argument("a", help="the expected run")
    diff.add_argument("b", help="the run to compare with it")
    diff.add_argument(
        "--ignore",
        default="",
        metavar="LIST",
        help="leave out of the comparison: packets, acks (pure ACKs), sleeps, payloads, output, "
        "handlers (calls made in signal handlers); or compare more: read-boundaries (where each read on "
        "a byte stream ended); comma-separated",
    )
    diff.add_argument(
        "--output", type=Path, default=Path("output"), metavar="DIR", help="where scenario runs go (default: output/)"
    )


_COMMANDS = {
    "run": _run_command,
    "explore": _explore_command,
    "list": _list_command,
    "show": _show_command,
    "render": _render_command,
    "diff": _diff_command,
}
