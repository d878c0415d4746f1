"""End-of-file: reads that saw EOF, each tied to the release of the writing end that caused it.

The same "last release before" rule also names the call behind a TCP FIN or
RST, so `packets` uses it too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ipctrace.calls import RECEIVES
from ipctrace.link.channels import Direction
from ipctrace.link.fds import Held, Release
from ipctrace.link.helpers import done_at
from ipctrace.link.model import ChannelId, EofLink
from ipctrace.model import Event, Inode, Nanos


def is_eof_read(event: Event) -> bool:
    """A read that returned no bytes because the other side is gone (not a zero-length request)."""
    if event.call not in RECEIVES or event.failed or event.blocked or event.t1 is None:
        return False
    asked = event.args.get("n")
    got = event.size if event.size is not None else event.result
    return got == 0 and asked != 0


def release_before(releases: Mapping[Inode, Sequence[Release]], inode: Inode, t: Nanos, pipe: bool) -> Release | None:
    """The last release of a writing end of `inode` at or before `t`: the one that made the EOF."""
    best = None
    for rel in releases.get(inode, ()):
        if rel.time > t:
            continue
        if (rel.held is not Held.WRITE) if pipe else not rel.ends_writing:
            continue
        if best is None or rel.time >= best.time:
            best = rel
    return best


def eofs_of(
    cid: ChannelId,
    d: Direction,
    eof_reads: Mapping[Inode, Sequence[Event]],
    releases: Mapping[Inode, Sequence[Release]],
    pipe: bool,
) -> list[EofLink]:
    """Each EOF read on the channel's reading end, tied to the last release of its writing end before it."""
    if d.src is None or d.dst is None:
        return []
    out = []
    for r in eof_reads.get(d.dst, ()):
        rel = release_before(releases, d.src, done_at(r), pipe)
        if rel is not None:
            out.append(EofLink(cid, rel.key, r.key))
    return out
