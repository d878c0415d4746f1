"""What `ipctrace run` prints when a run is over: the timeline, the numbers, where files went."""

from __future__ import annotations

from typing import IO

from ipctrace.session import RunResult


def print_summary(result: RunResult, out: IO[str], timeline: bool = True) -> None:
    from ipctrace.render.text import timeline as text_timeline

    trace = result.trace
    text = text_timeline(trace)
    (result.outdir / "timeline.txt").write_text(text, encoding="utf-8")
    result.files["timeline"] = result.outdir / "timeline.txt"
    if timeline:
        out.write("\n── timeline " + "─" * 60 + "\n" + text)
    events = [e for e in trace.events if not e.blocked]
    moved = sum(e.size or 0 for e in events if e.moves_data_out)
    last = trace.header.ended or max(((e.t1 or e.t0) for e in trace.events), default=trace.header.started)
    duration = (last - trace.header.started) / 1e9
    out.write("\n── summary " + "─" * 61 + "\n")
    out.write(f"scenario    {result.scenario.name}" + (f" (port {result.port})" if result.port else "") + "\n")
    out.write(
        f"processes   {len(trace.processes)}: "
        + ", ".join(f"{p.role} [{p.pid}] {p.exit if p.exit else 'ended'}" for p in trace.processes)
        + "\n"
    )
    out.write(f"calls       {len(events)}\n")
    out.write(f"bytes sent  {moved}\n")
    cap = trace.header.capture
    if cap.backend != "none":
        drops = "unknown" if cap.kernel_drops is None else cap.kernel_drops
        out.write(
            f"packets     {cap.kept} kept of {cap.captured} captured on lo ({cap.backend}; kernel drops: {drops})\n"
        )
    elif cap.note:
        out.write(f"packets     none: {cap.note}\n")
    out.write(f"duration    {duration:.3f} s\n")
    for problem in result.recorder_problems:
        out.write(f"recorder    {problem}\n")
    for b in result.blocked:
        out.write(f"blocked     {b.role} [{b.pid}] was still in {b.detail} when the run was stopped\n")
    out.write(f"ending      {result.ending}" + (f": {result.message}" if result.message else "") + "\n")
    for label, path in result.files.items():
        out.write(f"{label:<11} {path}\n")
