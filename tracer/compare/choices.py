"""What a comparison may leave out (`ignore=`, `--ignore`, `--ipctrace-ignore`), and the form without it.

Each name leaves one kind of detail out of both sides. One name does the
opposite: `read-boundaries` asks for more than the default, that reads on
byte streams split the same way too (by default only the bytes in order
count; see `equivalence.py`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from ipctrace.calls import PROGRAM_OUTPUT, SLEEPS
from ipctrace.compare.form import CanonicalCall, CanonicalPacket, CanonicalProcess, CanonicalTrace, Packets

READ_BOUNDARIES = "read-boundaries"

#: What `ignore` may name, and what each leaves out of the comparison.
IGNORABLE = {
    "packets": "captured packets",
    "acks": "pure TCP ACKs (no payload, no SYN/FIN/RST)",
    "sleeps": "sleep calls",
    "payloads": "payload text and input lines (sizes still count)",
    "output": "printed lines (stdout and stderr)",
    "handlers": "calls made in signal handlers (their presence can depend on when a signal came)",
    "programs": "how a program is named on its command line (`python x.py ARGS` is `x ARGS`, as for a C original)",
}
#: Choices that compare more than the default, given the same way.
STRICTER = {
    READ_BOUNDARIES: "compare where each read on a byte stream ended too, not only the bytes in order",
}
CHOICES = {**IGNORABLE, **STRICTER}

_OUTPUT = frozenset(c.value for c in PROGRAM_OUTPUT)
_SLEEPS = frozenset(c.value for c in SLEEPS)


def check_ignore(ignore: Iterable[str]) -> frozenset[str]:
    """The choices, checked: an unknown one raises ValueError listing the valid ones."""
    names = frozenset(ignore)
    unknown = sorted(names - CHOICES.keys())
    if unknown:
        valid = ", ".join(f"{k} ({v})" for k, v in CHOICES.items())
        raise ValueError(f"cannot ignore {', '.join(map(repr, unknown))}; choose among: {valid}")
    return names


def parse_choices(text: str) -> frozenset[str]:
    """`sleeps,output` as checked choices."""
    return check_ignore(i.strip() for i in text.split(",") if i.strip())


def without(canonical: CanonicalTrace, ignore: Iterable[str]) -> CanonicalTrace:
    """The form with what a user chose to ignore taken out (see IGNORABLE)."""
    ignore = frozenset(ignore)
    processes = tuple(_process_without(p, ignore) for p in canonical.processes)
    flows = canonical.flows
    if "payloads" in ignore:
        flows = tuple(replace(f, data=None) for f in flows)
    return replace(canonical, processes=processes, flows=flows, packets=_packets_without(canonical.packets, ignore))


def _process_without(p: CanonicalProcess, ignore: frozenset[str]) -> CanonicalProcess:
    def keep(c: CanonicalCall) -> bool:
        return not (("sleeps" in ignore and c.call in _SLEEPS) or ("output" in ignore and c.call in _OUTPUT))

    def strip(c: CanonicalCall) -> CanonicalCall:  # payloads: bytes moved and input read; printed lines are `output`
        if "payloads" in ignore and c.data is not None and c.call not in _OUTPUT:
            return replace(c, data=None, digest=None)
        return c

    handlers = () if "handlers" in ignore else tuple(strip(c) for c in p.asynchronous if keep(c))
    argv = program_argv(p.argv) if "programs" in ignore else p.argv
    return replace(p, calls=tuple(strip(c) for c in p.calls if keep(c)), asynchronous=handlers, argv=argv)


def program_argv(argv: tuple[str, ...]) -> tuple[str, ...]:
    """A command line naming its program as a built one would be: `python x.py ARGS` → `x ARGS`."""
    if len(argv) > 1 and argv[0] == "python" and argv[1].endswith(".py"):
        return (argv[1].removesuffix(".py"), *argv[2:])
    return argv


def _packets_without(packets: Packets | None, ignore: frozenset[str]) -> Packets | None:
    if "packets" in ignore or packets is None:
        return None

    def keep(p: CanonicalPacket) -> bool:
        return not ("acks" in ignore and p.pure_ack)

    def strip(p: CanonicalPacket) -> CanonicalPacket:
        return replace(p, data=None) if "payloads" in ignore else p

    return tuple((ch, tuple(strip(p) for p in ps if keep(p))) for ch, ps in packets)
