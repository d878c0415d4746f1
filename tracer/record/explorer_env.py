"""The environment the race explorer (`ipctrace explore`) gives a process it runs (what each name holds: gate.py).

A module of its own, importing nothing: the recorder's start reads `ENV_EXPLORE` to know whether to import the
gate at all (its modules cost every traced process about 2 ms), and the gate reads the rest.
"""

from __future__ import annotations

ENV_EXPLORE = "IPCTRACE_EXPLORE"
ENV_CALLS = "IPCTRACE_EXPLORE_CALLS"
ENV_PATH = "IPCTRACE_EXPLORE_PATH"
ENV_ZYGOTE = "IPCTRACE_EXPLORE_ZYGOTE"
