"""Scenarios: the unit users run by name (`ipctrace run tcp_chat`), read from TOML files.

The course examples ship in `reference_programs/scenarios/`; a user's own
scenario is any `.toml` file of the same form, passed by path. The format is
documented in the README. A course example runs its Python port, or with
`Impl.C` its C original (`c_command`): the same roles, script, readiness and
expected ending, only the commands differ.
"""

from __future__ import annotations

import os
import string
import sys
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from ipctrace.errors import IpctraceError
from ipctrace.inputs import InputError, adhoc_name, check_count, check_name, check_number, read_user_text, safe_name
from ipctrace.scenario_index import BUILTIN_DIR, Row, scenario_data
from ipctrace.scenario_index import PROGRAMS_DIR as PROGRAMS_DIR  # where the scenarios run their programs from

MAX_TIMEOUT = 24 * 3600.0  # seconds: a run that long is a mistake in the number
MAX_GENERATED = 100_000_000  # bytes of one generated file: course examples send kilobytes
MAX_SCENARIO_FILE = 1_000_000  # bytes of a scenario file (or a --script file)


class ScenarioError(IpctraceError):
    """A scenario that cannot be found or read; the message says what to do."""


class Impl(StrEnum):
    """Which program a role runs: the Python port (`command`) or the C original (`c_command`)."""

    PYTHON = "python"
    C = "c"


@dataclass(frozen=True)
class Role:
    """One program of a scenario, started in order."""

    name: str
    command: tuple[str, ...]
    ready: tuple[str, ...] = ()  # calls that let the next role start; empty: start it at once
    stdin: tuple[str, ...] | None = None  # scripted input lines; None: no input (end of file)
    service: bool = False  # runs until the other roles are done, then gets SIGTERM
    interactive: bool = False  # reads the user's terminal (ad hoc runs) instead of a script
    c_command: tuple[str, ...] | None = None  # the C original of the same program ({cbin}: where it is built)


@dataclass(frozen=True)
class ExpectedEnding:
    """A scenario that ends, by design, with processes still blocked."""

    idle: float
    blocked: tuple[tuple[str, str], ...]  # (role, call)
    explanation: str


@dataclass(frozen=True)
class Scenario:
    name: str
    roles: tuple[Role, ...]
    title: str = ""
    source: str = ""
    lesson: str = ""
    timeout: float = 30.0
    schedule: str | None = None
    outcomes: int | None = None  # how many outcomes `ipctrace explore` finds (tests check it); >1: a race
    generate: dict[str, int] = field(default_factory=dict)
    same_files: tuple[tuple[str, str], ...] = ()
    ending: ExpectedEnding | None = None
    protocols: tuple[str, ...] = ("tcp", "udp")  # what the scenario's port must be free for
    path: Path | None = None
    impl: Impl = Impl.PYTHON  # which programs `command` holds now (for_impl)

    @property
    def uses_port(self) -> bool:
        return any("{port}" in arg for role in self.roles for arg in role.command)

    @property
    def has_c_original(self) -> bool:
        return all(role.c_command is not None for role in self.roles)

    @property
    def run_name(self) -> str:
        """The name of its output folder: `tcp_chat`, and `tcp_chat-c` for the C original."""
        return self.name if self.impl == Impl.PYTHON else f"{self.name}-{self.impl}"

    def for_impl(self, impl: Impl) -> Scenario:
        """The same scenario running the programs of `impl`: same roles, script, readiness and ending."""
        if impl == self.impl:
            return self
        if impl == Impl.C:
            if not self.has_c_original:
                with_c = sorted(n for n, s in builtin_scenarios().items() if s.has_c_original)
                raise ScenarioError(
                    f"scenario {self.name} has no C original (no c_command for its roles); "
                    f"these have one: {', '.join(with_c) or 'none'}."
                )
            roles = tuple(replace(r, command=r.c_command or r.command) for r in self.roles)
            return replace(self, roles=roles, impl=Impl.C)
        raise ScenarioError(f"scenario {self.name} runs its C original; load it again for the Python port.")

    def with_stdin(self, role: str, lines: tuple[str, ...]) -> Scenario:
        """The same scenario with another script for one role, which then reads its script, not the terminal."""
        names = [r.name for r in self.roles]
        if role not in names:
            raise ScenarioError(f"scenario {self.name} has no role {role!r}; its roles are {', '.join(names)}.")
        roles = tuple(replace(r, stdin=lines, interactive=False) if r.name == role else r for r in self.roles)
        return replace(self, roles=roles)


