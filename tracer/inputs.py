"""What users hand to ipctrace, checked before anything is done with it: numbers, names and files.

A leaf module shared by the stages that read user input (scenario files, trace files, goldens, the
command line). Each check either returns the value or raises `InputError` with the one sentence to
show: a number is finite and in its range, a name is one folder or file name (never a path), and a
file is a regular file read with a bound — a device, a FIFO with no writer or a folder is named as
such instead of being read.
"""

from __future__ import annotations

import math
import os
import stat
from pathlib import Path
from typing import BinaryIO

from ipctrace.errors import IpctraceError

#: The longest name ipctrace accepts for a scenario, a role or a run's folder.
NAME_MAX = 100
_NAME_PUNCTUATION = "._-+"


class InputError(IpctraceError):
    """A number, name or file given by the user that ipctrace cannot use; the message says why."""


def check_number(
    value: object, what: str, low: float, high: float, *, low_inclusive: bool = False, unit: str = ""
) -> float:
    """`value` as a float if it is a finite number in (low, high] (or [low, high]); else one sentence."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{what} must be a number, not {value!r}.")
    number = float(value)
    above = number >= low if low_inclusive else number > low
    if math.isfinite(number) and above and number <= high:
        return number
    bound = "at least" if low_inclusive else "above"
    units = f" {unit}" if unit else ""
    raise InputError(f"{what} is {value!r}: give a number {bound} {low:g} and at most {high:g}{units}.")


def check_count(value: object, what: str, low: int, high: int, *, unit: str = "") -> int:
    """`value` as an int if it is a whole number in [low, high]; else one sentence."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"{what} must be a whole number, not {value!r}.")
    if low <= value <= high:
        return value
    units = f" {unit}" if unit else ""
    raise InputError(f"{what} is {value}: give a whole number from {low:,} to {high:,}{units}.")


def name_problem(value: object) -> str | None:
    """Why `value` is not a plain name (one path component of letters, digits and . _ - +), or None."""
    if not isinstance(value, str):
        return f"{value!r} is not a string"
    if not value:
        return "it is empty"
    if len(value) > NAME_MAX:
        return f"it is longer than {NAME_MAX} characters"
    if value.startswith(".") or value.startswith("-"):
        return f"{value!r} starts with {value[0]!r}"
    bad = sorted({c for c in value if not (c.isalnum() or c in _NAME_PUNCTUATION)})
    if bad:
        shown = ", ".join(repr(c) for c in bad[:5])
        return f"{value!r} has {shown}, which a name cannot hold (it would be a path or an option)"
    return None


def check_name(value: object, what: str) -> str:
    """`value` if it can name a folder or file inside the run's folder; else one sentence."""
    problem = name_problem(value)
    if problem is None:
        assert isinstance(value, str)
        return value
    raise InputError(
        f"{what} cannot be used: {problem}; a name is one folder or file name made of letters, digits "
        f"and {' '.join(_NAME_PUNCTUATION)}, not starting with '.' or '-'."
    )


def safe_name(text: str, fallback: str = "program") -> str:
    """A name made from any text (a script's stem, a module path): other characters become `_`."""
    cleaned = "".join(c if c.isalnum() or c in _NAME_PUNCTUATION else "_" for c in text)
    cleaned = "_".join(part for part in cleaned.split("_") if part)  # no runs of _, none at the ends
    cleaned = cleaned.lstrip(".-_+")[:NAME_MAX].rstrip(".")
    return cleaned or fallback


#: Interpreter options that take the next argument as their value (`python3 -X dev prog.py`).
_PYTHON_OPTIONS_WITH_VALUE = ("-X", "-W", "--check-hash-based-pycs")


def _is_python(program: str) -> bool:
    name = Path(program).name
    version = name.removeprefix("python") if name.startswith("python") else name.removeprefix("pypy")
    return version != name and all(c.isdigit() or c == "." for c in version)


def _python_run_name(args: list[str]) -> str:
    """What a Python command line runs, as a name: `prog` for prog.py, `pkg.mod` for -m, `python-c` for -c."""
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "-c" or (arg.startswith("-c") and not arg.startswith("--")):
            return "python-c"
        if arg == "-m" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("-m") and len(arg) > 2:
            return arg[2:]
        if arg in _PYTHON_OPTIONS_WITH_VALUE:
            i += 2
            continue
        if not arg.startswith("-") or arg == "-":
            return "python-stdin" if arg == "-" else Path(arg).stem
        i += 1
    return "python"


def adhoc_name(command: list[str]) -> str:
    """The folder name of an ad-hoc run: the script's name, the module of `-m`, `python-c` for `-c` code.

    `python3 my_program.py` → `my_program`, `python3 -m http.server` → `http.server`, `./my_server 8080` →
    `my_server`; whatever the command, the result is a plain name (`safe_name`).
    """
    program = command[0]
    if _is_python(program):
        return safe_name(_python_run_name(command[1:]), "python")
    return safe_name(Path(program).name, "program")


def _kind_of(mode: int) -> str:
    kinds = (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISSOCK, "a Unix socket"),
    )
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def open_user_file(path: str | Path, what: str) -> BinaryIO:
    """A regular file opened for reading; a missing file, a device, a FIFO or a folder is one sentence.

    The file is opened without blocking (a FIFO with no writer would wait forever) and checked again
    once open, so what is read is what was checked.
    """
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise InputError(f"{path}: no such {what}.") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror}).") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise InputError(f"{path} is {_kind_of(mode)}, not a {what}: give the path of a {what}.")
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def read_user_file(path: str | Path, what: str, limit: int) -> bytes:
    """The whole of a regular file of at most `limit` bytes; anything else is one sentence."""
    with open_user_file(path, what) as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise InputError(f"{path} is larger than {limit:,} bytes, which is too large for a {what}.")
    return data


#: The first bytes of the compressed files a user may hand over instead of the file inside, and what uncompresses them.
_COMPRESSED = ((b"\x1f\x8b", "gzip", "gunzip"), (b"\xfd7zXZ\x00", "xz", "unxz"), (b"BZh", "bzip2", "bunzip2"))


def compressed_problem(path: str | Path, start: bytes, what: str) -> str | None:
    """The sentence for a compressed file (a gzip of a trace) given as a `what`, from its first bytes; else None."""
    for magic, kind, tool in _COMPRESSED:
        if start.startswith(magic):
            return (
                f"{path} is {kind}-compressed, so it cannot be read as a {what}: uncompress it first ({tool} {path})."
            )
    return None


def read_user_text(path: str | Path, what: str, limit: int) -> str:
    """A regular UTF-8 text file of at most `limit` bytes; a binary file is one sentence."""
    data = read_user_file(path, what, limit)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        compressed = compressed_problem(path, data, what)
        raise InputError(
            compressed
            or f"{path} is not UTF-8 text (byte {exc.start} is {data[exc.start]:#04x}), so it cannot be a {what}."
        ) from None
