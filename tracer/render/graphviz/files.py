"""Graphviz's output of several graphs cut apart and joined again: PNG pages, one PDF of many pages.

One neato run draws every page (one graph per page, back to back); PNGs are
cut at each IEND chunk, PDFs at each `%%EOF` and merged into one document by
renumbering their objects (cairo writes a classic xref table and no object
streams, which is all this needs to handle).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ipctrace.render.options import RenderError

# compiled when the module is imported (in `ipctrace run`, while the programs run), not at the first PDF
_EOF_RE = re.compile(rb"(?<=%%EOF\n)")
_LENGTH_RE = re.compile(rb"/Length (\d+)( 0 R)?")
_CATALOG_RE = re.compile(rb"/Type\s*/(Catalog|Pages)\b")
_PAGE_RE = re.compile(rb"/Type\s*/Page\b")
_PARENT_RE = re.compile(rb"/Parent \d+ 0 R")


def split_pngs(data: bytes) -> list[bytes]:
    """Graphviz writes one PNG per graph, back to back; cut them apart at each IEND chunk."""
    out = []
    pos = 0
    sig = b"\x89PNG\r\n\x1a\n"
    while pos < len(data):
        if data[pos : pos + 8] != sig:
            raise RenderError("graphviz wrote a PNG that cannot be read; please report it with the trace file.")
        p = pos + 8
        while True:
            length = int.from_bytes(data[p : p + 4], "big")
            kind = data[p + 4 : p + 8]
            p += 12 + length
            if kind == b"IEND":
                break
        out.append(data[pos:p])
        pos = p
    return out


def split_pdfs(data: bytes) -> list[bytes]:
    parts = []
    for chunk in _EOF_RE.split(data):
        if chunk.strip():
            parts.append(chunk)
    return parts


_OBJ_RE = re.compile(rb"(\d+) 0 obj\b")
_REF_RE = re.compile(rb"(\d+) 0 R\b")


_NUMBER_BODY_RE = re.compile(rb"\s*(\d+)\s*endobj")


def _number_object(pdf: bytes, num: int) -> int | None:
    """The value of object `num` when its body is one number (a stream's length written after the stream).

    The first such object in the file, as `re.search(rb"\\b%d 0 obj\\s*(\\d+)\\s*endobj")` finds it, but found
    with `bytes.find`: a regular expression starting at a word boundary tries every byte of the file.
    """
    head = b"%d 0 obj" % num
    at = pdf.find(head)
    while at != -1:
        before = pdf[at - 1 : at]
        if not (before.isalnum() or before == b"_"):  # a word boundary before the number
            match = _NUMBER_BODY_RE.match(pdf, at + len(head))
            if match is not None:
                return int(match.group(1))
        at = pdf.find(head, at + 1)
    return None


def _pdf_objects(pdf: bytes) -> dict[int, bytes]:
    """The objects of a cairo PDF (classic xref table, no object streams): number → body between obj/endobj."""
    objects: dict[int, bytes] = {}
    pos = 0
    while True:
        match = _OBJ_RE.search(pdf, pos)
        if match is None:
            break
        num = int(match.group(1))
        start = match.end()
        stream_at = pdf.find(b"stream", start)
        end_at = pdf.find(b"endobj", start)
        if stream_at != -1 and stream_at < end_at:
            head = pdf[start:stream_at]
            length_match = _LENGTH_RE.search(head)
            if length_match is None:
                raise RenderError("graphviz wrote a PDF that cannot be read; please report it with the trace file.")
            length = int(length_match.group(1))
            if length_match.group(2):
                ref = _number_object(pdf, length)
                if ref is None:
                    raise RenderError("graphviz wrote a PDF that cannot be read; please report it.")
                length = ref
            data_start = stream_at + len(b"stream")
            data_start += 2 if pdf[data_start : data_start + 2] == b"\r\n" else 1
            end_at = pdf.find(b"endobj", data_start + length)
        objects[num] = pdf[start:end_at]
        pos = end_at + len(b"endobj")
    return objects


def merge_pdfs(pdfs: Sequence[bytes]) -> bytes:
    """One PDF with every page of `pdfs`, renumbering objects; enough for cairo's output."""
    if len(pdfs) == 1:
        return pdfs[0]
    out_objects: list[tuple[int, bytes]] = []
    page_nums: list[int] = []
    next_num = 3  # 1: catalog, 2: pages
    for pdf in pdfs:
        objects = _pdf_objects(pdf)
        skip = {n for n, body in objects.items() if _CATALOG_RE.search(body[:200])}
        skip |= {n for n, body in objects.items() if b"/Producer" in body[:200]}
        mapping = {n: next_num + i for i, n in enumerate(sorted(set(objects) - skip))}
        next_num += len(mapping)

        def renumber(body: bytes, mapping: dict[int, int] = mapping) -> bytes:
            cut = body.find(b"stream")
            head, rest = (body, b"") if cut == -1 else (body[:cut], body[cut:])
            head = _REF_RE.sub(lambda m: b"%d 0 R" % mapping.get(int(m.group(1)), 2), head)
            return head + rest

        for old, new in sorted(mapping.items(), key=lambda kv: kv[1]):
            body = renumber(objects[old])
            if _PAGE_RE.search(body[:200]):
                body = _PARENT_RE.sub(b"/Parent 2 0 R", body)
                page_nums.append(new)
            out_objects.append((new, body))
    kids = b" ".join(b"%d 0 R" % n for n in page_nums)
    out_objects.append((1, b"\n<< /Type /Catalog /Pages 2 0 R >>\n"))
    out_objects.append((2, b"\n<< /Type /Pages /Kids [ %s ] /Count %d >>\n" % (kids, len(page_nums))))
    out_objects.sort()
    buf = bytearray(b"%PDF-1.5\n%\xb5\xed\xae\xfb\n")
    offsets = {}
    for num, body in out_objects:
        offsets[num] = len(buf)
        buf += b"%d 0 obj" % num + body + b"endobj\n"
    xref_at = len(buf)
    size = max(offsets) + 1
    buf += b"xref\n0 %d\n0000000000 65535 f \n" % size
    for num in range(1, size):
        buf += b"%010d 00000 n \n" % offsets[num] if num in offsets else b"0000000000 65535 f \n"
    buf += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, xref_at)
    return bytes(buf)


def pdf_page_count(pdf: bytes) -> int:
    return len(_PAGE_RE.findall(pdf))


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height of a PNG, from its IHDR chunk."""
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def pdf_page_sizes(pdf: bytes) -> list[tuple[float, float]]:
    """Each page's MediaBox width and height in points."""
    boxes = re.findall(rb"/MediaBox\s*\[\s*([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*\]", pdf)
    return [(float(x1) - float(x0), float(y1) - float(y0)) for x0, y0, x1, y1 in boxes]
