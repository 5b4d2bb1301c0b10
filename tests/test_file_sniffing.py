"""The whole text is sniffed, downloads are named by their type, names are cleaned (F14).

A file named `note.html` whose first 8 KiB are prose and whose script comes
later was stored as text/plain; the download then kept its `.html`. Now the
sniffer reads every byte of a text (a tag cut between two pieces included),
on the plain and the resumable path; the download's name carries an
extension of the type found; names lose control and bidi characters.
"""

from collections.abc import AsyncIterator
from urllib.parse import unquote

import httpx
import pytest

from tests.conftest import RunningServer
from tests.files import PDF_HEAD, Resumable, download, staged, stored, upload
from transcripts.content_types import SNIFF_BYTES, Sniffer, detect
from transcripts.errors import UnsupportedType
from transcripts.file_names import clean_name, download_name

KIB = 1024
TEXT_ONLY = ("text/plain", "application/pdf")
SCRIPT = b"<script>alert(document.cookie)</script>"
PROSE = b"The delivery was late and the files were incomplete. " * 200  # > 8 KiB


def fed(pieces: list[bytes]) -> str:
    sniffer = Sniffer()
    for piece in pieces:
        sniffer.feed(piece)
    return sniffer.finish()


def test_a_script_after_the_first_8_kib_makes_the_file_markup() -> None:
    assert len(PROSE) > SNIFF_BYTES
    assert detect(PROSE) == "text/plain"
    assert detect(PROSE + SCRIPT) == "text/html"
    assert detect(PROSE + b"<SVG onload=x()>") == "text/html"
    assert detect(PROSE + b"x <formula> and <scripted> are prose") == "text/plain"
    assert detect(PROSE + b"\x00 a NUL byte late") == "application/octet-stream"
    assert detect(PDF_HEAD + PROSE + SCRIPT) == "application/pdf"  # binary: by its magic


@pytest.mark.parametrize("cut", range(1, len(b"<script>")))
def test_a_tag_cut_between_two_pieces_is_still_seen(cut: int) -> None:
    data = PROSE + SCRIPT
    at = len(PROSE) + cut
    assert fed([data[:at], data[at:]]) == "text/html"
    assert fed([data[i : i + 7] for i in range(0, len(data), 7)]) == "text/html"


def test_a_refused_type_is_refused_as_soon_as_it_shows() -> None:
    sniffer = Sniffer(TEXT_ONLY)
    sniffer.feed(PROSE)
    sniffer.feed(b"more prose " + SCRIPT[:5])
    with pytest.raises(UnsupportedType, match="text/html"):
        sniffer.feed(SCRIPT[5:])  # the tag completes in this piece: no need to read on


@pytest.mark.parametrize(
    ("name", "content_type", "saved"),
    [
        ("note.html", "text/plain", "note.html.txt"),
        ("README", "text/plain", "README.txt"),
        ("notes.TXT", "text/plain", "notes.TXT"),
        ("report.pdf", "application/pdf", "report.pdf"),
        ("scan.pdf", "image/png", "scan.pdf.png"),
        ("photo.JPEG", "image/jpeg", "photo.JPEG"),
        (".txt", "text/plain", ".txt.txt"),
        ("blob.exe", "application/octet-stream", "blob.exe.bin"),
    ],
)
def test_a_download_is_named_with_an_extension_of_its_type(
    name: str, content_type: str, saved: str
) -> None:
    assert download_name(name, content_type) == saved


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("invoice\u202efdp.exe", "invoicefdp.exe"),  # RIGHT-TO-LEFT OVERRIDE
        ("\u2066a\u2067b\u2068c\u2069.txt", "abc.txt"),  # isolates
        ("x\u202a\u202b\u202c\u202dy\u200e\u200f\u061c.pdf", "xy.pdf"),
        ("tab\there\x07\x7f\x85.txt", "tabhere.txt"),  # C0, DEL, C1
        ("zero\u200bwidth\ufeff.txt", "zerowidth.txt"),
        ("../../etc/passwd", ".._.._etc_passwd"),
        ("  Übergabe\u2028protokoll.pdf ", "Übergabeprotokoll.pdf"),
        ("\u202e\u200f", ""),
    ],
)
def test_names_lose_control_and_bidi_characters(raw: str, clean: str) -> None:
    assert clean_name(raw) == clean


