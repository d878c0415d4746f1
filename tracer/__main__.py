"""`python -m ipctrace` is the `ipctrace` command."""

from ipctrace.cli import console

console()
