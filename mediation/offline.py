"""Commands that work on the stored transcripts directly, without a running server:
export, verify, and the keys' public halves."""

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from mediation import key_file_rotation
from mediation.config import Settings
from mediation.server_secrets import Secrets, load_secrets
from mediation.storage import open_blobs
from mediation.transcript_html import render
from transcripts import retention
from transcripts.database import Database
from transcripts.errors import TranscriptError
from transcripts.export import Proof, bundle_lines, prove
from transcripts.locker import Locker
from transcripts.rotation import rewrap_all, rooms_under
from transcripts.signing import load_public_pem, public_pem
from transcripts.store import TranscriptStore
from transcripts.verify import check_files, verify


@asynccontextmanager
async def opened_store(settings: Settings) -> AsyncIterator[tuple[TranscriptStore, Secrets]]:
    keys = load_secrets(settings)
    db = Database(settings.resolved_database_url)
    try:
        yield TranscriptStore(db, keys.keyring), keys
    finally:
        await db.close()


async def export(
    settings: Settings, room_id: str, out: BinaryIO, html: bool, files_dir: Path | None = None
) -> int:
    """Prove the room (files included), write its bundle, and with `files_dir` a copy of
    every file in it, named by its id, as the bundle lists them."""
    async with opened_store(settings) as (store, keys):
        locker = Locker(store, open_blobs(settings))
        try:
            proof = await prove(store, room_id, locker)
            lines = bundle_lines(store, keys.signing, proof)
            async for chunk in render(lines) if html else lines:
                out.write(chunk)
            if files_dir is not None:
                copied = await _copy_files(locker, proof, files_dir)
                print(f"{copied} files written to {files_dir}", file=sys.stderr)
        except TranscriptError as exc:
            print(f"export refused: {exc}", file=sys.stderr)
            return 1
        finally:
            await locker.blobs.close()
    return 0


async def _copy_files(locker: Locker, proof: Proof, directory: Path) -> int:
    await asyncio.to_thread(directory.mkdir, parents=True, exist_ok=True)
    copied = 0
    for exported in proof.files:
        row = await locker.row(proof.room.id, exported.facts.file)
        if exported.deleted or row is None:
            continue
        part = directory / f"{row.id}.part"
        with part.open("wb") as copy:
            async for chunk in locker.open(row, exported.facts):
                copy.write(chunk)
        part.replace(directory / row.id)
        copied += 1
    return copied


def verify_file(bundle: Path, public_key: Path, files_dir: Path | None = None) -> int:
    key = load_public_pem(public_key.read_bytes())
    with bundle.open("rb") as lines:
        verdict = verify(lines, key)
    if files_dir is not None:
        verdict = check_files(verdict, files_dir)
    print(("OK: " if verdict.ok else "BROKEN: ") + verdict.reason)
    return 0 if verdict.ok else 1


async def rotate(settings: Settings, signing: bool) -> int:
    if signing:
        print(
            f"signing key {key_file_rotation.add_signing_key(settings)} is active; old exports "
            "still verify with their own keys"
        )
        return 0
    kek_id = key_file_rotation.add_kek(settings)
    print(f"key-encryption key {kek_id} is active")
    return await rewrap(settings)


async def rewrap(settings: Settings) -> int:
    async with opened_store(settings) as (store, secrets):
        moved = await rewrap_all(store.db, secrets.keyring)
    print(f"rewrapped {moved} rooms under {secrets.keyring.active}")
    return 0


async def retire(settings: Settings, kek_id: str) -> int:
    async with opened_store(settings) as (store, _):
        left = await rooms_under(store.db, kek_id)
    if left:
        print(
            f"{left} rooms still need {kek_id}: run `mediation keys rewrap` first", file=sys.stderr
        )
        return 1
    key_file_rotation.drop_kek(settings, kek_id)
    print(f"{kek_id} retired: nothing stored can be read with it any more")
    return 0


async def apply_retention(settings: Settings, dry_run: bool, older_than: int | None) -> int:
    days = older_than if older_than is not None else settings.retention_days
    if days <= 0:
        print("no retention period: set MEDIATION_RETENTION_DAYS or --older-than", file=sys.stderr)
        return 2
    cutoff = datetime.now(UTC) - timedelta(days=days)
    async with opened_store(settings) as (store, _):
        locker = Locker(store, open_blobs(settings))
        rooms = await retention.due(store.db, cutoff)
        for room in rooms:
            done = dry_run or await retention.shred(store.db, room.room_id, cutoff)
            verb = "would shred" if dry_run else ("shredded" if done else "skipped (changed)")
            print(f"{verb} {room.room_id} (ticket {room.ticket}, closed {room.closed_at:%Y-%m-%d})")
        if not dry_run:  # this run's rooms, and any a failed run left with files
            for room_id in await locker.shredded_with_files():
                await _purge_files(locker, room_id)
        await locker.blobs.close()
    print(f"{len(rooms)} closed rooms older than {days} days, not on legal hold")
    return 0


async def _purge_files(locker: Locker, room_id: str) -> None:
    """After the key is gone the files are unreadable already; their blobs go too,
    best effort: a later run finds what is left (the rows stay until then)."""
    try:
        purged = await locker.purge_room(room_id)
    except Exception as exc:
        print(f"  files of {room_id} not yet removed: {exc.__class__.__name__}", file=sys.stderr)
    else:
        if purged:
            print(f"  removed {purged} files of {room_id}")


def print_public_keys(settings: Settings) -> int:
    signing = load_secrets(settings).signing
    for key_id, key in signing.public().items():
        active = " (active)" if key_id == signing.active else ""
        print(f"# signing key {key_id}{active}\n{public_pem(key)}")
    return 0
