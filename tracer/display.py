"""Bytes as people read them in ipctrace's messages, timelines and diagrams: escaped, quoted, shortened.

Kept apart from the stages so that any of them (link's problem sentences, the renderers) can use it
without reaching into another stage.
"""

from __future__ import annotations

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