async def party(server: RunningServer, ticket: str) -> tuple[str, str]:
    room = await server.platform.open_room(ticket)
    return room, await server.platform.token(room, "c-1", "client")


def saved_name(response: httpx.Response) -> str:
    disposition = response.headers["content-disposition"]
    return unquote(disposition.split("filename*=UTF-8''", 1)[1])


async def test_a_plain_upload_with_a_late_script_is_refused_and_leaves_nothing(
    server: RunningServer,
) -> None:
    room, token = await party(server, "T-late-script")
    refused = await upload(server, room, token, PROSE + SCRIPT, "note.html")
    assert refused.status_code == 415, refused.text
    assert "text/html" in refused.json()["error"]["message"]

    async def split() -> AsyncIterator[bytes]:  # the tag cut between two pieces of the request body
        cut = len(PROSE) + 4
        yield (PROSE + SCRIPT)[:cut]
        yield (PROSE + SCRIPT)[cut:]

    refused = await upload(server, room, token, split(), "note.html")
    assert refused.status_code == 415, refused.text
    assert await stored(server) == (0, 0, [])


async def test_a_resumable_upload_with_a_script_in_a_later_patch_is_refused_at_the_finish(
    server: RunningServer,
) -> None:
    room, token = await party(server, "T-late-script-tus")
    up = Resumable(server, room, token)
    chunk = server.settings.files_chunk_bytes
    prose = (PROSE * (chunk // len(PROSE) + 1))[: chunk - 4]
    data = prose + SCRIPT + PROSE  # "<scr" ends the first chunk and the first PATCH
    url = await up.start(len(data), "note.html")
    assert (await up.patch(url, 0, data[:chunk])).status_code == 204
    refused = await up.patch(url, chunk, data[chunk:])
    assert refused.status_code == 415, refused.text
    assert refused.json()["error"]["code"] == "unsupported_type"
    assert await stored(server) == (0, 0, [])
    assert await staged(server) == (0, 0)
    assert (await up.head(url)).status_code == 404

    # markup past 8 KiB within the first PATCH is refused by that PATCH
    url = await up.start(len(PROSE + SCRIPT + PROSE), "note.html")
    refused = await up.patch(url, 0, PROSE + SCRIPT + PROSE)
    assert refused.status_code == 415, refused.text
    assert await staged(server) == (0, 0)


async def test_downloads_are_named_by_type_and_names_are_cleaned_on_both_paths(
    server: RunningServer,
) -> None:
    room, token = await party(server, "T-names")
    text = PROSE + b"no markup here\n"
    made = await upload(server, room, token, text, "note.html")
    assert made.status_code == 201, made.text
    assert (made.json()["name"], made.json()["content_type"]) == ("note.html", "text/plain")
    got = await download(server, room, token, made.json()["file"])
    assert got.content == text
    assert saved_name(got) == "note.html.txt"
    assert got.headers["content-type"].startswith("text/plain")

    made = await upload(server, room, token, PDF_HEAD + PROSE, "report.pdf")
    assert saved_name(await download(server, room, token, made.json()["file"])) == "report.pdf"

    tricky = "invoice\u202efdp.exe\x07"
    plain = await upload(server, room, token, text, tricky)
    assert plain.status_code == 201, plain.text
    up = Resumable(server, room, token)
    url = await up.start(len(text), tricky)
    resumed = await up.patch(url, 0, text)
    assert resumed.status_code == 201, resumed.text
    for made in (plain, resumed):
        assert made.json()["name"] == "invoicefdp.exe"
        got = await download(server, room, token, made.json()["file"])
        assert saved_name(got) == "invoicefdp.exe.txt"

    only_bidi = await upload(server, room, token, text, "\u202e\u200f")
    assert only_bidi.status_code == 400, only_bidi.text
