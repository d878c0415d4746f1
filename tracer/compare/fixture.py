"""What the pytest plugin's `ipctrace` fixture does: run programs under the tracer, compare with goldens.

The plugin module (`pytest_plugin.py`) is loaded by every pytest run in an
environment where ipctrace is installed, so it holds only hooks and the
fixture and imports this module when a test first needs it; everything that
runs programs or compares traces is here.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from ipctrace.compare.canonical import CanonicalTrace, canonicalize
from ipctrace.compare.diff import Golden, check_ignore
from ipctrace.scenarios import Scenario, adhoc_scenario, find_scenario
from ipctrace.session import RunOptions, RunResult, run_scenario

UPDATE_HINT = "(if the new behaviour is right, record it: pytest --ipctrace-update)"


def check_options(config: pytest.Config) -> None:
    """The `--ipctrace-*` options, checked at start-up: a bad one is a usage error, not a failure in every test."""
    try:
        _ignore_option(config)
    except ValueError as exc:
        raise pytest.UsageError(f"--ipctrace-ignore: {exc}") from None


def _ignore_option(config: pytest.Config) -> frozenset[str]:
    return check_ignore(filter(None, str(config.getoption("ipctrace_ignore", "") or "").split(",")))


def golden_mismatch(op: str, left: Any, right: Any) -> list[str] | None:
    """The message of a failed `run == ipctrace.golden(...)`: the diff, in roles, calls and messages."""
    if op != "==":
        return None
    golden = left if isinstance(left, Golden) else right if isinstance(right, Golden) else None
    if golden is None or golden.result is None:
        return None
    return [
        f"the traced run does not match its golden trace {golden.path}",
        *golden.result.explain().splitlines(),
        UPDATE_HINT,
    ]


class Ipctrace:
    """The `ipctrace` fixture: run scenarios or commands under the tracer and compare them with golden traces."""

    def __init__(self, request: pytest.FixtureRequest, tmp_path: Path, goldens: list[Golden]) -> None:
        config = request.config
        self._tmp = tmp_path
        self._goldens = goldens  # every golden used in the session, for the terminal summary
        self.update: bool = bool(config.getoption("ipctrace_update", False))
        self.capture: str = str(config.getoption("ipctrace_capture", "none") or "none")
        self.ignore = _ignore_option(config)
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
        self._goldens.append(golden)
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
                f"{result.explain()}\n{UPDATE_HINT}",
                pytrace=False,
            )
        return actual
