"""A file's name as an upload states it: `Content-Disposition`, never the URL.

    Content-Disposition: attachment; filename*=UTF-8''%E2%82%AC%20invoice.pdf

`filename*` (RFC 8187 / RFC 5987 encoding: UTF-8, percent-encoded) is
preferred; a plain `filename="..."` (ASCII, or Latin-1 as HTTP headers are)
is read when it is absent, as RFC 6266 says.
"""

import re
from urllib.parse import unquote

EXTENDED = re.compile(r"(?:^|;)\s*filename\*\s*=\s*utf-8'[^']*'([^;\s]+)", re.IGNORECASE)
PLAIN = re.compile(r'(?:^|;)\s*filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))', re.IGNORECASE)
ESCAPED = re.compile(r"\\(.)")


class BadDisposition(ValueError):
    pass


def disposition_name(header: str) -> str:
    """The name in a Content-Disposition header; "" when it names none."""
    extended = EXTENDED.search(header)
    if extended:
        try:
            return unquote(extended[1], errors="strict")
        except UnicodeDecodeError:
            raise BadDisposition("filename* is not percent-encoded UTF-8") from None
    plain = PLAIN.search(header)
    if plain is None:
        return ""
    return ESCAPED.sub(r"\1", plain[1]) if plain[1] is not None else plain[2]
