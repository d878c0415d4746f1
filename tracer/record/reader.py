"""Reading the recorder's logs (FORMAT.md) into trace-line dicts, after a run or while it runs.

The session reads through this module only. A record that cannot be read is reported with its
file and offset, never dropped silently; a call still in progress is read as such (`"state": "in-progress"`).
"""

from __future__ import annotations

import errno as _errno
import json
import mmap
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ipctrace.record.layout as L

_RECORD = L.RECORD
#: How far after a cut-short head a reader looks for anything written: more than any record a writer
#: reserves next to it (a payload at the cap, blobs), so a real damage in the middle of a log is told apart.
TORN_WINDOW = 1 << 17
_FILE_HEADER = L.FILE_HEADER
_first_unpack = L.FIRST.unpack_from
_NOTHING = (0, 0, 0, 0)  # a head's first 8 bytes where nothing was written yet


@dataclass
class LogProblems:
    """What the logs could not give: damaged records (file, offset, why) and calls the recorder skipped."""

    damaged: list[tuple[str, int, str]] = field(default_factory=list)
    torn: list[tuple[str, int]] = field(default_factory=list)  # heads a kill cut short: calls never begun
    skipped: int = 0
    messages: list[str] = field(default_factory=list)  # the recorder's own problem records

    def sentences(self) -> list[str]:
        out = [
            f"{path}: damaged record at offset {offset} ({why}); the rest of that file is unread"
            for path, offset, why in self.damaged
        ]
        if self.skipped:
            out.append(f"the recorder could not record {self.skipped} call(s) (the calls themselves ran untouched)")
        return out


def _errname(code: int) -> str:
    return _errno.errorcode.get(code, f"errno {code}")


def _merge(obj: dict[str, Any], blob: dict[str, Any]) -> None:
    for key, value in blob.items():
        if key == "args" and isinstance(value, dict) and isinstance(obj.get("args"), dict):
            obj["args"] = {**obj["args"], **value}
        else:
            obj[key] = value


