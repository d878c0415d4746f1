"""pytest plugin: the `ipctrace` fixture, golden traces, `--ipctrace-update`.

    def test_pipe3(ipctrace):
        ipctrace.assert_matches("pipe3")                  # tests/golden/pipe3.json

    def test_my_program(ipctrace):
        run = ipctrace.run_command(sys.executable, "my_program.py", name="my_program")
        assert run == ipctrace.golden("my_program", ignore={"sleeps"})

pytest loads this module (the `pytest11` entry point) in every project of an
environment where ipctrace is installed, so it costs nothing there: it holds
only hooks and the fixture, and imports no other ipctrace module until a test
asks for the `ipctrace` fixture or an `--ipctrace-*` option is given. The
fixture's work is `ipctrace.compare.fixture`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ipctrace.compare.diff import Golden
    from ipctrace.compare.fixture import Ipctrace

#: Spelled out so that pytest's start-up imports nothing of ipctrace; tests/test_package.py checks that they
#: are `("none", *ipctrace.capture.BACKENDS)` and the keys of `ipctrace.compare.diff.IGNORABLE`.
CAPTURE_CHOICES = ("none", "scapy", "tcpdump")
IGNORABLE_NAMES = ("packets", "acks", "sleeps", "payloads", "output", "handlers")

_GOLDENS: pytest.StashKey[list[Golden]] = pytest.StashKey()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ipctrace", "ipctrace golden traces")
    group.addoption(
        "--ipctrace-update",
        action="store_true",
        default=False,
        help="record the golden traces from this run's traces instead of comparing with them",
    )
    group.addoption(
        "--ipctrace-capture",
        choices=CAPTURE_CHOICES,
        default="none",
        help="capture loopback packets in traced runs (needs root or CAP_NET_RAW; default none)",
    )
    group.addoption(
        "--ipctrace-ignore",
        default="",
        metavar="WHAT,...",
        help="leave out of every comparison: " + ", ".join(IGNORABLE_NAMES),
    )
    parser.addini(
        "ipctrace_golden_dir",
        "folder of golden traces, relative to the rootdir (default: golden/ next to each test module)",
        default="",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_GOLDENS] = []
    if config.getoption("ipctrace_ignore", ""):  # checked once at start-up, not as an error in every test
        from ipctrace.compare.fixture import check_options

        check_options(config)


def pytest_assertrepr_compare(config: pytest.Config, op: str, left: Any, right: Any) -> list[str] | None:
    """`assert run == ipctrace.golden(...)`: the message is the diff, in roles, calls and messages."""
    if "ipctrace.compare.diff" not in sys.modules:  # no golden can exist yet: a project not using ipctrace
        return None
    from ipctrace.compare.fixture import golden_mismatch

    return golden_mismatch(op, left, right)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    written = list(dict.fromkeys(g.path for g in config.stash.get(_GOLDENS, []) if g.written))
    if written:
        terminalreporter.write_sep("-", "ipctrace")
        for path in written:
            terminalreporter.write_line(f"golden trace written: {path}")


@pytest.fixture
def ipctrace(request: pytest.FixtureRequest, tmp_path: Path) -> Ipctrace:
    """Run programs under the tracer and compare them with golden traces (see `ipctrace.compare.fixture`)."""
    from ipctrace.compare.fixture import Ipctrace

    return Ipctrace(request, tmp_path, request.config.stash.setdefault(_GOLDENS, []))


def __getattr__(name: str) -> Any:
    """`from ipctrace.compare.pytest_plugin import Ipctrace` (for annotations) still works, imported when asked."""
    if name == "Ipctrace":
        from ipctrace.compare.fixture import Ipctrace

        return Ipctrace
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
