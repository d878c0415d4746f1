"""What `ipctrace run` prints when a run is over: the timeline, the numbers, what is not known, where files went.

The figures are also written as `summary.json` for scripts and CI. A run whose
received bytes are not all explained by recorded sends ends "complete, with
gaps": the run itself went as expected (exit 0), but the trace does not hold
the whole story, and the summary names the first few places where it does not.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import IO, Any

from ipctrace.link import GapKind, LinkedTrace
from ipctrace.model import Event, Trace
from ipctrace.order import OrderError, analyse
from ipctrace.session import RunResult
from ipctrace.session.folder import DiskFull, write_whole

#: How many gaps of each kind the printed summary names (summary.json lists them all).
SHOWN_GAPS = 3

_UNEXPLAINED = (GapKind.UNEXPLAINED, GapKind.UNSEEN)
_UNREAD = (GapKind.UNREAD, GapKind.SKIPPED)


@dataclass(frozen=True, slots=True)
class GapLine:
    kind: GapKind
    length: int
    text: str  # the linker's sentence
    who: str  # "client [1234]", or "" for bytes no recorded call touched


@dataclass(frozen=True, slots=True)
class Figures:
    """What a run moved between processes, and what of it the trace cannot account for."""

    calls: int
    bytes_sent: int
    bytes_received: int
    unexplained_bytes: int  # received (or seen on the wire), but no recorded send explains them
    unread_bytes: int  # sent, but no recorded receive took them
    gaps: tuple[GapLine, ...]
    problems: tuple[str, ...]

    @property
    def has_gaps(self) -> bool:
        return self.unexplained_bytes > 0 or any(g.kind is GapKind.SKIPPED for g in self.gaps)


def _is_ipc_data(trace: Trace, e: Event) -> bool:
    """Payload on a pipe or socket between processes: not a file, not the program's own stdin/stdout/stderr."""
    return e.endpoint is not None and e.endpoint.kind.is_ipc and trace.stream_of(e) is None


def figures(linked: LinkedTrace) -> Figures:
    """The run's figures from its linked trace."""
    trace = linked.trace
    done = [e for e in trace.events if not e.blocked]
    ipc = [e for e in done if _is_ipc_data(trace, e)]
    lines = []
    for gap in linked.gaps:
        who = ""
        if gap.event is not None:
            proc = trace.process(gap.event.pid)
            who = f"{proc.role if proc else 'pid'} [{gap.event.pid}]"
        lines.append(GapLine(gap.kind, gap.length, gap.text, who))
    problems = list(dict.fromkeys(linked.problems))
    problems += [g.text for g in linked.gaps if g.kind in (GapKind.UNSEEN, GapKind.SKIPPED)]
    drops = trace.header.capture.kernel_drops
    if drops:
        problems.append(f"the kernel dropped {drops} packets while capturing, so the wire is not complete.")
    return Figures(
        calls=len(done),
        bytes_sent=sum(e.size or 0 for e in ipc if e.moves_data_out),
        bytes_received=sum(e.size or 0 for e in ipc if e.moves_data_in),
        unexplained_bytes=sum(g.length for g in linked.gaps if g.kind in _UNEXPLAINED),
        unread_bytes=sum(g.length for g in linked.gaps if g.kind in _UNREAD),
        gaps=tuple(lines),
        problems=tuple(problems),
    )


def ending_of(result: RunResult, numbers: Figures | None) -> str:
    """The ending as printed: `complete, with gaps` when a complete run's trace cannot explain every byte."""
    if result.ending == "complete" and numbers is not None and numbers.has_gaps:
        return "complete, with gaps"
    return result.ending


def summary_json(result: RunResult, numbers: Figures | None, link_error: str = "") -> dict[str, Any]:
    """`summary.json`: the figures for scripts and CI, each problem one sentence."""
    problems = list(numbers.problems) if numbers else []
    if link_error:
        problems.append(link_error)
    return {
        "scenario": result.scenario.name,
        "ending": ending_of(result, numbers),
        "ok": result.ok,
        "calls": numbers.calls if numbers else len(result.trace.events),
        "bytes_sent": numbers.bytes_sent if numbers else None,
        "bytes_received": numbers.bytes_received if numbers else None,
        "unexplained_bytes": numbers.unexplained_bytes if numbers else None,
        "unread_bytes": numbers.unread_bytes if numbers else None,
        "problems": problems,
        "gaps": [{"kind": str(g.kind), "bytes": g.length, "process": g.who, "text": g.text} for g in numbers.gaps]
        if numbers
        else [],
    }


