"""The errors a user can cause (bad input), each carrying one sentence that says what to do."""

from __future__ import annotations

from tracer.capture import CaptureUnavailable
from tracer.compare import CanonicalError
from tracer.order import OrderError
from tracer.render.base import RenderError
from tracer.scenarios import ScenarioError
from tracer.session import RunError
from tracer.tracefile import TraceFileError

USER_ERRORS: tuple[type[Exception], ...] = (CaptureUnavailable, ScenarioError, RunError, TraceFileError,
                                            RenderError, OrderError, CanonicalError)
