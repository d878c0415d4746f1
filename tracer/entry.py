"""The `ipctrace` command's entry point: a guard around everything, the command's own imports included.

A Ctrl-C while the command is still starting (importing the command line, parsing it) ends it with
one line and status 130, as a Ctrl-C later on does, instead of a Python traceback.
"""

from __future__ import annotations

import sys

EXIT_INTERRUPTED = 130  # 128 + SIGINT, as cli.EXIT_INTERRUPTED (this module imports nothing of ipctrace first)


def console() -> None:
    """`ipctrace` and `python -m ipctrace`: the command line's `console`, guarded from its first import."""
    try:
        from ipctrace.cli import console as run_command

        run_command()
    except KeyboardInterrupt:
        print("ipctrace: interrupted.", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