PLACEHOLDERS = ("python", "programs", "port", "outdir", "here", "cbin")
_TOP_KEYS = {
    "name": str,
    "title": str,
    "source": str,
    "lesson": str,
    "timeout": (int, float),
    "schedule": str,
    "outcomes": int,
    "generate": dict,
    "same_files": list,
    "ending": dict,
    "roles": list,
    "protocols": list,
}
_ROLE_KEYS = {"name": str, "command": list, "c_command": list, "ready": list, "stdin": list, "service": bool}
_ENDING_KEYS = {"idle": (int, float), "blocked": list, "explanation": str}
_TYPE_NAMES = {
    str: "a string",
    list: "a list",
    dict: "a table",
    bool: "true or false",
    int: "a whole number",
    (int, float): "a number",
}


class _Checker:
    """Checks a scenario file's keys and types, so a mistake is one sentence naming the key, not a traceback."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, what: str) -> ScenarioError:
        return ScenarioError(f"{self.path}: {what}.")

    def keys(self, table: dict, allowed: dict, where: str) -> None:
        for key, value in table.items():
            if key not in allowed:
                import difflib  # only to suggest a name

                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f"; did you mean {close[0]!r}" if close else f"; known keys: {', '.join(allowed)}"
                raise self.fail(f"unknown key {key!r}{where}{hint}")
            kind = allowed[key]
            if not isinstance(value, kind) or (kind == (int, float) and isinstance(value, bool)):
                raise self.fail(f"{key!r}{where} must be {_TYPE_NAMES[kind]}, not {value!r}")

    def number(self, value: object, what: str, low: float, high: float, unit: str) -> float:
        try:
            return check_number(value, what, low, high, unit=unit)
        except InputError as exc:
            raise self.fail(str(exc).rstrip(".")) from None

    def count(self, value: object, what: str, low: int, high: int, unit: str) -> int:
        try:
            return check_count(value, what, low, high, unit=unit)
        except InputError as exc:
            raise self.fail(str(exc).rstrip(".")) from None

    def name(self, value: object, what: str) -> str:
        try:
            return check_name(value, what)
        except InputError as exc:
            raise self.fail(str(exc).rstrip(".")) from None

    def file_name(self, value: str, key: str) -> str:
        """A file in the run's folder: a plain name, so that a scenario never reaches outside that folder."""
        return self.name(value, f"the file {value!r} in {key}")

    def strings(self, values: list, key: str, where: str) -> tuple[str, ...]:
        if not all(isinstance(v, str) for v in values):
            raise self.fail(f"{key!r}{where} must be a list of strings")
        return tuple(values)

    def calls(self, values: list, key: str, where: str) -> tuple[str, ...]:
        """Names of calls as a trace holds them: a misspelt one would have the next role wait until the timeout."""
        names = self.strings(values, key, where)
        if names:
            from ipctrace.calls import Call  # only for a role that names calls

            known = {c.value for c in Call} - {Call.UNKNOWN.value}
            bad = [n for n in names if n not in known]
            if bad:
                raise self.fail(
                    f"{key!r}{where} has {bad[0]!r}, which is no call ipctrace records: name calls such as "
                    "listen, bind or accept, after which the next role starts"
                )
        return names

    def command(self, command: list, where: str, key: str = "command") -> tuple[str, ...]:
        args = self.strings(command, key, where)
        if not args:
            raise self.fail(f"{key!r}{where} is empty: give the program and its arguments as a list")
        for arg in args:
            try:
                fields = {f for _, f, _, _ in string.Formatter().parse(arg) if f is not None}
            except ValueError:
                fields = {"?"}
            bad = fields - set(PLACEHOLDERS)
            if bad:
                raise self.fail(
                    f"{key!r}{where} has {arg!r}: the placeholders are "
                    f"{', '.join('{' + p + '}' for p in PLACEHOLDERS)} (write {{{{ and }}}} for braces)"
                )
        return args


def _role(obj: object, check: _Checker, n: int) -> Role:
    where = f" in role #{n}"
    if not isinstance(obj, dict):
        raise check.fail(f"role #{n} must be a [[roles]] table")
    check.keys(obj, _ROLE_KEYS, where)
    for key in ("name", "command"):
        if key not in obj:
            raise check.fail(f"role #{n} needs {key!r}")
    stdin = obj.get("stdin")
    c_command = obj.get("c_command")
    return Role(
        name=check.name(obj["name"], f"the name of role #{n}"),
        command=check.command(obj["command"], where),
        ready=check.calls(obj.get("ready", []), "ready", where),
        stdin=None if stdin is None else check.strings(stdin, "stdin", where),
        service=obj.get("service", False),
        c_command=None if c_command is None else check.command(c_command, where, "c_command"),
    )


