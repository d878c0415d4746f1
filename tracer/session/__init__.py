"""Running a scenario under the tracer: the one place that drives processes.

    from ipctrace.session import RunOptions, run_scenario
    result = run_scenario(find_scenario("pipe3"), RunOptions(port=0))

One job a module, in the order a run uses them:

- `results`: what a run is asked (`RunOptions`, every number and name checked when made) and what it gives back
  (`RunResult`, `Ending`, `RunError`)
- `request`: what is asked to be drawn (formats, options, page limit), checked before a run without the renderers
- `ports`: the scenario's port, checked free before anything starts
- `folder`: the run's folder — locked by one run, previous results set aside and put back unless this run
  writes its own, files written whole (`write_whole`)
- `recording`: the recorder's output as the run goes (the only module that reads it)
- `roles`: one role's program started, its output pumped, its script fed
- `output`: each role's output shown as it happens and kept in `ROLE.out`
- `wakeup`: what ends the supervisor's wait between two looks (a role's output, or time)
- `warmup`: what comes after the programs (the layout, the renderers) imported while they run
- `supervisor`: readiness, scripted input, services, deadlocks, timeouts, stopping and reaping every process
- `lineage`: who is who, from the records as they come (each process's role and parent, the endpoints seen)
- `waits`: what /proc says the live processes wait in (idle, deadlocked, the calls blocked at the end)
- `stopping`: Ctrl-C, SIGTERM and SIGHUP as a request to stop, taken between two steps
- `procfs`: what /proc says (the call a process waits in, children, UDP drops)
- `capturing`: the packet capture opened before the run and cut down to its packets after
- `judge`: whether the run ended as its scenario expects, in a sentence
- `runner`: `run_scenario`, the steps above in order
- `diagrams`: the diagram files of a run or a trace (tool-free formats first, a page limit)
"""

from __future__ import annotations

from ipctrace import __version__
from ipctrace.session.folder import generate_file
from ipctrace.session.judge import blocked_processes
from ipctrace.session.ports import DEFAULT_PORT, choose_port
from ipctrace.session.results import Blocked, Ending, RunError, RunOptions, RunResult
from ipctrace.session.runner import run_scenario
from ipctrace.session.stopping import StopSignals

__all__ = [
    "DEFAULT_PORT",
    "Blocked",
    "Ending",
    "RunError",
    "RunOptions",
    "RunResult",
    "StopSignals",
    "__version__",
    "blocked_processes",
    "choose_port",
    "generate_file",
    "run_scenario",
]
