"""A canonical form as text to read (`ipctrace show golden.json`): each process's calls, then the messages."""

from __future__ import annotations

from ipctrace.compare.describe import describe, describe_flow, describe_packet
from ipctrace.compare.diff import ending_text
from ipctrace.compare.form import CanonicalProcess, CanonicalTrace


def listing(form: CanonicalTrace) -> str:
    title = f"canonical trace of {form.scenario}" if form.scenario else "canonical trace"
    lines = [f"{title}: the run ended {ending_text(form.ending)}"]
    if form.read_boundaries:
        lines.append("(reads on byte streams kept as the kernel split them)")
    for p in form.processes:
        lines += ["", _heading(p)]
        lines += [f"  {describe(c)}" for c in p.calls]
        lines += [f"  in a signal handler: {describe(c)}" for c in p.asynchronous]
    if form.flows:
        lines += ["", "messages:"] + [f"  {describe_flow(f)}" for f in form.flows]
    for channel, packets in form.packets or ():
        lines += ["", f"packets on {channel}:"] + [f"  {describe_packet(p)}" for p in packets]
    return "\n".join(lines) + "\n"


def _heading(p: CanonicalProcess) -> str:
    start = f"forked by {p.parent}" if p.started == "fork" else f"{p.started} {' '.join(p.argv)}".rstrip()
    return f"{p.role} ({start}; {p.exit or 'end unknown'})"
