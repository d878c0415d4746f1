"""pytest plugin: the `ipctrace` fixture, golden traces, `--ipctrace-update`.

    def test_pipe3(ipctrace):
        ipctrace.assert_matches("pipe3")                  # tests/golden/pipe3.json

    def test_my_program(ipctrace):
        run = ipctrace.run_command(sys.executable, "my_program.py", name="my_program")
        assert run == ipctrace.golden("my_program", ignore={"sleeps"})

Only hooks and the fixture live here; the canonical form, the comparison and
the golden files are `ipctrace.compare`.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from ipctrace.compare.canonical import CanonicalTrace, canonicalize
from ipctrace.compare.diff import IGNORABLE, Golden, check_ignore
from ipctrace.scenarios import Scenario, adhoc_scenario, find_scenario
from ipctrace.session import RunOptions, RunResult, run_scenario

_GOLDENS = pytest.StashKey[list[Golden]]()


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
        choices=["none", "scapy", "tcpdump"],
        default="none",
        help="capture loopback packets in traced runs (needs root or CAP_NET_RAW; default none)",
    )
    group.addoption(
        "--ipctrace-ignore",
        default="",
        metavar="WHAT,...",
        help="leave out of every comparison: " + ", ".join(IGNORABLE),
    )
    parser.addini(
        "ipctrace_golden_dir",
        "folder of golden traces, relative to the rootdir (default: golden/ next to each test module)",
        default="",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_GOLDENS] = []


def pytest_assertrepr_compare(config: pytest.Config, op: str, left: Any, right: Any) -> list[str] | None:
    """`assert run == ipctrace.golden(...)`: the message is the diff, in roles, calls and messages."""
    if op != "==":
        return None
    golden = left if isinstance(left, Golden) else right if isinstance(right, Golden) else None
    if golden is None or golden.result is None:
        return None
    return [
        f"the traced run does not match its golden trace {golden.path}",
        *golden.result.explain().splitlines(),
        "(if the new behaviour is right, record it: pytest --ipctrace-update)",
    ]


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    written = list(dict.fromkeys(g.path for g in config.stash.get(_GOLDENS, []) if g.written))
    if written:
        terminalreporter.write_sep("-", "ipctrace")
        for path in written:
            terminalreporter.write_line(f"golden trace written: {path}")


class Ipctrace:
    """The `ipctrace` fixture: run scenarios or commands under the tracer and compare them with golden traces."""

    def __init__(self, request: pytest.FixtureRequest, tmp_path: Path) -> None:
        config = request.config
        self._config = config
        self._tmp = tmp_path
        self.update: bool = bool(config.getoption("ipctrace_update", False))
        self.capture: str = str(config.getoption("ipctrace_capture", "none") or "none")
        self.ignore = check_ignore(filter(None, str(config.getoption("ipctrace_ignore", "") or "").split(",")))
        try:
            ini = str(config.getini("ipctrace_golden_dir") or "")
        except ValueError:  # the plugin came too late to register its ini setting
            ini = ""
        self.golden_dir = (config.rootpath / ini) if ini else Path(request.path).parent / "golden"
        self.last_run: RunResult | None = None

    def run(
        self,
        scenario: str | Path | Scenario,
        *,
        stdin: Mapping[str, Sequence[str]] | None = None,
        capture: str | None = None,
    ) -> CanonicalTrace:
        """Run a scenario (name, .toml path or Scenario) on a free port; its canonical form.

        `stdin` replaces the scripted input of the roles it names. The full
        result (trace, output folder) is `last_run`.
        """
        if not isinstance(scenario, Scenario):
            scenario = find_scenario(str(scenario))
        for role, lines in (stdin or {}).items():
            scenario = scenario.with_stdin(role, tuple(lines))
        outdir = self._tmp / scenario.name  # the same folder name as `ipctrace run` uses: argv compares equal
        n = 1
        while outdir.exists():
            n += 1
            outdir = self._tmp / f"run{n}" / scenario.name
        self.last_run = run_scenario(scenario, RunOptions(outdir=outdir, capture=capture or self.capture, port=0))
        return canonicalize(self.last_run.trace)

    def run_command(
        self,
        *argv: str,
        name: str | None = None,
        stdin: Sequence[str] | None = None,
        timeout: float = 30.0,
        capture: str | None = None,
    ) -> CanonicalTrace:
        """Run one command (`sys.executable, "prog.py", ...`) as role `main`; its canonical form."""
        argv = argv or (sys.executable,)
        scenario = adhoc_scenario(list(argv), name=name, timeout=timeout)
        role = replace(scenario.roles[0], interactive=False, stdin=None if stdin is None else tuple(stdin))
        return self.run(replace(scenario, roles=(role,)), capture=capture)

    def golden(self, name: str, ignore: Iterable[str] = ()) -> Golden:
        """The golden trace `name` in the golden folder: `run == golden` compares (records with --ipctrace-update)."""
        golden = Golden(self.golden_dir / f"{name}.json", check_ignore(ignore) | self.ignore, self.update)
        self._config.stash.setdefault(_GOLDENS, []).append(golden)
        return golden

    def assert_matches(
        self,
        target: str | Path | Scenario | CanonicalTrace,
        golden: str | None = None,
        ignore: Iterable[str] = (),
        stdin: Mapping[str, Sequence[str]] | None = None,
    ) -> CanonicalTrace:
        """Run a scenario (or take a canonical trace) and fail with the diff unless it matches its golden."""
        __tracebackhide__ = True
        if isinstance(target, CanonicalTrace):
            actual = target
            name = golden or target.scenario
        else:
            actual = self.run(target, stdin=stdin)
            name = golden or actual.scenario or Path(str(target)).stem
        if not name:
            raise ValueError("assert_matches needs golden= to name the golden trace of an unnamed run")
        expectation = self.golden(name, ignore)
        result = expectation.check(actual)
        if not result.equivalent:
            pytest.fail(
                f"{name}: the traced run does not match its golden trace {expectation.path}\n"
                f"{result.explain()}\n(if the new behaviour is right, record it: pytest --ipctrace-update)",
                pytrace=False,
            )
        return actual


@pytest.fixture
def ipctrace(request: pytest.FixtureRequest, tmp_path: Path) -> Ipctrace:
    """Run programs under the tracer and compare them with golden traces (see `Ipctrace`)."""
    return Ipctrace(request, tmp_path)
