"""Time each stage of `ipctrace show` on one trace file, with the peak memory after each; one JSON line.

python stages.py TRACE.jsonl
"""

import json
import resource
import sys
import time


def main() -> None:
    out: dict[str, float] = {}
    t0 = time.perf_counter()
    from ipctrace.link import link
    from ipctrace.order import order
    from ipctrace.render.text import timeline
    from ipctrace.tracefile import read_trace

    out["import"] = time.perf_counter() - t0

    def stage(name, fn, *args):
        t = time.perf_counter()
        result = fn(*args)
        out[name] = time.perf_counter() - t
        out[f"{name}_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return result

    trace = stage("read", read_trace, sys.argv[1])
    linked = stage("link", link, trace)
    ordered = stage("order", order, linked)
    stage("timeline", timeline, trace)  # the text renderer; it asks for the same link and order (kept)
    out["events"] = len(trace.events)
    out["packets"] = len(trace.packets)
    out["problems"] = len(linked.problems)
    out["order_len"] = len(ordered.order)
    print(json.dumps(out))


main()
