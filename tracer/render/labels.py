"""How payloads, calls and results read on a timeline or a diagram (shared by every renderer)."""

from __future__ import annotations

from tracer.model import Event

_ESCAPES = {0: "\\0", 9: "\\t", 10: "\\n", 13: "\\r", 92: "\\\\", 39: "\\'"}


def show_bytes(data: bytes, limit: int = 40) -> str:
    """Bytes as a quoted, escaped string; a trailing NUL shows as \\0 (sizeof vs strlen matters)."""
    parts = []
    for byte in data[:limit]:
        if byte in _ESCAPES:
            parts.append(_ESCAPES[byte])
        elif 32 <= byte < 127:
            parts.append(chr(byte))
        else:
            parts.append(f"\\x{byte:02x}")
    text = "".join(parts)
    if len(data) > limit:
        text += "…"
    return f"'{text}'"


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
