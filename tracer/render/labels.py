"""How payloads, calls and results read on a timeline or a diagram (shared by every renderer)."""

from __future__ import annotations

from ipctrace.display import show_bytes
from ipctrace.model import Event, TcpFlags


def show_payload(event: Event, limit: int = 40) -> str:
    """The payload of a data call with its true size: `'Who are you?\\0' (13 B)`."""
    if event.data is None:
        return ""
    size = event.size if event.size is not None else len(event.data)
    shown = show_bytes(event.data, limit)
    if size > len(event.data) and len(event.data) <= limit:
        shown = shown[:-1] + "…'"
    return f"{shown} ({size} B)"


def show_result(event: Event) -> str:
    if event.blocked:
        return "… still blocked when the run ended"
    if event.error is not None:
        return f"-> {event.error}"
    if event.result is None:
        return ""
    if isinstance(event.result, list):
        return "-> " + ", ".join(str(r) for r in event.result)
    return f"-> {event.result}"


# -- call, packet and note labels (shared by the diagram renderers) --------------------------------

_FLAG_NAMES = {"S": "SYN", "F": "FIN", "R": "RST", "P": "PSH", "A": "ACK", "U": "URG", "E": "ECE", "C": "CWR"}
_FLAG_ORDER = "SFRPAUEC"


def show_flags(flags: TcpFlags) -> str:
    """TCP flags as Wireshark names them: `PA` → `PSH, ACK`."""
    letters = flags.letters
    return ", ".join(_FLAG_NAMES[f] for f in _FLAG_ORDER if f in letters)


def show_size(size: int) -> str:
    """A byte count for a label: 13 B, 1,024 B."""
    return f"{size:,} B"


def show_text_line(data: bytes, limit: int = 60) -> str:
    """A printed line as the terminal showed it (decoded, no quotes), shortened to `limit` characters."""
    text = data.decode("utf-8", "replace").replace("\t", "    ").replace("\r", "")
    text = "".join(ch if ch.isprintable() else "·" for ch in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def show_args(event: Event) -> str:
    """The interesting arguments of a call, short: `0.0.0.0:8080`, `backlog 5`, `3 s`."""
    args = event.args or {}
    call = event.call
    if call in ("bind", "connect", "connect_ex") and "addr" in args:
        addr = args["addr"]
        if isinstance(addr, list | tuple) and len(addr) == 2:
            return f"{addr[0] or '0.0.0.0'}:{addr[1]}"
        return str(addr)
    if call == "listen" and "backlog" in args:
        return str(args["backlog"])
    if call == "sleep" and "seconds" in args:
        seconds = args["seconds"]
        return f"{seconds:g}" if isinstance(seconds, int | float) else str(seconds)
    if call == "shutdown" and "how" in args:
        return {0: "SHUT_RD", 1: "SHUT_WR", 2: "SHUT_RDWR"}.get(args["how"], str(args["how"]))
    if call in ("waitpid", "kill") and "pid" in args:
        return str(args["pid"])
    if call in ("read", "recv", "recvfrom", "recv_into", "recvfrom_into", "recvmsg") and "n" in args:
        return str(args["n"])
    return ""


def show_call(event: Event) -> str:
    """A call as a C programmer reads it: `read(fd 3, 30) → 13`, `bind(fd 3, 0.0.0.0:8080)`, `fork() → 4312`."""
    inside = []
    if event.fd is not None and event.call not in ("pipe", "socketpair", "socket"):
        inside.append(f"fd {event.fd}")
    extra = show_args(event)
    if extra:
        inside.append(extra)
    text = f"{event.call}({', '.join(inside)})"
    if event.blocked or event.error is not None:
        return text
    result = event.result
    if isinstance(result, list):
        return f"{text} → {', '.join(str(r) for r in result)}"
    if isinstance(result, int) and not isinstance(result, bool) and event.call not in ("sleep",):
        return f"{text} → {result}"
    return text
