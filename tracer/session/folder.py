"""The run's folder: owned by one run at a time, and its results replaced only by a run that made its own.

`claim()` takes a lock on the folder (a second run into it is refused with a sentence naming the run
that has it), then moves the previous run's results into `.previous/` inside it. The run writes its
files under their real names and in its real folder — the paths in the trace (a Unix socket's path,
a program's `--dir`) name where the files are. `keep()` discards the previous results once this run
has written its trace (an interrupted run moves them to `previous-run/` instead); `abandon()` removes
what this run made and puts the previous results back, so a run that fails to start leaves the folder
as it found it. A run killed outright (SIGKILL) leaves
`.previous/` behind; the next run into the folder puts it back unless a trace was written after it.

Files are written whole or not at all under their final name (`write_whole`): a full disk leaves a
file named `X.partial` or nothing, never a cut file that looks complete. While the run goes, the
folder holds `RESERVE_BYTES` of disk (`.ipctrace-reserve`), given back just before the trace is
written: when the programs or the recorder fill the disk, there is still room for their trace.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
from pathlib import Path

from ipctrace.scenarios import Scenario
from ipctrace.session.results import RunError

ASIDE = ".previous"  # the previous run's results, while this run makes its own
PREVIOUS_KEPT = "previous-run"  # the results an interrupted run replaced, kept for the user
LOCK = ".ipctrace-run"  # locked (flock) by the run that owns the folder; holds its pid
DRAWING = ".drawing"  # diagrams being drawn, moved into place once each file is whole
RESERVE = ".ipctrace-reserve"  # room kept on the disk while the run goes, given back for its trace
RESERVE_BYTES = 1024 * 1024
TRACE = "trace.jsonl"

#: What a run leaves in its folder (with the scenario's generated and compared files).
RESULT_NAMES = (TRACE, "capture.pcap", "timeline.txt", "summary.json", "events.raw.jsonl", "recording", "echomsg.txt")
RESULT_PATTERNS = ("*.out", "*.partial", "sequence*", "received_file.txt", "*.tmp")


class DiskFull(RunError):
    """The output folder's disk is full (or another write failed); the message says what was kept."""


