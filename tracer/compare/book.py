"""What one test session did with golden files: which it used, which it wrote, which no test used.

A golden is named after its test by default (`golden/test_echo/test_echo[ping].json`,
the node id's module, class and name with parameters), or shared by name
(`golden/NAME.json`). Updating, a golden written twice in one session from
runs that differ is an error: two tests would overwrite each other's
expectation. At the end, goldens no test used are reported (as syrupy
does), but only where the session could know: a test-named golden whose
module ran whole and which no collected test is named after; a shared one
when every test module beside the folder ran whole and passed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ipctrace.compare.form import CanonicalTrace

_UNSAFE = re.compile(r"[^A-Za-z0-9._\-\[\]=+,@]")


def test_golden_name(nodeid: str) -> tuple[str, str]:
    """(module folder, file stem) of a test's own golden.

    `tests/test_echo.py::T::test_x[a b]` → (`test_echo`, `T.test_x[a_b]`).
    """
    module, _, rest = nodeid.partition("::")
    stem = Path(module).stem
    return stem, _UNSAFE.sub("_", rest.replace("::", ".")) or stem


@dataclass(frozen=True, slots=True)
class Collected:
    """What the session collected of one test module (plain data, gathered by the plugin's hooks)."""

    path: Path
    tests: frozenset[str]  # golden stems of its collected tests
    whole: bool  # every test of the module was collected and selected (no node ids given, none deselected)
    passed: bool  # none of its tests failed or was skipped


@dataclass
class GoldenBook:
    """The goldens of one session."""

    used: set[Path] = field(default_factory=set)
    folders: set[Path] = field(default_factory=set)
    written: dict[Path, tuple[CanonicalTrace, str]] = field(default_factory=dict)  # path → (form, test)
    outcomes: dict[Path, str] = field(default_factory=dict)  # path → new, changed, unchanged

    def use(self, path: Path) -> None:
        self.used.add(path.resolve())

    def use_folder(self, folder: Path) -> None:
        """A golden folder some test of the session compares in (only such folders are searched for unused ones)."""
        self.folders.add(folder.resolve())

    def written_before(self, path: Path) -> tuple[CanonicalTrace, str] | None:
        return self.written.get(path.resolve())

    def wrote(self, path: Path, form: CanonicalTrace, test: str, outcome: str) -> None:
        key = path.resolve()
        self.written.setdefault(key, (form, test))
        self.outcomes.setdefault(key, outcome)

    def unused(
        self, modules: Iterable[Collected], python_files: Iterable[str] = ("test_*.py", "*_test.py")
    ) -> list[Path]:
        """Goldens next to the session's test modules that no test used (see the module docstring for when)."""
        modules = list(modules)
        by_folder: dict[Path, list[Collected]] = {}
        for m in modules:
            by_folder.setdefault((m.path.parent / "golden").resolve(), []).append(m)
        out: list[Path] = []
        for folder in sorted(self.folders & by_folder.keys()):
            out += self._unused_named_after_tests(folder, by_folder[folder])
            if _folder_ran_whole(folder.parent, by_folder[folder], python_files):
                out += sorted(p for p in folder.glob("*.json") if p.resolve() not in self.used)
        return out

    def _unused_named_after_tests(self, folder: Path, modules: list[Collected]) -> list[Path]:
        out = []
        for m in modules:
            if not m.whole:
                continue
            for path in sorted((folder / m.path.stem).glob("*.json")):
                if path.resolve() not in self.used and path.stem not in m.tests:
                    out.append(path)
        return out

    def summary(self) -> Mapping[str, list[Path]]:
        out: dict[str, list[Path]] = {}
        for path, outcome in self.outcomes.items():
            out.setdefault(outcome, []).append(path)
        return out


def _folder_ran_whole(folder: Path, modules: list[Collected], python_files: Iterable[str]) -> bool:
    ran = {m.path.resolve() for m in modules if m.whole and m.passed}
    present = {p.resolve() for pattern in python_files for p in folder.glob(pattern)}
    return bool(present) and present <= ran


def summary_lines(book: GoldenBook, modules: Iterable[Collected], python_files: Iterable[str]) -> list[str]:
    """The end of a session: what --ipctrace-update wrote, and the goldens no test used."""
    lines = []
    done = book.summary()
    counts = ", ".join(f"{len(done[k])} {k}" for k in ("new", "changed", "unchanged") if done.get(k))
    if counts:
        lines.append(f"golden traces recorded: {counts}")
        lines += [f"golden trace written ({k}): {p}" for k in ("new", "changed") for p in sorted(done.get(k, ()))]
    unused = book.unused(modules, tuple(python_files) or ("test_*.py", "*_test.py"))
    if unused:
        lines.append(
            f"{len(unused)} golden trace{'s' if len(unused) != 1 else ''} no test used in this session "
            "(delete them if no test needs them any more):"
        )
        lines += [f"unused golden trace: {p}" for p in unused]
    return lines
