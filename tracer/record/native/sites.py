"""Call sites of the native recorder's records: return addresses turned into source file, line and function.

The library stores the return address of each intercepted call and, in each log, the executable lines of
/proc/self/maps (FORMAT.md). An address is found in the maps (object file and offset in it), the offset
is turned into the object's own virtual address (its ELF program headers), and `addr2line` (binutils,
installed with gcc) names the line of the call, one run per object file for all its addresses. Objects
built without `-g`, or a missing addr2line, leave a call without a site: nothing is guessed.
"""

from __future__ import annotations

import bisect
import shutil
import struct
import subprocess
from collections import defaultdict
from typing import Any

Mapping = tuple[int, int, int, str]  # start, end, offset in the file, path


def parse_maps(text: str) -> list[Mapping]:
    """The file-backed lines of /proc/self/maps text, sorted by start address."""
    out = []
    for line in text.splitlines():
        fields = line.split(None, 5)
        if len(fields) < 6 or not fields[5].startswith("/"):
            continue
        start, _, end = fields[0].partition("-")
        try:
            out.append((int(start, 16), int(end, 16), int(fields[2], 16), fields[5].strip()))
        except ValueError:
            continue
    return sorted(out)


def locate(maps: list[Mapping], starts: list[int], address: int) -> tuple[str, int] | None:
    """(object file, offset in the file) of an address, from a log's maps (`starts`: their start addresses)."""
    i = bisect.bisect_right(starts, address) - 1
    if i < 0:
        return None
    start, end, offset, path = maps[i]
    return (path, address - start + offset) if address < end else None


def _to_vaddr(path: str) -> Any:
    """A function from file offset to the object's virtual address (ELF64 LOAD segments), or None."""
    try:
        with open(path, "rb") as f:
            head = f.read(64)
            if head[:4] != b"\x7fELF" or head[4] != 2:
                return None
            (phoff,) = struct.unpack_from("<Q", head, 32)
            phentsize, phnum = struct.unpack_from("<HH", head, 54)
            f.seek(phoff)
            table = f.read(phentsize * phnum)
    except OSError:
        return None
    loads = []
    for i in range(phnum):
        p_type, _flags, p_offset, p_vaddr, _paddr, p_filesz = struct.unpack_from("<IIQQQQ", table, i * phentsize)
        if p_type == 1:  # PT_LOAD
            loads.append((p_offset, p_offset + p_filesz, p_vaddr))

    def convert(offset: int) -> int | None:
        for lo, hi, vaddr in loads:
            if lo <= offset < hi:
                return offset - lo + vaddr
        return None

    return convert


def _addr2line(tool: str, path: str, addresses: list[int]) -> dict[int, tuple[str, int, str]]:
    try:
        done = subprocess.run(
            [tool, "-f", "-C", "-e", path, *(hex(a) for a in addresses)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return {}
    lines = done.stdout.splitlines()
    out = {}
    for k, address in enumerate(addresses):
        if 2 * k + 1 >= len(lines):
            break
        function, where = lines[2 * k], lines[2 * k + 1]
        file, _, line = where.rpartition(":")
        number = line.split()[0] if line else ""
        if file and file != "??" and number.isdigit() and int(number) > 0:
            out[address] = (file, int(number), "" if function == "??" else function)
    return out


def resolve(records: list[dict[str, Any]]) -> None:
    """Give each record with a `native_site` ([object file, offset]) its `site` [file, line, function]."""
    wanted: dict[str, set[int]] = defaultdict(set)
    for r in records:
        where = r.get("native_site")
        if where is not None:
            wanted[where[0]].add(where[1])
    tool = shutil.which("addr2line")
    found: dict[tuple[str, int], tuple[str, int, str]] = {}
    for path, offsets in wanted.items():
        convert = _to_vaddr(path) if tool else None
        if convert is None or tool is None:
            continue
        by_vaddr = {v: o for o in offsets if (v := convert(o - 1)) is not None}  # the call, not the return
        lines = _addr2line(tool, path, sorted(by_vaddr))
        found.update({(path, by_vaddr[v]): site for v, site in lines.items()})
    for r in records:
        where = r.pop("native_site", None)
        if where is not None and (site := found.get((where[0], where[1]))) is not None:
            r["site"] = list(site)
