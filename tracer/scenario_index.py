"""Where the course examples are, and what was read from their files, kept between runs.

Reading every scenario file means `tomllib` and the scenario classes (`dataclasses`, which imports
`inspect`): most of what `ipctrace list` cost, and `tomllib` compiling its expressions was a tenth of
`ipctrace run`'s start before its first program. So the rows `list` prints, and each course
example's parsed TOML, are kept in small caches beside the files, the way Python keeps bytecode
(`__pycache__/`, or under `sys.pycache_prefix`; nothing is written when `sys.dont_write_bytecode`
says not to), and used only while the files they came from (and, for the rows, the code that
reads them) are exactly as they were: name, size and modification time of each. Otherwise the
files are read as before, a broken file gives the same sentence, and the cache is written again.
Only the standard modules Python has loaded at start-up anyway are imported here.
"""

from __future__ import annotations

import importlib.util
import marshal
import os
import sys
from pathlib import Path

TYPE_CHECKING = False  # as typing.TYPE_CHECKING (mypy reads the name), without importing typing
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

#: One scenario as `ipctrace list` shows it: name, source document, lesson, outcomes, has a C original.
Row = tuple[str, str, str, int | None, bool]
#: What the rows were made from: each scenario file's and reader's name, size and modification time.
Stamp = tuple[tuple[str, int, int], ...]

_FORMAT = 1  # the cache's layout; a file of another layout (or none) is read again from the scenarios
_READERS = ("scenarios.py", "scenario_index.py", "inputs.py")  # the code whose output the cache holds


def _programs_dir() -> Path:
    """Where the reference programs are: `ipctrace.reference_programs`, a folder of the installed package.

    Found through the import system (not relative to this file): an editable install maps the package to the
    repository's `reference_programs/` folder, a wheel puts it inside `ipctrace/`.
    """
    spec = importlib.util.find_spec("ipctrace.reference_programs")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("ipctrace.reference_programs is missing: reinstall ipctrace")
    return Path(next(iter(spec.submodule_search_locations))).resolve()


PROGRAMS_DIR = _programs_dir()
BUILTIN_DIR = PROGRAMS_DIR / "scenarios"


def cache_path(folder: Path, what: str = "list") -> Path:
    """Where `what` of `folder`'s scenarios is kept (the rows, or a file's data): its `__pycache__/`, or under
    the pycache prefix."""
    name = f"{what}.{sys.implementation.cache_tag}.marshal"
    if sys.pycache_prefix:
        return Path(sys.pycache_prefix, *folder.resolve().parts[1:], name)
    return folder / "__pycache__" / name


def _stamp(folder: Path) -> Stamp | None:
    """What the cached rows depend on now (None: the folder cannot be read, so nothing is cached)."""
    here = Path(__file__).parent
    try:
        files = sorted(Path(e.path) for e in os.scandir(folder) if e.name.endswith(".toml"))
        stats = [(path.name, path.stat()) for path in [*files, *(here / name for name in _READERS)]]
    except OSError:
        return None
    return tuple((name, st.st_size, st.st_mtime_ns) for name, st in stats)


def _read_cache(path: Path, stamp: Stamp, kind: type) -> Any:
    """What the cache at `path` holds, when it was made from files stamped `stamp` (else None)."""
    try:
        kept = marshal.loads(path.read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        return None
    if not isinstance(kept, tuple) or len(kept) != 3 or kept[:2] != (_FORMAT, stamp) or not isinstance(kept[2], kind):
        return None
    return kept[2]


def _write_cache(path: Path, stamp: Stamp, value: list[Row] | dict[str, Any]) -> None:
    """Write the cache whole (a temporary file renamed); a folder that cannot be written keeps no cache."""
    if sys.dont_write_bytecode:
        return
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(marshal.dumps((_FORMAT, stamp, value)))
        os.replace(tmp, path)
    except (OSError, ValueError):  # ValueError: a value marshal cannot write (a TOML date)
        tmp.unlink(missing_ok=True)


def scenario_rows(
    read: Callable[[Path], list[Row]], folder: Path = BUILTIN_DIR, cache: Path | None = None
) -> list[Row]:
    """The rows of `ipctrace list` for the scenario files in `folder`: kept ones while nothing changed, else
    `read(folder)`'s (`scenarios.list_rows`: a broken file is its ScenarioError), kept for the next time."""
    cache = cache or cache_path(folder)
    stamp = _stamp(folder)
    if stamp is not None and (rows := _read_cache(cache, stamp, list)) is not None:
        return rows
    rows = read(folder)
    if stamp is not None and stamp == _stamp(folder):  # unchanged while it was read
        _write_cache(cache, stamp, rows)
    return rows


def _file_stamp(path: Path) -> Stamp | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return ((path.name, st.st_size, st.st_mtime_ns),)


def scenario_data(path: Path, parse: Callable[[Path], dict[str, Any]]) -> dict[str, Any]:
    """A course example's file as `parse` reads it (TOML to a table), kept while the file is unchanged.

    Only the course examples' own folder is cached: a user's scenario file is read each time.
    """
    if path.parent.resolve() != BUILTIN_DIR:
        return parse(path)
    cache = cache_path(BUILTIN_DIR, path.name)
    stamp = _file_stamp(path)
    if stamp is not None and (data := _read_cache(cache, stamp, dict)) is not None:
        return data
    data = parse(path)
    if stamp is not None and stamp == _file_stamp(path):
        _write_cache(cache, stamp, data)
    return data
