"""Chain of custody for files: signed exports list them, `mediation verify` checks the
exported copies, and crypto-shredding a room takes its files with it."""

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from mediation import offline
from tests.conftest import RunningServer
from tests.files import download, export_with_files, mediation_cli, pdf, sha256, upload
from transcripts.envelope import RoomCipher
from transcripts.errors import Shredded, Tampered
from transcripts.schema import rooms
from transcripts.verify import verify


async def room_with_files(
    server: RunningServer, ticket: str = "T-custody"
) -> tuple[str, dict[str, bytes]]:
    room = await server.platform.open_room(ticket)
    client = await server.platform.token(room, "c-1", "client")
    moderator = await server.platform.token(room, "m-1", "moderator")
    files: dict[str, bytes] = {}
    for token, name, channel, data in [
        (client, "contract.pdf", "joint", pdf(70 * 1024)),
        (moderator, "notes.txt", "notes", b"the client seems sincere\n"),
    ]:
        made = (await upload(server, room, token, data, name, channel)).json()
        files[made["file"]] = data
    return room, files


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_export_with_files_verifies_and_a_changed_byte_names_the_file(
    server: RunningServer, tmp_path: Path
) -> None:
    room, files = await room_with_files(server)
    run = mediation_cli(server)
    exported = await export_with_files(server, room, tmp_path)
    out, copies, pem = exported.bundle, exported.files, exported.public_key
    header = json.loads(out.read_bytes().splitlines()[0])
    listed = {f["file"]: f for f in header["files"]}
    assert {k: v["sha256"] for k, v in listed.items()} == {k: sha256(v) for k, v in files.items()}
    assert {v["uploader"]["role"] for v in listed.values()} == {"client", "moderator"}
    assert all(isinstance(v["position"], int) for v in listed.values())
    for file_id, data in files.items():
        assert (copies / file_id).read_bytes() == data

    args = ("verify", str(out), "--public-key", str(pem), "--files", str(copies))
    ok = await run(*args)
    assert ok.returncode == 0, ok.stdout
    assert "2 files match their hashes" in ok.stdout

    changed = next(iter(files))
    copy = copies / changed
    copy.write_bytes(copy.read_bytes()[:-1] + bytes([copy.read_bytes()[-1] ^ 1]))
    broken = await run(*args)
    assert broken.returncode == 1
    assert f"file {changed} ('contract.pdf'" in broken.stdout
    assert "does not match its sha256" in broken.stdout
    copy.unlink()
    missing = await run(*args)
    assert (missing.returncode, "missing" in missing.stdout) == (1, True)


async def test_a_file_record_altered_in_the_bundle_fails_verify(server: RunningServer) -> None:
    room, _files = await room_with_files(server, "T-bundle")
    response = await server.platform.http.get(
        f"/api/rooms/{room}/export", headers=server.platform.auth
    )
    lines = response.content.splitlines(keepends=True)
    keys = (await server.platform.http.get("/.well-known/mediation-signing-keys")).json()
    from transcripts.signing import load_public_pem

    [pem] = [k["pem"] for k in keys["keys"] if k["id"] == keys["active"]]
    key = load_public_pem(pem.encode())
    verdict = verify(lines, key)
    assert verdict.ok, verdict.reason
    assert len(verdict.files) == 2
    at = next(i for i, line in enumerate(lines) if b'"kind":"file"' in line)
    record = json.loads(lines[at])
    body = json.loads(record["body"])
    body["sha256"] = "0" * 64  # claim another file was uploaded
    record["body"] = json.dumps(body, separators=(",", ":"))
    forged = [*lines[:at], json.dumps(record).encode() + b"\n", *lines[at + 1 :]]
    verdict = verify(forged, key)
    assert not verdict.ok
    assert "does not match its hash" in verdict.reason


async def close_long_ago(server: RunningServer, room: str) -> None:
    await server.services.store.set_state(room, "closed")
    async with server.services.db.write() as conn:
        await conn.execute(
            update(rooms)
            .where(rooms.c.id == room)
            .values(closed_at=datetime.now(UTC) - timedelta(days=400))
        )


async def test_shredding_a_room_makes_its_files_unreadable_and_removes_them(
    server: RunningServer, tmp_path: Path
) -> None:
    room, files = await room_with_files(server, "T-shred")
    token = await server.platform.token(room, "m-1", "moderator")
    root = server.settings.data_dir / "files" / room
    kept = {path.name: path.read_bytes() for path in root.iterdir()}  # as a backup would
    assert set(kept) == set(files)
    await close_long_ago(server, room)
    assert await offline.apply_retention(server.settings, dry_run=False, older_than=30) == 0
    assert list(root.iterdir()) == []  # the blobs are gone too
    server.services.store.keys.ciphers.clear()  # other processes forget within CIPHER_TTL
    for file_id in files:
        response = await download(server, room, token, file_id)
        assert response.status_code == 404
    with pytest.raises(Shredded):
        await server.services.store.room_cipher(room)
    from mediation.server_secrets import load_secrets

    for kek in load_secrets(server.settings).keyring.keks.values():  # no key opens a copy
        for sealed in kept.values():
            with pytest.raises(Tampered):
                RoomCipher(room, kek).open(sealed[: 64 * 1024 + 28], b"", "probe")
    export = await server.platform.http.get(
        f"/api/rooms/{room}/export", headers=server.platform.auth
    )
    assert export.status_code == 200
    assert json.loads(export.content.splitlines()[0])["files"] == []


async def test_an_interrupted_upload_is_swept_and_a_committed_one_kept(
    server: RunningServer,
) -> None:
    room, files = await room_with_files(server, "T-sweep")
    locker = server.services.locker
    [first, _second] = files
    row = await locker.row(room, first)
    assert row is not None
    async with server.services.db.write() as conn:  # as if we crashed after its commit
        from transcripts.schema import files as table

        await conn.execute(update(table).where(table.c.id == first).values(position=None))

    async def pieces() -> AsyncIterator[bytes]:
        yield pdf(1000)

    async def interrupted() -> AsyncIterator[bytes]:
        yield pdf(70 * 1024)
        raise ConnectionResetError

    with pytest.raises(ConnectionResetError):
        await locker.receive(
            room,
            "f_interrupted",
            ("c-1", "client"),
            "x.pdf",
            interrupted(),
            10**6,
            ["application/pdf"],
        )
    assert await locker.row(room, "f_interrupted") is None  # a failure cleans up itself
    facts = await locker.receive(
        room, "f_crashed", ("c-1", "client"), "x.pdf", pieces(), 10**6, ["application/pdf"]
    )
    assert facts.size == 1000  # stored, but "crashed" before its record
    assert await locker.blobs.exists(locker.key(room, "f_crashed"))
    assert await locker.sweep(datetime.now(UTC) + timedelta(seconds=1)) == 1
    assert await locker.row(room, "f_crashed") is None
    assert not await locker.blobs.exists(locker.key(room, "f_crashed"))
    found = await locker.row(room, first)
    assert found is not None
    assert found.position == row.position  # its record was found


async def test_the_html_export_lists_files_with_their_hashes_escaped(server: RunningServer) -> None:
    room = await server.platform.open_room("T-html-files")
    token = await server.platform.token(room, "c-1", "client")
    made = (await upload(server, room, token, pdf(2000), "<b>invoice.pdf")).json()
    response = await server.platform.http.get(
        f"/api/rooms/{room}/export?format=html", headers=server.platform.auth
    )
    assert "&lt;b&gt;invoice.pdf" in response.text
    assert "<b>invoice" not in response.text
    assert made["sha256"] in response.text
