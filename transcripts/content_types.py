"""The real type of a file, from its bytes: never from its name or a declared type.

Binary formats are recognised by `filetype` from the first SNIFF_BYTES
(magic numbers; OOXML documents such as docx and xlsx by the entries at the
start of their zip). What has no magic number is text or unknown, and that
is decided on the *whole* file: strict UTF-8 without control bytes to its
last byte is `text/plain`, unless it starts with `<` or holds, anywhere, a
tag a browser would run (HTML, SVG, XML): then it is named markup so the
allow-list can refuse it. A `Sniffer` takes the file piece by piece and keeps
a small window of the previous piece, so a tag split between two pieces is
still seen; it refuses as soon as the bytes show a type that is not allowed.
"""

import codecs
import re
from collections.abc import Collection

import filetype

from transcripts.errors import UnsupportedType

SNIFF_BYTES = 8192  # what filetype reads; enough for every signature it knows
TEXT = "text/plain"
HTML = "text/html"
UNKNOWN = "application/octet-stream"
_TAGS = (  # elements a browser renders or runs
    "html head body script iframe frame frameset svg math "
    "object embed meta link style img form base"
)
# A tag opening: its name then a space, `/` or `>`, so prose such as "<formula>" is text.
_MARKUP = re.compile(
    rb"<(?:!doctype|\?xml|(?:" + "|".join(_TAGS.split()).encode() + rb")[\s/>])", re.IGNORECASE
)
_WINDOW = 16  # bytes kept from the previous piece: longer than any match above
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0e-\x1f]")  # tab, newline, form feed, return are text
_BOM = b"\xef\xbb\xbf"


class Sniffer:
    """The type of a file fed piece by piece; with `allowed`, refused as soon as its bytes
    show a type not in it (without, it only names the type)."""

    def __init__(self, allowed: Collection[str] | None = None) -> None:
        self._allowed = allowed
        self._head = bytearray()  # the first SNIFF_BYTES, for the magic numbers
        self._found: str | None = None  # decided for good: a magic type, or UNKNOWN
        self._markup = False
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self._window = b""  # the end of the text before: a tag may start in it
        self._past_bom = False
        self._started = False  # the first character that is not white space was seen

    def feed(self, piece: bytes) -> None:
        """Take the next bytes; UnsupportedType as soon as they show a refused type."""
        if self._found is not None or not piece:
            return
        if len(self._head) < SNIFF_BYTES:
            room = SNIFF_BYTES - len(self._head)
            self._head += piece[:room]
            if len(self._head) < SNIFF_BYTES:
                return
            piece = piece[room:]
            self._sniff_head()
        if self._found is None and piece:
            self._text(piece)

    def finish(self) -> str:
        """The file's type, once every byte was fed; UnsupportedType if it is refused."""
        if self._found is None and len(self._head) < SNIFF_BYTES:
            self._sniff_head()  # the whole file is shorter than a sniff
        return self._check(self._found or (HTML if self._markup else TEXT))

    def _sniff_head(self) -> None:
        found = filetype.guess_mime(bytes(self._head))
        if found is not None:
            self._decide(str(found))
        else:
            self._text(bytes(self._head))

    def _text(self, piece: bytes) -> None:
        if _CONTROL.search(piece):
            self._decide(UNKNOWN)
            return
        try:  # a character cut between two pieces, or at the very end, is still text
            self._utf8.decode(piece)
        except UnicodeDecodeError:
            self._decide(UNKNOWN)
            return
        if not self._started:
            self._start(piece)
        seen = self._window + piece
        self._markup = self._markup or _MARKUP.search(seen) is not None
        if self._markup:
            self._check(HTML)  # refused now if markup is: no need to read on
        self._window = seen[-_WINDOW:]

    def _start(self, piece: bytes) -> None:
        """The file's first character (after a BOM and white space): `<` is markup. The
        first text seen is the whole head, so a BOM is never cut."""
        lead = piece.lstrip() if self._past_bom else piece.removeprefix(_BOM).lstrip()
        self._past_bom = True
        if lead:
            self._started = True
            self._markup = self._markup or lead.startswith(b"<")

    def _decide(self, found: str) -> None:
        self._found = found
        self._check(found)

    def _check(self, content_type: str) -> str:
        if self._allowed is not None and content_type not in self._allowed:
            raise UnsupportedType(
                f"the file's bytes are {content_type}, which is not accepted here"
                f" (accepted: {', '.join(sorted(self._allowed))})"
            )
        return content_type


def detect(data: bytes) -> str:
    """The MIME type of a whole file."""
    sniffer = Sniffer()
    sniffer.feed(data)
    return sniffer.finish()
