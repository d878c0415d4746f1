"""Scenarios: the unit users run by name (`ipctrace run tcp_chat`), read from TOML files.

The course examples ship in `reference_programs/scenarios/`; a user's own
scenario is any `.toml` file of the same form, passed by path. The format is
documented in the README.
"""

from __future__ import annotations

import difflib
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

BUILTIN_DIR = Path(__file__).resolve().parent.parent / "reference_programs" / "scenarios"


class ScenarioError(Exception):
    """A scenario that cannot be found or read; the message says what to do."""


@dataclass(frozen=True)
class Role:
    """One program of a scenario, started in order."""

    name: str
    command: tuple[str, ...]
    ready: tuple[str, ...] = ()  # calls that let the next role start; empty: start it at once
    stdin: tuple[str, ...] | None = None  # scripted input lines; None: no input (end of file)
    service: bool = False  # runs until the other roles are done, then gets SIGTERM
    interactive: bool = False  # reads the user's terminal (ad hoc runs) instead of a script


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
    generate: dict[str, int] = field(default_factory=dict)
    same_files: tuple[tuple[str, str], ...] = ()
    ending: ExpectedEnding | None = None
    path: Path | None = None

    @property
    def uses_port(self) -> bool:
        return any("{port}" in arg for role in self.roles for arg in role.command)

    def with_stdin(self, role: str, lines: tuple[str, ...]) -> Scenario:
        """The same scenario with another script for one role."""
        from dataclasses import replace

        names = [r.name for r in self.roles]
        if role not in names:
            raise ScenarioError(f"scenario {self.name} has no role {role!r}; its roles are {', '.join(names)}.")
        roles = tuple(replace(r, stdin=lines) if r.name == role else r for r in self.roles)
        return replace(self, roles=roles)


def _role(obj: dict, where: str) -> Role:
    try:
        name = str(obj["name"])
        command = tuple(str(a) for a in obj["command"])
    except KeyError as exc:
        raise ScenarioError(f"{where}: a role needs {exc.args[0]!r}.") from None
    stdin = obj.get("stdin")
    return Role(
        name=name,
        command=command,
        ready=tuple(obj.get("ready", ())),
        stdin=None if stdin is None else tuple(str(line) for line in stdin),
        service=bool(obj.get("service", False)),
    )


def load_scenario(path: str | Path) -> Scenario:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError(f"{path}: no such scenario file.") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: not valid TOML ({exc}).") from None
    roles = tuple(_role(r, str(path)) for r in data.get("roles", ()))
    if not roles:
        raise ScenarioError(f"{path}: a scenario needs at least one [[roles]] entry.")
    ending = None
    if "ending" in data:
        e = data["ending"]
        blocked = []
        for item in e.get("blocked", ()):
            role, _, call = str(item).partition(":")
            blocked.append((role, call))
        ending = ExpectedEnding(idle=float(e.get("idle", 1.0)), blocked=tuple(blocked),
                                explanation=str(e.get("explanation", "")))
    return Scenario(
        name=str(data.get("name", path.stem)),
        roles=roles,
        title=str(data.get("title", "")),
        source=str(data.get("source", "")),
        lesson=str(data.get("lesson", "")),
        timeout=float(data.get("timeout", 30.0)),
        schedule=data.get("schedule"),
        generate={str(k): int(v) for k, v in data.get("generate", {}).items()},
        same_files=tuple((str(a), str(b)) for a, b in data.get("same_files", ())),
        ending=ending,
        path=path,
    )


def builtin_scenarios() -> dict[str, Scenario]:
    """The course examples, by name."""
    found = {}
    for path in sorted(BUILTIN_DIR.glob("*.toml")):
        scenario = load_scenario(path)
        found[scenario.name] = scenario
    return found


def find_scenario(name_or_path: str) -> Scenario:
    """A scenario by name, or from a .toml file; unknown names suggest the closest ones."""
    if name_or_path.endswith(".toml") or "/" in name_or_path:
        return load_scenario(name_or_path)
    own_file = BUILTIN_DIR / f"{name_or_path}.toml"
    if own_file.is_file():  # a scenario's file is named after it: one broken file spoils only itself
        return load_scenario(own_file)
    scenarios = builtin_scenarios()
    if name_or_path in scenarios:
        return scenarios[name_or_path]
    close = difflib.get_close_matches(name_or_path, scenarios, n=3, cutoff=0.5)
    hint = f" Did you mean {' or '.join(close)}?" if close else ""
    raise ScenarioError(
        f"unknown scenario {name_or_path!r}.{hint} `ipctrace list` shows them all; "
        f"to trace your own program use `ipctrace run -- {Path(sys.executable).name} your_program.py`."
    )


def adhoc_scenario(command: list[str], name: str | None = None, timeout: float = 60.0) -> Scenario:
    """Any command as a one-role scenario (`ipctrace run -- python prog.py`)."""
    if not command:
        raise ScenarioError("no command given after `--`; for example: ipctrace run -- python3 my_program.py")
    if name is None:
        program = next((a for a in command[1:] if a.endswith(".py")), command[-1])
        if "-m" in command[:-1]:
            program = command[command.index("-m") + 1]
        name = Path(program).stem.replace(".", "_") or "program"
    return Scenario(name=name, roles=(Role(name="main", command=tuple(command), interactive=True),),
                    timeout=timeout, title=" ".join(command))
