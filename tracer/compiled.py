"""Whether a compiled part of ipctrace is used in place of its Python twin.

Two parts of ipctrace are also compiled where the install finds a C compiler: the recorder's hot-path
wrappers (`record/hotc.c`) and the trace reader's event-line loop (`eventlines_c.c`). Each does what its
Python twin does, byte for byte, and is used when it is built, unless `IPCTRACE_PURE_PYTHON=1` is in the
environment (the tests and the benchmarks run both). Kept to a name and one function: every traced
process imports it.
"""

from __future__ import annotations

import os

#: Set to 1 to use the Python twins even where the compiled parts are built.
ENV_PURE_PYTHON = "IPCTRACE_PURE_PYTHON"


def use_compiled(extension: object) -> bool:
    """Whether the compiled `extension` (None when it is not built) is the one to use."""
    return extension is not None and os.environ.get(ENV_PURE_PYTHON, "") != "1"