def _gap_lines(numbers: Figures) -> list[str]:
    out = []
    for label, kinds, total in (
        ("unexplained", _UNEXPLAINED, numbers.unexplained_bytes),
        ("unread", _UNREAD, numbers.unread_bytes),
    ):
        if not total:
            continue
        what = "received that no recorded send explains" if label == "unexplained" else "sent that nobody read"
        out.append(f"{label:<11} {total} bytes {what}\n")
        shown = [g for g in numbers.gaps if g.kind in kinds]
        for g in shown[:SHOWN_GAPS]:
            out.append(f"              {g.text}" + (f" ({g.who})" if g.who else "") + "\n")
        if len(shown) > SHOWN_GAPS:
            out.append(f"              … and {len(shown) - SHOWN_GAPS} more (summary.json lists them all)\n")
    return out


def _capture_line(trace: Trace) -> str:
    cap = trace.header.capture
    if cap.backend != "none":
        drops = "unknown" if cap.kernel_drops is None else cap.kernel_drops
        return f"packets     {cap.kept} kept of {cap.captured} captured on lo ({cap.backend}; kernel drops: {drops})\n"
    return f"packets     none: {cap.note}\n" if cap.note else ""


def print_summary(result: RunResult, out: IO[str], timeline: bool = True) -> None:
    from ipctrace.render.text import timeline as text_timeline

    trace = result.trace
    text = text_timeline(trace)
    try:
        write_whole(result.outdir / "timeline.txt", text)
        result.files["timeline"] = result.outdir / "timeline.txt"
    except DiskFull as exc:
        result.notes.append(str(exc).rstrip("."))
    if timeline:
        out.write("\n── timeline " + "─" * 60 + "\n" + text)
    try:
        numbers: Figures | None = figures(analyse(trace).linked)
        link_error = ""
    except OrderError as exc:  # the timeline fell back to time order; the figures cannot be trusted
        numbers, link_error = None, str(exc)
    summary_path = result.outdir / "summary.json"
    try:
        write_whole(summary_path, json.dumps(summary_json(result, numbers, link_error), indent=2) + "\n")
        result.files["summary"] = summary_path
    except DiskFull as exc:
        result.notes.append(str(exc).rstrip("."))
    last = trace.header.ended or max(((e.t1 or e.t0) for e in trace.events), default=trace.header.started)
    duration = (last - trace.header.started) / 1e9
    out.write("\n── summary " + "─" * 61 + "\n")
    out.write(f"scenario    {result.scenario.name}" + (f" (port {result.port})" if result.port else "") + "\n")
    out.write(
        f"processes   {len(trace.processes)}: "
        + ", ".join(f"{p.role} [{p.pid}] {p.exit if p.exit else 'ended'}" for p in trace.processes)
        + "\n"
    )
    if numbers is not None:
        out.write(f"calls       {numbers.calls}\n")
        out.write(f"bytes sent  {numbers.bytes_sent} (received {numbers.bytes_received}) on pipes and sockets\n")
        out.writelines(_gap_lines(numbers))
    else:
        out.write(f"calls       {len(trace.events)}\nlinking     failed: {link_error}\n")
    out.write(_capture_line(trace))
    out.write(f"duration    {duration:.3f} s\n")
    for note in result.notes:
        out.write(f"note        {note}\n")
    for problem in result.recorder_problems:
        out.write(f"recorder    {problem}\n")
    for b in result.blocked:
        process = trace.process(b.pid)
        died = process.exit if process is not None and process.exit is not None else None
        when = f"when it was {died}" if died is not None and died.signal is not None else "when the run was stopped"
        out.write(f"blocked     {b.role} [{b.pid}] was still in {b.detail} {when}\n")
    out.write(f"ending      {ending_of(result, numbers)}" + (f": {result.message}" if result.message else "") + "\n")
    for label, path in result.files.items():
        out.write(f"{label:<11} {path}\n")
