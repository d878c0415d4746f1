"""`python -m ipctrace` is the `ipctrace` command."""

from ipctrace.entry import console

console()
