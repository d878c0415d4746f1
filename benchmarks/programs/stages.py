"""Time each stage of `ipctrace show` on one trace file, with the peak memory after each; one JSON line.

python stages.py TRACE.jsonl

Each stage's wall time is `STAGE`, its CPU time (this process's, user + system) `cpu_STAGE`: on a
shared machine the CPU seconds are the steady figure. The peak memory is this process's own (VmHWM), not
`ru_maxrss`: Linux carries that over from the process that started this one, so a benchmark runner that had
made a large trace itself showed as every size's peak (859 MiB at 1,000 events).
"""

import json
import os
import sys
import time


def peak_rss_mib() -> float:
    """The most memory this process has held resident since it started (VmHWM of /proc/self/status)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def show(text, trace) -> None:
    """What `ipctrace show` does with the timeline: write it out as it comes (to /dev/null here).

    A commit from before the timeline came in chunks is timed writing its one string, as its `show` did.
    """
    chunks = text.timeline_chunks(trace) if hasattr(text, "timeline_chunks") else [text.timeline(trace)]
    with open(os.devnull, "w", encoding="utf-8") as out:
        for chunk in chunks:
            out.write(chunk)


def main() -> None:
    out: dict[str, float] = {}
    t0 = time.perf_counter()
    from ipctrace.link import link
    from ipctrace.order import order
    from ipctrace.render import text
    from ipctrace.tracefile import read_trace

    out["import"] = time.perf_counter() - t0

    def stage(name, fn, *args):
        t, c = time.perf_counter(), time.process_time()
        result = fn(*args)
        out[name] = time.perf_counter() - t
        out[f"cpu_{name}"] = time.process_time() - c
        out[f"{name}_rss_mib"] = peak_rss_mib()
        return result

    trace = stage("read", read_trace, sys.argv[1])
    linked = stage("link", link, trace)
    ordered = stage("order", order, linked)
    stage("timeline", show, text, trace)  # the text renderer; it asks for the same link and order (kept)
    out["events"] = len(trace.events)
    out["packets"] = len(trace.packets)
    out["problems"] = len(linked.problems)
    out["order_len"] = len(ordered.order)
    print(json.dumps(out))


main()