def _read_toml(path: Path) -> dict[str, Any]:
    return scenario_data(path, _parse_toml)  # a course example's kept from its last reading (scenario_index)


def _parse_toml(path: Path) -> dict[str, Any]:
    import tomllib  # compiling its expressions is ~5 ms: only when a file is read

    try:
        return tomllib.loads(read_user_text(path, "scenario file", MAX_SCENARIO_FILE))
    except InputError as exc:
        raise ScenarioError(str(exc)) from None
    except tomllib.TOMLDecodeError as exc:
        form = "" if path.suffix == ".toml" else " (a scenario file is TOML, like the course examples' .toml files)"
        raise ScenarioError(f"{path}: not valid TOML ({exc}){form}.") from None


def _roles(data: dict[str, Any], check: _Checker) -> tuple[Role, ...]:
    roles = tuple(_role(r, check, n) for n, r in enumerate(data.get("roles", ()), 1))
    if not roles:
        raise check.fail("a scenario needs at least one [[roles]] entry")
    names = [r.name for r in roles]
    if len(set(names)) != len(names):
        raise check.fail(f"two roles are named {next(n for n in names if names.count(n) > 1)!r}: names must differ")
    without_c = [r.name for r in roles if r.c_command is None]
    if without_c and len(without_c) < len(roles):
        raise check.fail(
            f"role {without_c[0]!r} has no 'c_command' while others have one: a C original needs one for every role"
        )
    return roles


def _generated(data: dict[str, Any], check: _Checker) -> dict[str, int]:
    """`generate`: files written into the run's folder before it starts, by name (never a path)."""
    generate = data.get("generate", {})
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in generate.values()):
        raise check.fail("'generate' maps file names to sizes in bytes (whole numbers), e.g. { \"f.txt\" = 5000 }")
    for name, size in generate.items():
        check.file_name(name, "'generate'")
        check.count(size, f"the size of {name!r} in 'generate'", 0, MAX_GENERATED, "bytes")
    return dict(generate)


def _same_files(data: dict[str, Any], check: _Checker) -> tuple[tuple[str, str], ...]:
    """`same_files`: pairs of files in the run's folder that must be identical after the run."""
    same_files = data.get("same_files", [])
    if not all(isinstance(p, list) and len(p) == 2 and all(isinstance(f, str) for f in p) for p in same_files):
        raise check.fail('\'same_files\' is a list of pairs of file names, e.g. [["a.txt", "b.txt"]]')
    for pair in same_files:
        for name in pair:
            check.file_name(name, "'same_files'")
    return tuple((a, b) for a, b in same_files)


def _ending(data: dict[str, Any], check: _Checker, names: list[str], timeout: float) -> ExpectedEnding | None:
    if "ending" not in data:
        return None
    e = data["ending"]
    check.keys(e, _ENDING_KEYS, " in [ending]")
    blocked = []
    for item in check.strings(e.get("blocked", []), "blocked", " in [ending]"):
        role, sep, call = item.partition(":")
        if not sep or role not in names:
            raise check.fail(f"[ending] blocked {item!r} must be ROLE:CALL with one of the roles {', '.join(names)}")
        blocked.append((role, call))
    idle = check.number(e.get("idle", 1.0), "'idle' in [ending]", 0, timeout, "seconds (the scenario's timeout)")
    return ExpectedEnding(idle=idle, blocked=tuple(blocked), explanation=e.get("explanation", ""))


def _scenario_name(data: dict[str, Any], path: Path, check: _Checker) -> str:
    """The scenario's name, which names its output folder: one folder name, never a path."""
    if "name" not in data:
        return safe_name(path.stem, "scenario")
    return check.name(data["name"], "'name'")


def load_scenario(path: str | Path) -> Scenario:
    path = Path(path)
    data = _read_toml(path)
    check = _Checker(path)
    check.keys(data, _TOP_KEYS, "")
    roles = _roles(data, check)
    timeout = check.number(data.get("timeout", 30.0), "'timeout'", 0, MAX_TIMEOUT, "seconds")
    if data.get("schedule") not in (None, "child-first"):
        raise check.fail(f"'schedule' can only be \"child-first\", not {data['schedule']!r}")
    protocols = check.strings(data.get("protocols", ["tcp", "udp"]), "protocols", "")
    if not set(protocols) <= {"tcp", "udp"}:
        raise check.fail('\'protocols\' lists the port\'s protocols: "tcp", "udp" or both')
    return Scenario(
        name=_scenario_name(data, path, check),
        roles=roles,
        title=data.get("title", ""),
        source=data.get("source", ""),
        lesson=data.get("lesson", ""),
        timeout=timeout,
        schedule=data.get("schedule"),
        outcomes=check.count(data["outcomes"], "'outcomes'", 1, 10_000, "outcomes") if "outcomes" in data else None,
        generate=_generated(data, check),
        same_files=_same_files(data, check),
        ending=_ending(data, check, [r.name for r in roles], timeout),
        protocols=protocols,
        path=path,
    )


