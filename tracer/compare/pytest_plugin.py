"""pytest plugin: the `ipctrace` fixture, golden traces, `--ipctrace-update`.

    def test_pipe3(ipctrace):
        ipctrace.assert_matches("pipe3")            # golden/test_module/test_pipe3.json

    def test_my_program(ipctrace):
        run = ipctrace.run_command("python3", "my_program.py")   # found next to this test file
        assert run == ipctrace.golden(ignore={"sleeps"})

pytest loads this module (the `pytest11` entry point) in every project of an
environment where ipctrace is installed, so it costs nothing there: it holds
only hooks and the fixture, and imports no other ipctrace module until a test
asks for the `ipctrace` fixture or an `--ipctrace-*` option is given. The
fixture's work is `ipctrace.compare.fixture`; the session's goldens (written,
unused) are `ipctrace.compare.book`.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ipctrace.compare.book import GoldenBook
    from ipctrace.compare.fixture import Ipctrace

#: Spelled out so that pytest's start-up imports nothing of ipctrace; tests check that they are
#: `("none", *ipctrace.capture.BACKENDS)`, the keys of `ipctrace.compare.IGNORABLE` and of `STRICTER`.
CAPTURE_CHOICES = ("none", "scapy", "tcpdump")
IGNORABLE_NAMES = ("packets", "acks", "sleeps", "payloads", "output", "handlers", "programs")
STRICTER_NAMES = ("read-boundaries",)


@dataclass
class _Module:
    """What the session collected and saw of one test module, for the unused-golden report (plain data)."""

    nodeids: set[str] = field(default_factory=set)
    narrowed: bool = False  # node ids were given, or some of its tests deselected
    troubled: bool = False  # one of its tests failed or was skipped


_BOOK: pytest.StashKey[GoldenBook] = pytest.StashKey()
_MODULES: pytest.StashKey[dict[Path, _Module]] = pytest.StashKey()


def _module(config: pytest.Config, path: object) -> _Module:
    return config.stash.setdefault(_MODULES, {}).setdefault(Path(str(path)).resolve(), _Module())


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
        help="leave out of every comparison: "
        + ", ".join(IGNORABLE_NAMES)
        + "; or compare more: read-boundaries (where each read on a byte stream ended)",
    )
    parser.addini(
        "ipctrace_golden_dir",
        "folder of golden traces, relative to the rootdir (default: golden/ next to each test module)",
        default="",
    )


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("ipctrace_ignore", ""):  # checked once at start-up, not as an error in every test
        from ipctrace.compare.fixture import ignore_option

        ignore_option(config)


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    narrowed = {Path(str(arg).split("::")[0]).resolve() for arg in config.args if "::" in str(arg)}
    for item in items:
        module = _module(config, item.path)
        module.nodeids.add(item.nodeid)
        module.narrowed |= Path(str(item.path)).resolve() in narrowed


def pytest_deselected(items: list[pytest.Item]) -> None:
    for item in items:
        _module(item.config, item.path).narrowed = True


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    outcome = yield
    report = outcome.get_result()
    if report.failed or report.skipped:
        _module(item.config, item.path).troubled = True


def pytest_assertrepr_compare(config: pytest.Config, op: str, left: Any, right: Any) -> list[str] | None:
    """`assert run == ipctrace.golden(...)`: the message is the diff, in roles, calls and messages."""
    if "ipctrace.compare.golden" not in sys.modules:  # no golden can exist yet: a project not using ipctrace
        return None
    from ipctrace.compare.fixture import golden_mismatch

    return golden_mismatch(op, left, right)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    book = config.stash.get(_BOOK, None)
    if book is None:  # no test used the fixture
        return
    from ipctrace.compare.book import Collected, summary_lines, test_golden_name

    modules = [
        Collected(path, frozenset(test_golden_name(n)[1] for n in m.nodeids), not m.narrowed, not m.troubled)
        for path, m in config.stash.get(_MODULES, {}).items()
    ]
    lines = summary_lines(book, modules, config.getini("python_files"))
    if lines:
        terminalreporter.write_sep("-", "ipctrace")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture
def ipctrace(request: pytest.FixtureRequest, tmp_path: Path) -> Ipctrace:
    """Run programs under the tracer and compare them with golden traces (see `ipctrace.compare.fixture`)."""
    from ipctrace.compare.book import GoldenBook
    from ipctrace.compare.fixture import Ipctrace

    book = request.config.stash.get(_BOOK, None)
    if book is None:
        book = request.config.stash[_BOOK] = GoldenBook()
    return Ipctrace(request, tmp_path, book)


def __getattr__(name: str) -> Any:
    """`from ipctrace.compare.pytest_plugin import Ipctrace` (for annotations) still works, imported when asked."""
    if name == "Ipctrace":
        from ipctrace.compare.fixture import Ipctrace

        return Ipctrace
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
