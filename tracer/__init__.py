"""ipctrace: see what Unix IPC and socket programs really do.

The pipeline, one package or module per stage:
record (inside traced processes) → capture (loopback packets) → assemble (one Trace)
→ link (channels, byte flows) → order (happens-before) → render / compare;
then what runs it: `scenarios`, `session` (one run), `explore` (a race's every outcome), `summary`,
and the command line (`arguments`, `cli`). tests/test_architecture.py keeps the imports in that order.

The library API is what the `ipctrace` command uses; tests and users call it directly.
Nothing heavy is imported here: traced processes import `ipctrace.record` only.
"""

from __future__ import annotations

__version__ = "0.1.0"