class LogFile:
    """One thread's log: read from where the last pass stopped; records seen in progress looked at again."""

    def __init__(self, path: Path, live: bool = False, stays_mapped: bool = False) -> None:
        self.path = path
        self.live = live  # read while its writer may be writing (see `_head_written`)
        self.stays_mapped = stays_mapped  # followed pass after pass: mapped once, not at every pass
        self._kept: mmap.mmap | None = None
        self.cursor = L.HEADER_SIZE
        self.pending: list[int] = []
        self.header: dict[str, int] | None = None
        self.sites: dict[int, list[Any]] = {}
        self.maps: list[tuple[int, int, int, str]] = []  # a native log's executable mappings (its maps record)
        self.starts: list[int] = []
        self.stopped = False  # a damaged record: nothing after it is read
        self.skipped = 0

    def _map(self) -> mmap.mmap | None:
        kept = self._kept
        if kept is not None:
            if self.cursor + L.HEAD <= len(kept):
                return kept
            self.close()  # read to the end of what was mapped: mapped again, in case the file grew
        try:
            with open(self.path, "rb") as f:
                if os.fstat(f.fileno()).st_size < L.HEADER_SIZE:
                    return None
                mm = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
        except (OSError, ValueError):
            return None
        if self.stays_mapped:
            self._kept = mm
        return mm

    def close(self) -> None:
        """Unmap the log if it was kept mapped between passes."""
        kept, self._kept = self._kept, None
        if kept is not None:
            kept.close()

    def _read_header(self, mm: mmap.mmap, problems: LogProblems) -> bool:
        magic, version, hsize, head, writer, pid, ppid, tid, n, created, cap, flags = _FILE_HEADER.unpack_from(mm, 0)
        if magic != L.MAGIC:
            if all(b in (0, m) for b, m in zip(magic, L.MAGIC, strict=True)):
                return False  # still being created: its writer stores the magic last, in one word
            problems.damaged.append((str(self.path), 0, "not an ipctrace log"))
            self.stopped = True
            return False
        if version != L.VERSION or hsize != L.HEADER_SIZE or head != L.HEAD:
            problems.damaged.append((str(self.path), 0, f"log format {version} is not the one this ipctrace reads"))
            self.stopped = True
            return False
        self.header = dict(pid=pid, ppid=ppid, tid=tid, n=n, created=created, cap=cap, flags=flags, writer=writer)
        return True

    def poll(self, problems: LogProblems) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(records now done, records in progress) since the last pass."""
        if self.stopped:
            return [], []
        mm = self._map()
        if mm is None:
            return [], []
        try:
            if self.header is None and not self._read_header(mm, problems):
                return [], []
            self.skipped = int.from_bytes(mm[L.SKIPPED_OFFSET : L.SKIPPED_OFFSET + 4], "little")
            done: list[dict[str, Any]] = []
            still: list[int] = []
            for pos in self.pending:
                if mm[pos + L.STATE_AT] == L.PADDING:
                    continue  # given up by the writer (an open of a regular file)
                rec = self._record(mm, pos)
                if rec is not None and rec.get("state") == "done":
                    done.append(rec)
                else:
                    still.append(pos)
            size = len(mm)
            pos = self.cursor
            while pos + L.HEAD <= size:
                first = _first_unpack(mm, pos)
                if first == _NOTHING or self.live and not _head_written(mm, pos):
                    break  # nothing here yet, or a head being written: looked at again at the next pass
                call, state, kind, length = first
                why = self._check(call, state, kind, length, pos, size)
                if why:
                    if self._torn(mm, pos, size):
                        problems.torn.append((str(self.path), pos))  # the writer died beginning a call
                    else:
                        problems.damaged.append((str(self.path), pos, why))
                    self.stopped = True
                    break
                if state != L.PADDING:
                    rec = self._record(mm, pos)
                    if rec is not None and rec.get("state") == "done":
                        done.append(rec)
                    elif rec is not None or state == L.IN_PROGRESS:
                        still.append(pos)  # in progress, or reserved and not yet begun: looked at again
                pos += length
            self.cursor = pos
            self.pending = still
            in_progress = [r for r in (self._record(mm, p) for p in still) if r is not None]
            return [r for r in done if "site_record" not in r], in_progress
        finally:
            if mm is not self._kept:
                mm.close()

    @staticmethod
    def _torn(mm: mmap.mmap, pos: int, size: int) -> bool:
        """A head cut short by a kill while it was being stored: nothing at all was written after it."""
        end = min(size, pos + L.HEAD + TORN_WINDOW)
        return mm[pos + 64 : end].count(0) == end - pos - 64

    @staticmethod
    def _check(call: int, state: int, kind: int, length: int, pos: int, size: int) -> str:
        if length < L.HEAD or length % 8 or pos + length > size:
            return f"length {length}"
        if state not in (L.IN_PROGRESS, L.DONE, L.PADDING):
            return f"state {state}"
        if state != L.PADDING and call not in L.CALL_OF_ID and call not in (L.SITE, L.PROBLEM):
            return f"unknown call id {call}"
        if kind >= len(L.KINDS):
            return f"unknown endpoint kind {kind}"
        return ""

    def _record(self, mm: mmap.mmap, pos: int) -> dict[str, Any] | None:
        (
            call,
            state,
            kind,
            length,
            t0,
            fd,
            flags,
            site,
            dev,
            ino,
            asked,
            data_len,
            args_len,
            post_len,
            t1,
            res,
            size,
            err,
            post_cap,
        ) = _RECORD.unpack_from(mm, pos)
        if t0 == 0 or call == L.SITE and state != L.DONE:
            return None
        hdr = self.header or {}
        at = pos + L.HEAD
        pre = _blob(mm, at, args_len)
        if call == L.SITE:
            self.sites[res] = pre.get("site") or pre.get("maps") or []
            if isinstance(pre.get("maps"), str):
                from ipctrace.record.native.sites import parse_maps

                self.maps = parse_maps(pre["maps"])
                self.starts = [m[0] for m in self.maps]
            return {"site_record": res, "state": "done"}
        if call == L.PROBLEM:
            return (
                {"problem": pre.get("problem", ""), "pid": hdr.get("pid", 0), "state": "done"}
                if state == L.DONE
                else None
            )
        done = state == L.DONE
        obj: dict[str, Any] = {
            "pid": hdr.get("pid", 0),
            "ppid": hdr.get("ppid", 0),
            "tid": hdr.get("tid", 0),
            "t0": t0,
            "t1": t1 if done else None,
            "call": L.CALL_OF_ID[call],
            "state": "done" if done else "in-progress",
        }
        if flags & L.F_FD:
            obj["fd"] = fd
        if kind:
            obj["ep"] = [dev, ino, L.KINDS[kind]]
        if flags & L.F_ASKED:
            obj["args"] = {"n": asked}
        data_at = at + args_len + post_cap
        if data_len > length - L.HEAD - args_len - post_cap:
            data_len = 0
        if done:
            if flags & L.F_POINT:
                obj["t1"] = t0
            if err:
                obj["err"] = _errname(err) if err > 0 else L.exception_name(err)

            elif flags & L.F_RES:
                obj["res"] = res
            if flags & L.F_SIZE and err == 0:
                obj["size"] = size
                obj["data"] = bytes(mm[data_at : data_at + min(data_len, max(size, 0))])
        else:
            obj["blocked"] = True
            if data_len:  # a send in progress: what it was sending
                obj["size"] = asked
                obj["data"] = bytes(mm[data_at : data_at + data_len])
        _merge(obj, pre)
        if done and post_len:
            _merge(obj, _blob(mm, at + args_len, min(post_len, post_cap)))
        names = [n for bit, n in ((L.F_CAPPED, "capped"), (L.F_PEEK, "peek")) if flags & bit]
        if names:
            obj["flags"] = names
        if site and hdr.get("flags", 0) & L.HEADER_SITE_IS_ADDRESS:
            if self.maps:  # a return address: read_logs names its source line (record/native/sites.py)
                from ipctrace.record.native.sites import locate

                where = locate(self.maps, self.starts, site)
                if where is not None:
                    obj["native_site"] = list(where)
        elif site and site in self.sites:
            obj["site"] = self.sites[site]
        return obj


def _blob(mm: mmap.mmap, at: int, n: int) -> dict[str, Any]:
    if not n:
        return {}
    try:
        value = json.loads(bytes(mm[at : at + n]))
    except ValueError:
        return {"blob_damaged": True}
    return value if isinstance(value, dict) else {}


def _head_written(mm: mmap.mmap, pos: int) -> bool:
    """Is the head at `pos` whole? Its t0 is stored after the rest of the head (the Python recorder packs the
    head's fields in order, byte by byte; the native one stores t0 last), and its top byte, non-zero for any
    time since 1972, last. A head read half-written would look damaged, and a damaged log is not read on."""
    return mm[pos + L.BEGIN_AT + 7] != 0


class LogFollower:
    """Every log of a folder, read while a run goes on: each pass gives what is new since the last.

    `live`: its writers may be writing while it reads (the supervisor's follower); a record whose head is
    not yet whole is looked at again at the next pass, not taken for damage.
    """

    def __init__(self, folder: str | Path, live: bool = False, most_mapped: int = 0) -> None:
        self.folder = Path(folder)
        self.live = live
        self.most_mapped = most_mapped  # how many logs at most stay mapped between passes (each holds a descriptor)
        self.files: dict[str, LogFile] = {}
        self.problems = LogProblems()
        self.messages_seen = 0

    def poll(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(records done since the last pass, every record now in progress), done ones in time order."""
        try:
            names = sorted(n for n in os.listdir(self.folder) if n.endswith(".ipclog"))
        except OSError:
            names = []
        for name in names:
            if name not in self.files:
                stays = len(self.files) < self.most_mapped
                self.files[name] = LogFile(self.folder / name, live=self.live, stays_mapped=stays)
        done: list[dict[str, Any]] = []
        busy: list[dict[str, Any]] = []
        for log in self.files.values():
            d, b = log.poll(self.problems)
            done += d
            busy += b
        self.problems.skipped = sum(f.skipped for f in self.files.values())
        kept = []
        for rec in done:
            if "problem" in rec:
                self.problems.messages.append(f"pid {rec['pid']}: {rec['problem']}")
            else:
                kept.append(rec)
        kept.sort(key=lambda r: r["t0"])
        return kept, busy

    def close(self) -> None:
        """Unmap the logs kept mapped between passes."""
        for log in self.files.values():
            log.close()


def read_logs(folder: str | Path) -> tuple[list[dict[str, Any]], LogProblems]:
    """Every record of a finished run, calls still in progress included, in time order."""
    follower = LogFollower(folder)
    done, busy = follower.poll()
    records = sorted(done + busy, key=lambda r: r["t0"])
    if any("native_site" in r for r in records):
        from ipctrace.record.native.sites import resolve

        resolve(records)
    return records, follower.problems
