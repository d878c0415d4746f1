"""What the pytest plugin's `ipctrace` fixture does: run programs under the tracer, compare them with goldens.

The plugin module (`pytest_plugin.py`) is loaded by every pytest run in an
environment where ipctrace is installed, so it holds only hooks and imports
this module when a test first needs it. This is glue: it runs scenarios
(`runner.py`) and compares with the library (`golden.py`).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from ipctrace.compare.book import GoldenBook, test_golden_name
from ipctrace.compare.choices import READ_BOUNDARIES, check_ignore, parse_choices
from ipctrace.compare.form import CanonicalTrace
from ipctrace.compare.golden import Golden
from ipctrace.compare.runner import failure, run_canonical
from ipctrace.scenarios import Scenario, adhoc_scenario, find_scenario
from ipctrace.session import RunResult

UPDATE_HINT = "(if the new behaviour is right, record it: pytest --ipctrace-update)"


def ignore_option(config: pytest.Config) -> frozenset[str]:
    """`--ipctrace-ignore`, checked: a bad one is a usage error at start-up, not a failure in every test."""
    try:
        return parse_choices(str(config.getoption("ipctrace_ignore", "") or ""))
    except ValueError as exc:
        raise pytest.UsageError(f"--ipctrace-ignore: {exc}") from None


def golden_mismatch(op: str, left: Any, right: Any) -> list[str] | None:
    """The message of a failed `run == ipctrace.golden(...)`: the diff, in roles, calls and messages."""
    if op != "==":
        return None
    golden = left if isinstance(left, Golden) else right if isinstance(right, Golden) else None
    if golden is None or golden.result is None:
        return None
    hint = [UPDATE_HINT] if golden.suggest_update else []
    return [
        headline(golden),
        *golden.result.explain().splitlines(),
        *hint,
    ]


def headline(golden: Golden) -> str:
    """The first line of a failed comparison: a failed run or a missing golden is not 'does not match'."""
    if golden.run_failed:
        return f"the traced run failed, so it was not compared with its golden trace {golden.path}"
    if not golden.path.exists():
        return f"this test has no golden trace {golden.path} yet"
    return f"the traced run does not match its golden trace {golden.path}"


class Ipctrace:
    """The `ipctrace` fixture: run scenarios or commands under the tracer and compare them with golden traces.

    Each test has its own golden, named after its node id (parameters
    included): `golden/<test module>/<test name>.json` next to the test file.
    `name=` names a golden `golden/<name>.json` instead, to share one between
    tests on purpose.
    """

    def __init__(self, request: pytest.FixtureRequest, tmp_path: Path, book: GoldenBook) -> None:
        config = request.config
        self._tmp = tmp_path
        self._book = book
        self._nodeid = request.node.nodeid
        self._folder = Path(request.path).parent
        self._failures: dict[int, tuple[CanonicalTrace, str | None]] = {}
        self.update: bool = bool(config.getoption("ipctrace_update", False))
        self.capture: str = str(config.getoption("ipctrace_capture", "none") or "none")
        self.ignore = ignore_option(config)
        try:
            ini = str(config.getini("ipctrace_golden_dir") or "")
        except ValueError:  # the plugin came too late to register its ini setting
            ini = ""
        self.golden_dir = (config.rootpath / ini) if ini else self._folder / "golden"
        book.use_folder(self.golden_dir)
        self.last_run: RunResult | None = None

    def run(
        self,
        scenario: str | Path | Scenario,
        *,
        stdin: Mapping[str, Sequence[str]] | None = None,
        capture: str | None = None,
        read_boundaries: bool | None = None,
    ) -> CanonicalTrace:
        """Run a scenario (name, .toml path or Scenario) on a free port; its canonical form.

        `stdin` replaces the scripted input of the roles it names. The full
        result (trace, output folder) is `last_run`. `read_boundaries` keeps
        reads on byte streams as the kernel split them (default: as
        `--ipctrace-ignore read-boundaries` says).
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
        boundaries = READ_BOUNDARIES in self.ignore if read_boundaries is None else read_boundaries
        self.last_run, form = run_canonical(scenario, outdir, capture or self.capture, read_boundaries=boundaries)
        self._failures[id(form)] = (form, failure(self.last_run))
        return form

    def run_command(
        self,
        *argv: str,
        name: str | None = None,
        stdin: Sequence[str] | None = None,
        timeout: float = 30.0,
        capture: str | None = None,
        read_boundaries: bool | None = None,
    ) -> CanonicalTrace:
        """Run one command (`"python3", "my_program.py", ...`) as role `main`; its canonical form.

        A relative path among the arguments (`my_program.py`, `programs/x.py`)
        is taken from the test file's folder when it names a file there, so the
        test passes from any working directory. `name` names the run (its
        output folder); the golden is the test's own either way.
        """
        argv = tuple(self._from_test_folder(a) for a in argv) or (sys.executable,)
        scenario = adhoc_scenario(list(argv), name=name, timeout=timeout)
        role = replace(scenario.roles[0], interactive=False, stdin=None if stdin is None else tuple(stdin))
        return self.run(replace(scenario, roles=(role,)), capture=capture, read_boundaries=read_boundaries)

    def _from_test_folder(self, arg: str) -> str:
        if not arg or arg.startswith("-") or Path(arg).is_absolute():
            return arg
        candidate = self._folder / arg
        return str(candidate) if candidate.is_file() else arg

    def golden(self, name: str | None = None, ignore: Iterable[str] = ()) -> Golden:
        """This test's golden trace (or the shared one `name`): `run == golden` compares, --ipctrace-update records."""
        if name is None:
            folder, stem = test_golden_name(self._nodeid)
            path = self.golden_dir / folder / f"{stem}.json"
        else:
            path = self.golden_dir / f"{name}.json"
        return Golden(
            path,
            check_ignore(ignore) | self.ignore,
            self.update,
            book=self._book,
            test=self._nodeid,
            failure_of=self._failure_of,
        )

    def _failure_of(self, form: CanonicalTrace) -> str | None:
        known = self._failures.get(id(form))
        return known[1] if known is not None and known[0] is form else None

    def assert_matches(
        self,
        target: str | Path | Scenario | CanonicalTrace,
        name: str | None = None,
        ignore: Iterable[str] = (),
        stdin: Mapping[str, Sequence[str]] | None = None,
        *,
        golden: str | None = None,
    ) -> CanonicalTrace:
        """Run a scenario (or take a canonical trace) and fail with the diff unless it matches its golden.

        The golden is this test's own, or `name` (`golden` is the older spelling of `name`).
        """
        __tracebackhide__ = True
        choices = check_ignore(ignore) | self.ignore
        if isinstance(target, CanonicalTrace):
            actual = target
        else:
            actual = self.run(target, stdin=stdin, read_boundaries=READ_BOUNDARIES in choices)
        expectation = self.golden(name or golden, choices)
        result = expectation.check(actual)
        if not result.equivalent:
            hint = f"\n{UPDATE_HINT}" if expectation.suggest_update else ""
            pytest.fail(
                f"{headline(expectation)}\n{result.explain()}{hint}",
                pytrace=False,
            )
        return actual
