"""How payloads, calls and results read on a timeline or a diagram (shared by every renderer).

Payloads are text wherever they are text: UTF-8 (Hangul included) is shown as
the characters it encodes, and only bytes that are not printable or not valid
UTF-8 are escaped; a NUL stays visible as `\\0` (sizeof vs strlen matters in
the course). Which arguments a call label shows comes from the table of calls
(`CallSpec.shown_args`).
"""

from __future__ import annotations

from ipctrace.calls import Call, MsgFlag, spec
from ipctrace.model import Event, SockAddr, TcpFlags

_ESCAPES = {"\0": "\\0", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\\": "\\\\", "'": "\\'"}
_SHUT = {0: "SHUT_RD", 1: "SHUT_WR", 2: "SHUT_RDWR"}


def _escaped(text: str) -> str:
    if text.isprintable() and "\\" not in text and "'" not in text:
        return text  # nothing to escape (the common case): every character would be kept as it is
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x100:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(f"\\u{ord(ch):04x}")
    return "".join(out)


def _decoded(data: bytes) -> str:
    """UTF-8 text with every byte that is not part of a valid character escaped as `\\xNN`."""
    parts = []
    pos = 0
    while pos < len(data):
        try:
            parts.append(_escaped(data[pos:].decode("utf-8")))
            break
        except UnicodeDecodeError as exc:
            good = data[pos : pos + exc.start].decode("utf-8")
            parts.append(_escaped(good))
            if exc.reason == "unexpected end of data" and pos + exc.end >= len(data):
                parts.append("".join(f"\\x{b:02x}" for b in data[pos + exc.start :]))  # a character cut off
                break
            parts.append(f"\\x{data[pos + exc.start]:02x}")
            pos += exc.start + 1
    return "".join(parts)


def show_text(data: bytes, limit: int = 40, complete: bool = True) -> str:
    """Bytes as a quoted string, text where they are text: `'안녕하세요\\n'`, `'Who are you?\\0'`.

    At most `limit` characters are shown, then `…`; `complete=False` says the
    bytes themselves were cut (a capped payload), which also ends in `…`.
    """
    text = _decoded(data)
    cut = len(text) > limit
    if cut:
        text = text[:limit]
        if "\\" in text[-4:]:  # never end in half an escape
            text = text[: text.rfind("\\")]
    return f"'{text}{'…' if cut or not complete else ''}'"


def show_payload(event: Event, limit: int = 40) -> str:
    """The payload of a data call with its true size: `'Who are you?\\0' (13 B)`."""
    if event.data is None:
        return ""
    size = event.size if event.size is not None else len(event.data)
    return f"{show_text(event.data, limit, complete=size <= len(event.data))} ({show_size(size)})"


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


_FLAG_NAMES = (
    (TcpFlags.SYN, "SYN"),
    (TcpFlags.FIN, "FIN"),
    (TcpFlags.RST, "RST"),
    (TcpFlags.PSH, "PSH"),
    (TcpFlags.ACK, "ACK"),
    (TcpFlags.URG, "URG"),
)


def show_flags(flags: TcpFlags) -> str:
    """TCP flags as Wireshark names them: `PA` → `PSH, ACK`."""
    return ", ".join(name for flag, name in _FLAG_NAMES if flags & flag)


def show_size(size: int) -> str:
    """A byte count for a label: 13 B, 1,024 B."""
    return f"{size:,} B"


def show_text_line(data: bytes, limit: int = 60) -> str:
    """A printed line as the terminal showed it (decoded, no quotes), shortened to `limit` characters."""
    text = data.decode("utf-8", "replace").replace("\t", "    ").replace("\r", "")
    text = "".join(ch if ch.isprintable() else "·" for ch in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def show_addr(addr: SockAddr | None) -> str:
    """An address for a label; a Unix socket by its file name (the folder is the run's, the same for all)."""
    if addr is None:
        return ""
    if addr.port is None:
        return addr.host.rsplit("/", 1)[-1] if addr.host else "(unnamed)"
    if addr.host == "":
        return f"0.0.0.0:{addr.port}"
    return str(addr)


_SHOWN_FLAGS = (MsgFlag.MSG_PEEK, MsgFlag.MSG_DONTWAIT, MsgFlag.MSG_WAITALL, MsgFlag.MSG_OOB, MsgFlag.MSG_TRUNC)


def msg_flags(value: int) -> str:
    """A send's or receive's flags by name (`MSG_PEEK`: the bytes stay in the socket for the next receive)."""
    return "|".join(flag.name or "" for flag in _SHOWN_FLAGS if value & flag.value)


def _arg(event: Event, name: str) -> str:
    if name == "addr":
        return show_addr(event.address)
    value = event.args.get(name)
    if value is None:
        return ""
    if name == "how":
        return _SHUT.get(value, str(value)) if isinstance(value, int) else str(value)
    if name == "flags" and isinstance(value, int):
        return msg_flags(value)
    if name == "seconds" and isinstance(value, int | float):
        return f"{value:g}"
    return str(value)


def show_args(event: Event) -> str:
    """The arguments a label shows (the table's `shown_args`): `0.0.0.0:8080`, `5`, `SHUT_WR`, `30`."""
    return ", ".join(text for text in (_arg(event, name) for name in spec(event.call).shown_args) if text)


def _result_text(event: Event) -> str:
    result = event.result
    if event.reaped is not None:  # waitpid → 4313 (exit 0); → 0 when no child had ended
        reaped = event.reaped
        return "0" if reaped.nothing else f"{reaped.pid} ({reaped.status})"
    if event.fds:
        return ", ".join(str(fd) for fd in event.fds)
    if isinstance(result, list):
        return ", ".join(str(r) for r in result)
    if isinstance(result, int) and not isinstance(result, bool) and event.call is not Call.SLEEP:
        return str(result)
    return ""


def takes_fd(event: Event) -> bool:
    """True when the event's descriptor is an argument of the call (not the one it created: socket(), pipe())."""
    if event.fd is None or event.fd < 0:
        return False
    return event.fd not in event.fds and event.fd != event.result


def show_call(event: Event, fd_name: str | None = None) -> str:
    """A call as a C programmer reads it: `read(fds[0], 30) → 13`, `bind(fd 3, 0.0.0.0:8080)`, `fork() → 4312`.

    `fd_name` is the program's own expression for the descriptor, when known. A datagram's address is
    not repeated here: its arrow says where it went (`127.0.0.1:54012 → 127.0.0.1:8080`).
    """
    inside = []
    if takes_fd(event):
        inside.append(fd_name or f"fd {event.fd}")
    extra = show_args(event)
    if extra:
        inside.append(extra)
    text = f"{event.call}({', '.join(inside)})"
    if event.blocked or event.error is not None:
        return text
    result = _result_text(event)
    return f"{text} → {result}" if result else text


def returned(event: Event) -> str:
    """What a call that waited returned, for its return row: `→ 13`, `→ 4`, or ''."""
    result = _result_text(event)
    return f"→ {result}" if result else ""
