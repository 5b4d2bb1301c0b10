"""File names: cleaned once at upload, and at download given an extension that matches
the type the bytes were found to be.

A name is a label the uploader chose, shown to the other side and used by their
browser to save the file. Characters that change how it *looks* (controls,
bidirectional overrides that turn `invoice‮fdp.exe` into `invoiceexe.pdf`,
invisible ones) are removed at upload, by both upload paths. The extension is
the uploader's claim; the type is ours: a download whose extension is not one
the detected type is known by gets that type's extension appended
(`note.html` found to be text/plain is saved as `note.html.txt`), so no
program opens it as what it is not.
"""

import unicodedata

import filetype

from transcripts.content_types import HTML, TEXT, UNKNOWN

# Bidirectional formatting: LRM, RLM, ALM; embeddings and overrides LRE..RLO and PDF;
# isolates LRI..PDI.
_BIDI = frozenset({0x200E, 0x200F, 0x061C, *range(0x202A, 0x202F), *range(0x2066, 0x206A)})
_INVISIBLE = frozenset({0x200B, 0x2060, 0xFEFF})  # zero-width space, word joiner, BOM
_DROPPED = frozenset({"Cc", "Cs", "Zl", "Zp"})  # controls (C0, DEL, C1), surrogates, breaks

# The extensions a type is known by, the one added first. Types not listed take the one
# `filetype` knows for them.
EXTENSIONS: dict[str, tuple[str, ...]] = {
    TEXT: ("txt", "text"),
    HTML: ("html", "htm"),
    "image/jpeg": ("jpg", "jpeg", "jpe"),
    "image/tiff": ("tif", "tiff"),
    UNKNOWN: ("bin",),
}


def clean_name(raw: str) -> str:
    """The name as stored: NFC, without control, bidi or invisible characters, `/` and
    `\\` as `_` (a label, never a path), trimmed. Empty if nothing is left."""
    kept = "".join(c for c in unicodedata.normalize("NFC", raw) if not _hidden(c))
    return kept.replace("/", "_").replace("\\", "_").strip()


def _hidden(char: str) -> bool:
    code = ord(char)
    return code in _BIDI or code in _INVISIBLE or unicodedata.category(char) in _DROPPED


def extensions(content_type: str) -> tuple[str, ...]:
    known = EXTENSIONS.get(content_type)
    if known is not None:
        return known
    found = filetype.get_type(mime=content_type)
    return (str(found.extension),) if found is not None else EXTENSIONS[UNKNOWN]


def download_name(name: str, content_type: str) -> str:
    """The name to save a file under: its own if its extension fits its type, else with
    the type's extension appended."""
    known = extensions(content_type)
    stem, dot, extension = name.rpartition(".")
    if dot and stem and extension.lower() in known:
        return name
    return f"{name}.{known[0]}"
