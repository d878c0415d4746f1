"""The errors a user can cause (bad input), each carrying one sentence that says what to do."""

from __future__ import annotations

from ipctrace.capture import CaptureUnavailable
from ipctrace.compare import CanonicalError
from ipctrace.order import OrderError
from ipctrace.render.base import RenderError
from ipctrace.scenarios import ScenarioError
from ipctrace.session import RunError
from ipctrace.tracefile import TraceFileError

USER_ERRORS: tuple[type[Exception], ...] = (
    CaptureUnavailable,
    ScenarioError,
    RunError,
    TraceFileError,
    RenderError,
    OrderError,
    CanonicalError,
)
