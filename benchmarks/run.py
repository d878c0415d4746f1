"""Run ipctrace's benchmarks and write the results table.

    .venv/bin/python -m benchmarks.run                 # everything (11-13 min quiet, 2 cores) -> benchmarks/RESULTS.md
    .venv/bin/python -m benchmarks.run --quick         # smoke run, tiny sizes, one repeat (prints only)
    .venv/bin/python -m benchmarks.run --only recorder,capture --output /tmp/r.md

Run from the repository root (`python benchmarks/run.py` works too). Every
figure is measured side by side in the same run (a ratio or a rate), with
the median and min–max over repeated runs, under a description of the
machine. Progress goes to stderr, the Markdown to stdout and the file.
"""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import sys
import tempfile
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):  # `python benchmarks/run.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import (  # noqa: E402
    REPO,
    Context,
    Section,
    Table,
    git_commit,
    machine,
    md_section,
    md_table,
    yes_no,
)

SECTIONS = {
    "recorder": "benchmarks.recorder_cost",
    "native": "benchmarks.native_cost",
    "end_to_end": "benchmarks.end_to_end",
    "capture": "benchmarks.capture_rate",
    "rendering": "benchmarks.rendering",
    "html_page": "benchmarks.html_page",
    "scaling": "benchmarks.scaling",
    "compare": "benchmarks.compare_scaling",
    "startup": "benchmarks.startup",
    "explore": "benchmarks.explore",
}
DEFAULT_OUTPUT = REPO / "benchmarks" / "RESULTS.md"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description="Measure what tracing costs, how much capture keeps and how rendering scales; "
        "write a Markdown table.",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: tiny sizes, one repeat, under a minute (writes a file only with --output)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help=f"where to write the table (default {DEFAULT_OUTPUT.relative_to(REPO)}; --quick writes none unless given)",
    )
    parser.add_argument(
        "--only",
        default="",
        metavar="SECTIONS",
        help=f"comma-separated sections to run: {', '.join(SECTIONS)} (default: all)",
    )
    parser.add_argument(
        "--repeats", type=int, default=None, help="repeated runs per measurement (default 5; --quick 1)"
    )
    return parser


def _loadavg() -> str:
    try:
        return " / ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def _with_end(key: str, value: str, load_end: str) -> str:
    if not key.startswith("load"):
        return value
    return f"{value} at start, {load_end} at the end (other work on the machine makes the spread wider)"


def render_report(
    sections: list[Section],
    args: argparse.Namespace,
    started: datetime,
    seconds: float,
    host: list[tuple[str, str]],
    load_end: str,
    repeats: int,
) -> str:
    command = (
        "python -m benchmarks.run"
        + (" --quick" if args.quick else "")
        + (f" --only {args.only}" if args.only else "")
        + (f" --repeats {args.repeats}" if args.repeats else "")
    )
    mode = (
        "**quick smoke run: tiny sizes, not for quoting**"
        if args.quick
        else f"{repeats} repeats unless a section says otherwise"
    )
    out = [
        "# ipctrace benchmarks",
        f"Written by `.venv/bin/{command}` on {started:%Y-%m-%d %H:%M} UTC in {seconds / 60:.1f} min ({mode}). "
        "Every figure is measured side by side in this run; a cell reads *median (min–max)* over the repeats. "
        "Measured children run with Python's bytecode cache on (in a scratch folder), as after a normal install.",
        "## Machine",
        md_table(Table(["", ""], [[k, _with_end(k, v, load_end)] for k, v in host])),
    ]
    targets = [t for s in sections for t in s.targets]
    if targets:
        out += [
            "## Targets",
            md_table(
                Table(
                    ["what", "target", "measured (median)", "verdict"],
                    [[t.what, t.target, t.measured, yes_no(t.met)] for t in targets],
                )
            ),
        ]
    out += [md_section(i, s) for i, s in enumerate(sections, start=1)]
    missed = [t for t in targets if t.met is False]
    closing = [c for s in sections for c in s.closing]
    out.append("## Closing note")
    if missed:
        out.append("Missed here: " + "; ".join(f"{t.what} ({t.measured}, target {t.target})" for t in missed) + ".")
    else:
        out.append("Every target measured in this run is met.")
    out.extend(closing)
    return "\n\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    chosen = [s.strip() for s in args.only.split(",") if s.strip()] or list(SECTIONS)
    unknown = [s for s in chosen if s not in SECTIONS]
    if unknown:
        _parser().error(f"unknown section(s) {', '.join(unknown)}: choose from {', '.join(SECTIONS)}")
    repeats = args.repeats or (1 if args.quick else 5)
    output = args.output or (None if args.quick else DEFAULT_OUTPUT)
    started = datetime.now(UTC)
    t_start = time.perf_counter()
    host = [*machine(), ("load average (1/5/15 min)", _loadavg())]  # before the run: the commit measured
    workdir = Path(tempfile.mkdtemp(prefix="ipctrace-bench-"))
    ctx = Context(quick=args.quick, repeats=repeats, workdir=workdir)
    sections: list[Section] = []
    failed = False
    try:
        for key in chosen:
            ctx.log(f"== {key}")
            t0 = time.perf_counter()
            try:
                section = importlib.import_module(SECTIONS[key]).run(ctx)
            except Exception as exc:  # one broken group must not lose the others' numbers
                failed = True
                traceback.print_exc()
                section = Section(key, f"{key} (failed)", f"**This section failed**: {type(exc).__name__}: {exc}")
            section.seconds = time.perf_counter() - t0
            sections.append(section)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    commit_now = f"commit {git_commit()}"
    if commit_now != dict(host)["ipctrace"]:
        host.append(("note", f"the code changed during the run (now {commit_now}): later sections measured newer code"))
    report = render_report(sections, args, started, time.perf_counter() - t_start, host, _loadavg(), repeats)
    print(report)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(report, encoding="utf-8")
        ctx.log(f"written: {output}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
