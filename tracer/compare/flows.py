"""Messages that differ between two runs, as sentences: changed, sent to the wrong peer, read by another process.

Flows are compared as multisets (which message went first between processes
is accidental). A missing and an extra message that share a sender and its
bytes, or the same calls, are one changed message. Each side is named in its
own run's terms: `main (write#2, now write#3)` when the call is the second
write in the expected run and the third in this one.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Hashable, Sequence

from ipctrace.compare.describe import describe_flow
from ipctrace.compare.form import CanonicalFlow
from ipctrace.compare.text import quote

_Key = Callable[[CanonicalFlow], Hashable]

#: How a missing message and an extra one are recognised as the same message, most telling first.
_SAME_MESSAGE: tuple[_Key, ...] = (
    # the same bytes from the same sender, read elsewhere: sent to the wrong peer, or read by another process
    lambda f: (f.sender, f.data, f.size),
    # the same send and receive, other bytes: a changed message
    lambda f: (f.channel, f.sender, f.send, f.receiver, f.recv),
    lambda f: (f.channel, f.sender, f.send),
    # between the same two processes on the same channel, by other calls: a changed message there
    lambda f: (f.channel, f.sender, f.receiver),
)


def flow_differences(a: Sequence[CanonicalFlow], b: Sequence[CanonicalFlow]) -> list[str]:
    ca, cb = Counter(a), Counter(b)
    want = list((ca - cb).elements())
    got = list((cb - ca).elements())
    out = []
    taken: set[int] = set()  # indices into got already paired
    for key in _SAME_MESSAGE:
        spots: dict[Hashable, deque[int]] = {}
        for n, y in enumerate(got):
            if n not in taken:
                spots.setdefault(key(y), deque()).append(n)
        left = []
        for x in want:
            queue = spots.get(key(x))
            if queue:
                n = queue.popleft()
                taken.add(n)
                out.append(_change(x, got[n]))
            else:
                left.append(x)
        want = left
    out += [f"expected message {describe_flow(x)}; it did not happen" for x in want]
    out += [f"unexpected message {describe_flow(y)}" for n, y in enumerate(got) if n not in taken]
    return out


def _sender(x: CanonicalFlow, y: CanonicalFlow) -> str:
    if not x.sender:
        return "an untraced sender"
    now = f", now {y.send}" if y.sender == x.sender and y.send != x.send else ""
    return f"{x.sender} ({x.send}{now})"


def _reader(f: CanonicalFlow, now: CanonicalFlow | None = None) -> str:
    if not f.receiver:
        return "nobody (never read)"
    later = f", now {now.recv}" if now is not None and now.receiver == f.receiver and now.recv != f.recv else ""
    return f"{f.receiver} ({f.recv}{later})"


def _change(x: CanonicalFlow, y: CanonicalFlow) -> str:
    sender = _sender(x, y)
    if (x.channel, x.receiver, x.sender) == (y.channel, y.receiver, y.sender):
        where = f"from {sender} to {_reader(x, y)} on {x.channel}"
        if (x.data, x.size) == (y.data, y.size):
            return f"message {quote(x.data)} ({x.size} B) {where}: another call sent or read it"
        return f"message {where}: expected {quote(x.data)} ({x.size} B); got {quote(y.data)} ({y.size} B)"
    if x.channel != y.channel:
        return (
            f"message {quote(x.data)} ({x.size} B) from {sender} went to the wrong peer: expected {_reader(x)} on "
            f"{x.channel}; got {_reader(y)} on {y.channel}"
        )
    return (
        f"message {quote(x.data)} ({x.size} B) from {sender} on {x.channel}: expected {_reader(x)} to read it; "
        f"got {_reader(y)}"
    )
