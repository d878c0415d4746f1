"""The one base of every error a user can cause (bad input), each carrying one sentence that says what to do.

A leaf module: every stage defines its own error class deriving from `IpctraceError`, and the CLI catches
only this one. Anything else that reaches the CLI is a bug in ipctrace, reported as such.
"""

from __future__ import annotations


class IpctraceError(Exception):
    """A problem with what the user asked for; `str(error)` is the sentence to show them."""
