"""Payloads and printed lines as text the form can hold: escaped, run-chosen numbers replaced, long ones digested.

A golden file is reviewed by people, so bytes become readable text (UTF-8
where it decodes, `\\xNN` elsewhere), and the numbers a run chooses (pids,
kernel-chosen ports) become the names the rest of the form uses. A payload
longer than TEXT_LIMIT keeps its beginning and a digest of the whole.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass

#: Payload text longer than this is shortened in the form; a digest of the whole payload still compares it.
TEXT_LIMIT = 120
#: Flow and packet text only has to say which message it is: the calls hold it all.
FLOW_TEXT_LIMIT = 40

_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
#: One table for str.translate: control characters, DEL, and undecodable bytes (surrogate-escaped) as `\xNN`.
_TABLE = {
    **{code: f"\\x{code:02x}" for code in (*range(0x20), 0x7F)},
    **{0xDC00 + byte: f"\\x{byte:02x}" for byte in range(0x80, 0x100)},
    **{ord(ch): text for ch, text in _ESCAPES.items()},
}


def escape(data: bytes) -> str:
    """Bytes as readable text: UTF-8 where it decodes, `\\xNN` for other bytes and control characters."""
    return data.decode("utf-8", "surrogateescape").translate(_TABLE)


def quote(text: str | None, limit: int = 40, start: int = 0) -> str:
    """Payload text in quotes, shortened for one line of an explanation (from near `start` when it is far in)."""
    if text is None:
        return "(payload ignored)"
    begin = max(0, start - limit // 3) if start > limit * 2 // 3 else 0
    shown = ("…" if begin else "") + text[begin : begin + limit] + ("…" if len(text) > begin + limit else "")
    return f"'{shown}'"


def short(text: str | None, limit: int = FLOW_TEXT_LIMIT) -> str | None:
    return text if text is None or len(text) <= limit else text[:limit] + "…"


@dataclass(frozen=True, slots=True)
class Payload:
    """A payload in the form: its text (shortened past TEXT_LIMIT) and, when shortened, a digest of all of it."""

    text: str | None = None
    digest: str | None = None


class TextSymbols:
    """Replaces pids and run-chosen ports inside printed lines and payloads with roles and port symbols."""

    def __init__(self, symbols: Mapping[str, str]) -> None:
        self._map = {k: v for k, v in symbols.items() if len(k) >= 3 and k != v}
        self._re: re.Pattern[str] | None = None
        if self._map:
            alternatives = "|".join(sorted(map(re.escape, self._map), key=len, reverse=True))
            self._re = re.compile(rf"(?<![0-9])({alternatives})(?![0-9])")

    def text(self, text: str) -> str:
        if self._re is None:
            return text
        return self._re.sub(lambda m: self._map[m.group(1)], text)

    def payload(self, data: bytes | None, complete: bool = True) -> Payload:
        """The form of a payload; an incomplete one (capped by the recorder) keeps its beginning and no digest."""
        if data is None:
            return Payload()
        text = self.text(escape(data))
        if len(text) <= TEXT_LIMIT and complete:
            return Payload(text)
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16] if complete else None
        return Payload(text[:TEXT_LIMIT] + "…", digest)
