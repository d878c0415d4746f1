"""Golden files: a canonical form on disk, read back, written atomically, and compared with a run by `==`.

`load` reads a trace file, an output folder or a golden file alike, so every
command and test that compares takes any of them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from ipctrace.compare.book import GoldenBook
from ipctrace.compare.canonical import canonicalize
from ipctrace.compare.diff import Difference, DiffResult, diff_canonical, ending_text
from ipctrace.compare.form import FORMAT, CanonicalTrace, Json
from ipctrace.compare.identity import IdentityError
from ipctrace.errors import IpctraceError
from ipctrace.inputs import InputError, compressed_problem, open_user_file, read_user_text
from ipctrace.tracefile import TraceFileError, read_trace

#: Endings a golden trace is never recorded from: the run did not do what its scenario says.
BAD_ENDINGS = frozenset({"timeout", "failed", "interrupted", "deadlock"})


class CanonicalError(IpctraceError, ValueError):
    """A file that is neither a trace nor a canonical trace; the message says which file and why."""


def dump_json(value: Json, indent: int = 0) -> str:
    """JSON where a container holding only scalars stays on one line, and the others open up."""
    pad, inner = "  " * indent, "  " * (indent + 1)
    if isinstance(value, dict) and value and any(isinstance(v, dict | list) and v for v in value.values()):
        items = [f"{inner}{json.dumps(k, ensure_ascii=False)}: {dump_json(v, indent + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, list) and value and any(isinstance(v, dict | list) for v in value):
        return "[\n" + ",\n".join(inner + dump_json(v, indent + 1) for v in value) + "\n" + pad + "]"
    return json.dumps(value, ensure_ascii=False)


def dumps(canonical: CanonicalTrace) -> str:
    """The readable JSON document of a golden file: one call, flow or packet a line."""
    return dump_json(canonical.to_json()) + "\n"


def loads(text: str) -> CanonicalTrace:
    return CanonicalTrace.from_json(json.loads(text))


def is_golden_file(path: Path) -> bool:
    """True for a canonical trace (a golden file): one JSON document naming the canonical format."""
    try:
        with open(path, encoding="utf-8") as f:
            head = f.read(200)
    except (OSError, UnicodeDecodeError):
        return False
    return head.lstrip().startswith("{") and '"ipctrace-canonical/' in head


#: The largest golden (canonical) file read: a golden holds calls and flows, not payloads of megabytes.
MAX_GOLDEN_FILE = 64_000_000
MAX_GOLDEN_HEAD = 1 << 20  # bytes of a file's first line read to tell a trace from a golden file


def load(path: str | Path, *, read_boundaries: bool = False) -> CanonicalTrace:
    """A canonical trace from a trace file, an output folder holding one, or a golden (canonical) file.

    Anything else is one sentence saying what the file is instead; only regular files are read.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "trace.jsonl"
    try:
        with open_user_file(path, "trace or golden file") as f:
            first = f.readline(MAX_GOLDEN_HEAD)
    except InputError as exc:
        raise CanonicalError(str(exc)) from None
    compressed = compressed_problem(path, first, "trace or golden file")
    if compressed is not None:
        raise CanonicalError(compressed)
    try:
        head = json.loads(first)
    except (json.JSONDecodeError, UnicodeDecodeError):
        head = None
    if isinstance(head, dict) and head.get("type") == "header":
        try:
            return canonicalize(read_trace(path), read_boundaries=read_boundaries)
        except TraceFileError as exc:
            raise CanonicalError(str(exc)) from None
    return _load_golden(path)


def _load_golden(path: Path) -> CanonicalTrace:
    neither = f"{path}: neither a trace (trace.jsonl) nor a golden file"
    try:
        obj = json.loads(read_user_text(path, "golden file", MAX_GOLDEN_FILE))
    except InputError as exc:
        said = str(exc)
        about = said.removeprefix(f"{path} ")
        raise CanonicalError(f"{neither}: {about if about == said else 'it ' + about}") from None
    except json.JSONDecodeError as exc:
        if exc.pos == 0 and not exc.doc.strip():
            raise CanonicalError(f"{neither}: it is empty.") from None
        raise CanonicalError(f"{neither}: it is not JSON (from line {exc.lineno}, column {exc.colno}).") from None
    if not isinstance(obj, dict) or "format" not in obj:
        what = 'a JSON object without a "format"' if isinstance(obj, dict) else f"JSON, but a {type(obj).__name__}"
        raise CanonicalError(f"{neither}: it is {what}, and a golden file is an object of format {FORMAT}.")
    if obj["format"] != FORMAT:
        raise CanonicalError(f"{neither}: its format is {obj['format']!r}, and this ipctrace reads {FORMAT}.")
    try:
        return CanonicalTrace.from_json(obj)
    except (IdentityError, KeyError, TypeError, ValueError, AttributeError):
        raise CanonicalError(
            f"{neither}: it says format {FORMAT} but its processes, flows or packets are not shaped as a golden "
            "file's are; write it again with `pytest --ipctrace-update`."
        ) from None


