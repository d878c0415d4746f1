"""End-of-file: reads that saw EOF, each tied to the release of the writing end that caused it.

The same "last release before" rule also names the call behind a TCP FIN or
RST, so `packets` uses it too.
"""

from __future__ import annotations

from collections.abc import Mapping

from ipctrace.link.channels import _Direction
from ipctrace.link.fds import _Release
from ipctrace.link.helpers import _done
from ipctrace.link.model import EofLink, Inode
from ipctrace.model import RECV_CALLS, Event, Nanos


def _is_eof_read(event: Event) -> bool:
    """A read that returned no bytes because the other side is gone (not a zero-length request)."""
    if event.call not in RECV_CALLS or event.failed or event.blocked or event.t1 is None:
        return False
    asked = event.args.get("n") if isinstance(event.args, Mapping) else None
    got = event.size if event.size is not None else event.result
    return got == 0 and asked != 0


def _release_before(releases: Mapping[Inode, list[_Release]], inode: Inode, t: Nanos, pipe: bool) -> _Release | None:
    """The last release of a writing end of `inode` at or before `t`: the one that made the EOF."""
    best = None
    for rel in releases.get(inode, ()):
        if rel.time > t:
            continue
        if pipe and rel.end != "w":
            continue
        if not pipe and rel.end not in ("", "shut"):
            continue
        if best is None or rel.time >= best.time:
            best = rel
    return best


def _eofs(
    cid: str,
    d: _Direction,
    eof_reads: Mapping[Inode, list[Event]],
    releases: Mapping[Inode, list[_Release]],
    pipe: bool,
) -> list[EofLink]:
    """Each EOF read on the channel's reading end, tied to the last release of its writing end before it."""
    if d.src is None or d.dst is None:
        return []
    out = []
    for r in eof_reads.get(d.dst, []):
        rel = _release_before(releases, d.src, _done(r), pipe)
        if rel is not None:
            out.append(EofLink(cid, rel.key, r.key))
    return out
