"""The race explorer (`ipctrace explore`): a program run again and again, one process let go at a time.

Each process is held at every visible call by the recorder's gate (`ipctrace.record.gate`, and the
native recorder's `gate.c`: the same line protocol) and a controller decides who goes next, so every
order of the calls that can race is tried once and the runs are grouped by what the program saw.

One job a module, in the order an exploration uses them:

- `steps`: what a held process is about to do, and which steps are independent (touch no common channel)
- `execution`: what is known of one run: its decisions, how each process ended, who chooses
- `forkserver`: each role's program started once, each run a fork of it
- `roles`: an explored scenario's roles: who starts when, who is typed at, who is stopped at the end
- `controller`: one run under the explorer, over the gate's Unix socket
- `search`: which schedules to try: depth-first with partial-order reduction, or seeded random (PCT)
- `commute`: which pipe reads of a finished run commute with which writes (the search's finer independence)
- `outcomes`: what a run meant to the program, the key runs are grouped by
- `deciding`: where each outcome parts from the others, in words
- `exploration`: `explore`, the search within a budget and its outcomes
- `scenario`: `ipctrace explore NAME`: a scenario explored and its outcomes replayed as traced runs
- `replay`: a schedule replayed inside a traced run (`ipctrace run NAME --schedule N`, `schedule = "child-first"`)
"""