def save(canonical: CanonicalTrace, path: str | Path) -> None:
    """Write a golden file atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(dumps(canonical), encoding="utf-8")
    tmp.replace(path)


class Written(StrEnum):
    """What updating a golden file did."""

    NEW = "new"
    CHANGED = "changed"
    UNCHANGED = "unchanged"


def record(canonical: CanonicalTrace, path: Path) -> Written:
    """Write a golden file unless it already holds this form; say which."""
    if not path.exists():
        save(canonical, path)
        return Written.NEW
    try:
        if loads(path.read_text(encoding="utf-8")) == canonical:
            return Written.UNCHANGED
    except (json.JSONDecodeError, IdentityError, KeyError, TypeError, ValueError, AttributeError, OSError):
        pass  # a damaged golden is replaced
    save(canonical, path)
    return Written.CHANGED


@dataclass(eq=False)
class Golden:
    """A golden canonical trace on disk, compared with a run by `==` (as syrupy's snapshot is).

    Mutable on purpose: `==` keeps the comparison in `result`, so pytest's
    assertion message can show it. With `update`, `==` records the run in the
    file instead of comparing (unless the run failed, or another test of the
    session already wrote that file from a run that differs), and `written`
    says what that did.
    """

    path: Path
    ignore: frozenset[str] = frozenset()
    update: bool = False
    book: GoldenBook | None = None  # the session's goldens (written twice, unused ones)
    test: str = ""  # the test that uses it, for messages
    #: Why a run failed, in words (exit status, last lines of output): the runner knows, the form does not.
    failure_of: Callable[[CanonicalTrace], str | None] | None = None
    result: DiffResult | None = None
    written: Written | None = None
    run_failed: bool = False

    def __post_init__(self) -> None:
        if self.book is not None:
            self.book.use(self.path)

    def check(self, actual: CanonicalTrace) -> DiffResult:
        """Compare (or, updating, record) a run; the outcome is also kept in `result`."""
        run_failure = self.failure_of(actual) if self.failure_of is not None else None
        self.run_failed = actual.ending in BAD_ENDINGS or run_failure is not None
        notes = (f"the run failed: {run_failure}",) if run_failure else ()
        if self.update and self.run_failed:
            text = (
                f"the run ended {ending_text(actual.ending or 'failed')}; a golden trace is not recorded from it "
                f"({self.path} left as it was)"
            )
            diff = DiffResult((Difference("ending", None, text),), notes)
        elif self.update:
            diff = self._record(actual)
        elif not self.path.exists():
            hint = "" if self.run_failed else "; run pytest with --ipctrace-update to record it from this run"
            diff = DiffResult((Difference("golden", None, f"there is no golden trace {self.path} yet{hint}"),), notes)
        else:
            try:
                expected = load(self.path)
            except CanonicalError as exc:  # a damaged golden fails the test with what is wrong, not a traceback
                text = f"{exc}".rstrip(".") + "; record it again from a good run with pytest --ipctrace-update"
                diff = DiffResult((Difference("golden", None, text),), notes)
            else:
                diff = diff_canonical(
                    expected, actual, self.ignore, expected_name=f"golden {self.path}", actual_name="this run"
                )
                diff = DiffResult(diff.differences, (*notes, *diff.notes), diff.expected_name, diff.actual_name)
        self.result = diff
        return diff

    def _record(self, actual: CanonicalTrace) -> DiffResult:
        """Write the golden, unless this session already wrote it from a run that differs (then say so)."""
        before = self.book.written_before(self.path) if self.book is not None else None
        if before is not None:
            form, test = before
            diff = diff_canonical(
                form, actual, self.ignore, expected_name=f"golden {self.path}", actual_name="this run"
            )
            if diff.equivalent:
                return DiffResult((), (f"golden trace already written in this session: {self.path}",))
            by = f" by {test}" if test and test != self.test else ""
            text = (
                f"{self.path} was already written in this session{by}, from a run that differs: a golden is written "
                "once a session (give each test its own golden: leave out name=, or give another)"
            )
            return DiffResult((Difference("golden", None, text), *diff.differences), (), diff.expected_name, "this run")
        try:
            self.written = record(actual, self.path)
        except OSError as exc:
            text = f"the golden trace {self.path} cannot be written ({exc.strerror}): check ipctrace_golden_dir"
            return DiffResult((Difference("golden", None, text),))
        if self.book is not None:
            self.book.wrote(self.path, actual, self.test, self.written.value)
        return DiffResult((), (f"golden trace {self.written.value}: {self.path}",))

    @property
    def suggest_update(self) -> bool:
        """Whether recording the run would help: not when it failed, and not when updating already."""
        return not self.update and not self.run_failed and self.path.exists()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, CanonicalTrace):
            return self.check(other).equivalent
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Golden({str(self.path)!r})"
