"""The real type of a file, from its first bytes: never from its name or a declared type.

Binary formats are recognised by `filetype` (magic numbers; OOXML documents
such as docx and xlsx by the entries at the start of their zip). What has no
magic number is text or unknown: strict UTF-8 without control bytes is
`text/plain`, unless it looks like markup a browser would run (HTML, SVG,
XML), which is named as such so the allow-list can refuse it.
"""

from collections.abc import Collection

import filetype

from transcripts.errors import UnsupportedType

SNIFF_BYTES = 8192  # what filetype reads; enough for every signature it knows
TEXT = "text/plain"
HTML = "text/html"
UNKNOWN = "application/octet-stream"
_MARKUP = (b"<!doctype", b"<html", b"<script", b"<svg", b"<?xml", b"<body", b"<iframe", b"<head")
_CONTROL = frozenset(range(32)) - {9, 10, 12, 13}  # tab, newline, form feed, return are text


def detect(head: bytes) -> str:
    """The MIME type of a file whose first bytes (up to SNIFF_BYTES, or all of it) are `head`."""
    found = filetype.guess_mime(head)
    if found is not None:
        return str(found)
    if _is_text(head):
        return HTML if _is_markup(head) else TEXT
    return UNKNOWN


def accepted(head: bytes, allowed: Collection[str]) -> str:
    """The type of `head`, if `allowed` has it; otherwise UnsupportedType, saying why."""
    content_type = detect(head)
    if content_type not in allowed:
        raise UnsupportedType(
            f"the file's bytes are {content_type}, which is not accepted here"
            f" (accepted: {', '.join(sorted(allowed))})"
        )
    return content_type


def _is_text(head: bytes) -> bool:
    if any(byte in _CONTROL for byte in head):
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:  # a character cut at the end of the head is still text
        return exc.start >= len(head) - 3 and exc.reason == "unexpected end of data"
    return True


def _is_markup(head: bytes) -> bool:
    start = head.removeprefix(b"\xef\xbb\xbf").lstrip().lower()
    return start.startswith(b"<") or any(tag in start for tag in _MARKUP)
