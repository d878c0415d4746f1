"""The recorder's two hot-path implementations (ipctrace.record.hot): a fixture that runs a test with each.

Traced processes inherit the test's environment (tracing_environment copies it), so the variable
chooses the wrappers of every process the test traces.
"""

from __future__ import annotations

import pytest

from ipctrace.compiled import ENV_PURE_PYTHON
from tests.conftest import missing

IMPLEMENTATIONS = ("compiled", "python")


def compiled_built() -> bool:
    try:
        from ipctrace.record import _hotc  # type: ignore[attr-defined]  # noqa: F401
    except ImportError:
        return False
    return True


def need_compiled() -> None:
    if not compiled_built():
        missing("the recorder's compiled hot path (a C compiler and python3-dev, then `pip install -e .`)")


@pytest.fixture(params=IMPLEMENTATIONS)
def hot_impl(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """'compiled' or 'python': the hot-path wrappers the processes this test traces use."""
    if request.param == "compiled":
        need_compiled()
    monkeypatch.setenv(ENV_PURE_PYTHON, "1" if request.param == "python" else "0")
    return str(request.param)
