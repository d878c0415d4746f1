"""The text timeline: one line per event, in time order, for the terminal and `ipctrace show`."""

from __future__ import annotations

from tracer.model import Event, Trace
from tracer.render.labels import show_payload, show_result


def _describe_fd(event: Event) -> str:
    if event.fd is None:
        return ""
    ep = event.endpoint
    where = f"fd {event.fd}"
    if ep is None:
        return where
    if ep.kind == "pipe":
        end = "read end" if event.call == "read" else "write end" if event.call == "write" else "end"
        return f"{where} (pipe {end})"
    addr = ""
    if event.local is not None:
        addr = f" {event.local}"
        if event.peer is not None:
            addr += f" -> {event.peer}"
    return f"{where} ({ep.kind}{addr})"


def event_line(event: Event, role: str, start: int) -> str:
    t = (event.t0 - start) / 1e6
    parts = [f"{t:10.3f} ms", f"{role} [{event.pid}]".ljust(28), event.call]
    detail = _describe_fd(event)
    if detail:
        parts.append(detail)
    if event.args and event.call in ("sleep", "bind", "connect", "listen", "fork", "kill", "waitpid", "exit"):
        parts.append(", ".join(f"{k}={v}" for k, v in event.args.items() if k not in ("argv", "cwd")))
    payload = show_payload(event)
    if payload:
        parts.append(payload)
    result = show_result(event)
    if result:
        parts.append(result)
    return "  ".join(p for p in parts if p)


def timeline(trace: Trace) -> str:
    roles = {p.pid: p.role for p in trace.processes}
    start = trace.header.started or (trace.events[0].t0 if trace.events else 0)
    lines = [event_line(e, roles.get(e.pid, str(e.pid)), start) for e in trace.events]
    return "\n".join(lines) + "\n"
