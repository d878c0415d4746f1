"""Each role's output, shown as it happens and kept in `ROLE.out`.

A line still being written (a prompt such as `Client: `) waits until it is complete or until the
program is given its input, so lines of two programs never run into each other. The copy on disk is
written as `ROLE.out.partial` and renamed to `ROLE.out` once the role's output has ended and all of it
is on disk: a file named `ROLE.out` is always whole. When the disk fills up, the file keeps its
`.partial` name, `cut` says how many bytes it holds, and `disk_full` tells the supervisor to stop.
"""

from __future__ import annotations

import os
import select
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

from ipctrace.unrecorded import unread


def output_name(role: str) -> str:
    """The file a role's output goes to (a child role `server/child#1` has no `/` in it)."""
    return f"{role.replace('/', '_')}.out"


class _RoleFile:
    """One role's output file, written unbuffered so that a full disk is seen at the write that failed."""

    def __init__(self, final: Path) -> None:
        self.final = final
        self.partial = final.with_name(final.name + ".partial")
        self.fd: int | None = os.open(self.partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
        self.written = 0
        self.failed: OSError | None = None

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view and self.fd is not None:
            try:
                n = os.write(self.fd, view)
            except OSError as exc:
                self.failed = exc
                self.close()
                return
            self.written += n
            view = view[n:]

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def finish(self) -> Path:
        """Close, and give the file its final name if all of the output is in it."""
        self.close()
        if self.failed is None:
            self.partial.replace(self.final)
            return self.final
        return self.partial


class OutputPrinter:
    """Shows each role's output as whole lines prefixed with its name, and keeps a copy per role."""

    def __init__(self, outdir: Path, echo: IO[str] | None) -> None:
        self.outdir = outdir
        self.echo = echo
        self.lock = threading.Lock()
        self.pending: dict[str, str] = {}
        self.files: dict[str, _RoleFile] = {}
        self.disk_full: OSError | None = None  # the first write that failed
        self.kept: dict[str, Path] = {}  # role -> its output file, once closed
        #: held by a pump from the read of a chunk until the chunk is fed: whoever holds it sees every byte
        #: either still in its pipe or fed already, never in between
        self.taken = threading.Condition()
        self.on_output: Callable[[], None] | None = None  # called after each chunk and at the end: the supervisor looks

    def feed(self, role: str, data: bytes, typed: bool = False) -> None:
        """Output of `role`; `typed` marks scripted input shown the way a terminal echoes it."""
        with self.lock:
            if not typed:
                self._keep(role, data)
            if self.echo is None:
                return
            text = self.pending.pop(role, "") + data.decode("utf-8", "replace")
            complete, newline, partial = text.rpartition("\n")
            if typed and partial:
                complete, partial = text.removesuffix("\n"), ""
            if complete or newline:
                self._show("".join(f"[{role}] {line}\n" for line in complete.split("\n")))
            if partial:
                self.pending[role] = partial

    def _keep(self, role: str, data: bytes) -> None:
        file = self.files.get(role)
        if file is None:
            try:
                file = self.files[role] = _RoleFile(self.outdir / output_name(role))
            except OSError as exc:
                self.disk_full = self.disk_full or exc
                return
        if file.fd is None:
            return  # cut short already; the rest is shown, not kept
        file.write(data)
        if file.failed is not None and self.disk_full is None:
            self.disk_full = file.failed

    def cut(self) -> dict[str, int]:
        """Roles whose output file was cut short (the disk filled up), and how many bytes it holds."""
        return {role: f.written for role, f in self.files.items() if f.failed is not None}

    def wait_taken(self, fds: Sequence[int], timeout: float) -> None:
        """Until the pumps have fed every byte waiting in these pipes (at most `timeout` seconds): a prompt the
        program wrote before asking for input is shown before the line typed after it."""
        deadline = time.monotonic() + timeout
        with self.taken:
            while any(unread(fd) for fd in fds):  # None: that pipe is closed, nothing waits in it
                left = deadline - time.monotonic()
                if left <= 0 or not self.taken.wait(left):
                    return

    def pump(self, role: str, stream: IO[bytes]) -> threading.Thread:
        def run() -> None:
            fd = stream.fileno()
            readable = select.poll()
            readable.register(fd, select.POLLIN)
            while True:
                try:
                    readable.poll()  # wait without taking: the bytes stay countable in the pipe
                except OSError:
                    break
                with self.taken:
                    try:
                        chunk = os.read(fd, 65536)
                    except OSError:
                        chunk = b""
                    if chunk:
                        self.feed(role, chunk)
                    self.taken.notify_all()
                if self.on_output is not None:  # a chunk, or the end of the stream (its process has ended, most often)
                    self.on_output()
                if not chunk:
                    break
            stream.close()

        thread = threading.Thread(target=run, name=f"ipctrace-output-{role}", daemon=True)
        thread.start()
        return thread

    def close(self) -> None:
        with self.lock:
            for role, f in self.files.items():
                try:
                    self.kept[role] = f.finish()
                except OSError:
                    self.kept[role] = f.partial
            for role, partial in self.pending.items():
                self._show(f"[{role}] {partial}\n")
            self.pending.clear()

    def _show(self, text: str) -> None:
        """Echo to the terminal; if nobody reads it any more (`| head`), stop echoing, keep recording."""
        if self.echo is None:
            return
        try:
            self.echo.write(text)
            self.echo.flush()
        except (BrokenPipeError, ValueError, OSError):
            self.echo = None