def disk_sentence(path: Path, exc: OSError) -> str:
    """The start of a sentence about a failed write to `path`."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"the disk holding {path.parent} is full ({exc.strerror})"
    return f"cannot write {path} ({exc.strerror or exc})"


def output_folder_sentence(folder: Path, exc: OSError) -> str:
    """The sentence for an output folder that cannot be made or written to, with what to do instead."""
    return f"cannot write to the output folder {folder} ({exc.strerror}): choose another one with --output DIR."


def write_whole(path: Path, data: bytes | str) -> None:
    """Write `path` under a temporary name and rename it: a reader never sees half a file."""
    partial = path.with_name(path.name + ".partial")
    try:
        with open(partial, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
        partial.replace(path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise DiskFull(f"{disk_sentence(path, exc)}: {path.name} was not written.") from None


def generate_file(path: Path, size: int) -> None:
    """Deterministic text of `size` bytes (several datagrams' worth for the file transfers)."""
    line = b"ipctrace test data: the quick brown fox jumps over the lazy dog 0123456789\n"
    data = bytearray()
    n = 0
    while len(data) < size:
        data += b"%05d " % n + line
        n += 1
    write_whole(path, bytes(data[:size]))


class RunFolder:
    """One run's hold on its output folder (see the module's docstring)."""

    def __init__(self, path: Path, scenario: Scenario) -> None:
        self.path = path
        self.scenario = scenario
        self._lock_fd: int | None = None
        self._lock_made = False  # this run created the lock file (a refused run removes it again)
        self._made: list[Path] = []  # folders this run created, innermost last

    # -- owning the folder -----------------------------------------------------------------------------

    def claim(self) -> None:
        """Lock the folder, set the previous results aside, write the scenario's generated files."""
        try:
            self._make_folders()
            self._lock()
            self._recover()
            self._set_aside()
            self._reserve()
            for name, size in self.scenario.generate.items():
                generate_file(self.path / name, size)
        except OSError as exc:
            self.abandon()
            raise RunError(output_folder_sentence(self.path, exc)) from None
        except RunError:
            self.abandon()
            raise

    def _make_folders(self) -> None:
        missing = [p for p in (self.path, *self.path.parents) if not p.exists()]
        self.path.mkdir(parents=True, exist_ok=True)
        self._made = missing[::-1]

    def _lock(self) -> None:
        self._lock_made = not (self.path / LOCK).exists()
        fd = os.open(self.path / LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            self._lock_made = False
            raise RunError(
                f"the folder {self.path} is in use by another ipctrace run (pid {holder}): wait for it to end, "
                "or give this run a folder of its own with --name NAME or --output DIR."
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._lock_fd = fd

    def _reserve(self) -> None:
        """Hold some disk for the trace; a disk without even that much free refuses the run."""
        fd = os.open(self.path / RESERVE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            os.posix_fallocate(fd, 0, RESERVE_BYTES)
        except OSError as exc:
            (self.path / RESERVE).unlink(missing_ok=True)
            raise DiskFull(
                f"{disk_sentence(self.path / RESERVE, exc)}: there is not even {RESERVE_BYTES // 1024} KiB free for "
                "the run's trace; free some space, or choose another folder with --output DIR."
            ) from None
        finally:
            os.close(fd)

    def give_back_reserve(self) -> None:
        """The room held for the trace, given back to the disk just before the trace is written."""
        (self.path / RESERVE).unlink(missing_ok=True)

    def _results(self, folder: Path) -> list[Path]:
        """The entries of `folder` that a run writes (never the lock, never other files of the user's)."""
        names = {*RESULT_NAMES, *self.scenario.generate, *(f for pair in self.scenario.same_files for f in pair)}
        found = {folder / n for n in names if (folder / n).exists() or (folder / n).is_symlink()}
        for pattern in RESULT_PATTERNS:
            found.update(folder.glob(pattern))
        found.update(folder.glob(DRAWING + "*"))
        found.update(folder.glob(RESERVE))
        return sorted(p for p in found if p.name not in (LOCK, ASIDE))

    def _recover(self) -> None:
        """A run into this folder was killed before it ended: the previous results go back, unless it wrote a trace."""
        aside = self.path / ASIDE
        if not aside.is_dir():
            return
        if (self.path / TRACE).exists():
            shutil.rmtree(aside)
            return
        self._put_back()

    def _set_aside(self) -> None:
        results = self._results(self.path)
        if not results:
            return
        aside = self.path / ASIDE
        aside.mkdir()
        for entry in results:
            entry.rename(aside / entry.name)

    def _put_back(self) -> None:
        for entry in self._results(self.path):
            _remove(entry)
        aside = self.path / ASIDE
        if aside.is_dir():
            for entry in aside.iterdir():
                entry.rename(self.path / entry.name)
            aside.rmdir()

    # -- letting it go ---------------------------------------------------------------------------------

    def keep(self, interrupted: bool = False) -> str | None:
        """This run wrote its own results: the previous ones go; the sentence that says so, if there were any.

        An interrupted run's partial trace does not cost the user a whole one: the previous results move
        to `previous-run/` (when that name is free), which no later run touches.
        """
        self.give_back_reserve()
        aside, said = self.path / ASIDE, None
        if aside.is_dir() and any(aside.iterdir()):
            kept = self.path / PREVIOUS_KEPT
            if interrupted and (aside / TRACE).exists() and not kept.exists():
                aside.rename(kept)
                said = f"the run this one replaced is kept in {kept}"
            else:
                said = f"this run replaced the previous run's files in {self.path}"
        shutil.rmtree(aside, ignore_errors=True)
        self._release()
        return said

    def abandon(self) -> None:
        """This run made nothing worth keeping: remove what it wrote, put the previous results back."""
        if self._lock_fd is not None:
            try:
                self._put_back()
            except OSError:
                pass  # what cannot be put back stays in .previous/, and the next run puts it back
        if self._lock_fd is not None and self._lock_made:
            (self.path / LOCK).unlink(missing_ok=True)
        self._release()
        for folder in reversed(self._made):
            try:
                folder.rmdir()
            except OSError:
                break

    def _release(self) -> None:
        if self._lock_fd is None:
            return
        os.close(self._lock_fd)
        self._lock_fd = None


def _remove(entry: Path) -> None:
    if entry.is_dir() and not entry.is_symlink():
        shutil.rmtree(entry)
    else:
        entry.unlink(missing_ok=True)