def builtin_scenarios() -> dict[str, Scenario]:
    """The course examples, by name."""
    return scenarios_in(BUILTIN_DIR)


def list_rows(folder: Path) -> list[Row]:
    """What `ipctrace list` shows of each scenario in `folder` (kept between runs by `scenario_index`)."""
    return [(n, s.source, s.lesson, s.outcomes, s.has_c_original) for n, s in scenarios_in(folder).items()]


def scenarios_in(folder: Path) -> dict[str, Scenario]:
    """The scenarios of every .toml file in `folder`, by name, read in file-name order."""
    found = {}
    for path in sorted(folder.glob("*.toml")):
        scenario = load_scenario(path)
        found[scenario.name] = scenario
    return found


def find_scenario(name_or_path: str) -> Scenario:
    """A scenario by name, or from a .toml file; unknown names suggest the closest ones."""
    if name_or_path.endswith(".toml") or "/" in name_or_path:
        _refuse_program(name_or_path)
        return load_scenario(name_or_path)
    own_file = BUILTIN_DIR / f"{name_or_path}.toml"
    if own_file.is_file():  # a scenario's file is named after it: one broken file spoils only itself
        return load_scenario(own_file)
    scenarios = builtin_scenarios()
    if name_or_path in scenarios:  # a course example's name, even with its compiled program in this folder
        return scenarios[name_or_path]
    _refuse_program(name_or_path)
    import difflib  # only to suggest a name

    close = difflib.get_close_matches(name_or_path, scenarios, n=3, cutoff=0.5)
    hint = f" Did you mean {' or '.join(close)}?" if close else ""
    raise ScenarioError(
        f"unknown scenario {name_or_path!r}.{hint} `ipctrace list` shows them all; "
        f"to trace your own program use `ipctrace run -- {Path(sys.executable).name} your_program.py`."
    )


def _refuse_program(name_or_path: str) -> None:
    """A program given where a scenario goes (`ipctrace run hello.py`): say how to trace it instead."""
    path = Path(name_or_path)
    if name_or_path.endswith(".toml") or not path.is_file():
        return
    if path.suffix == ".py":
        command = f"{Path(sys.executable).name} {name_or_path}"
    elif os.access(path, os.X_OK):
        command = name_or_path if "/" in name_or_path else f"./{name_or_path}"
    else:
        return  # perhaps a scenario file named otherwise: reading it says what is wrong with it
    raise ScenarioError(
        f"{name_or_path} is a program, not a scenario: to trace it, put `--` before its command: "
        f"ipctrace run -- {command}"
    )


def adhoc_scenario(command: list[str], name: str | None = None, timeout: float = 60.0) -> Scenario:
    """Any command as a one-role scenario (`ipctrace run -- python prog.py`)."""
    if not command:
        raise ScenarioError("no command given after `--`; for example: ipctrace run -- python3 my_program.py")
    if name is not None:
        try:
            check_name(name, f"--name {name!r}")
        except InputError as exc:
            raise ScenarioError(str(exc)) from None
    return Scenario(
        name=name or adhoc_name(command),
        roles=(Role(name="main", command=tuple(command), interactive=True),),
        timeout=timeout,
        title=" ".join(command),
    )


def scripted_input(say: list[str], script: Path | None = None) -> dict[str, list[str]]:
    """Scripted input lines per role, from `ROLE:TEXT` items (`--say`) and a file of such lines (`--script`)."""
    lines: list[tuple[str, str]] = [("--say", item) for item in say]  # (where it was given, the item)
    if script is not None:
        try:
            text = read_user_text(script, "script file", MAX_SCENARIO_FILE)
        except InputError as exc:
            raise ScenarioError(str(exc)) from None
        lines += [(f"{script}:{n}", ln) for n, ln in enumerate(text.splitlines(), 1) if ln.strip()]
    scripts: dict[str, list[str]] = {}
    for where, item in lines:
        role, sep, text = item.partition(":")
        if not sep or not role.strip():
            raise ScenarioError(f"{where}: scripted input {item!r} must look like ROLE:TEXT, for example client:hello.")
        scripts.setdefault(role.strip(), []).append(text.lstrip(" ") + "\n")
    return scripts
