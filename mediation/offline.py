"""Commands that work on the stored transcripts directly, without a running server:
export, verify, and the keys' public halves."""

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from mediation import keys
from mediation.config import Settings
from mediation.secrets import Secrets, load_secrets
from mediation.transcript_html import render
from transcripts import retention
from transcripts.database import Database
from transcripts.errors import TranscriptError
from transcripts.export import export_bundle
from transcripts.rotation import rewrap_all, rooms_under
from transcripts.signing import load_public_pem, public_pem
from transcripts.store import TranscriptStore
from transcripts.verify import verify


@asynccontextmanager
async def opened_store(settings: Settings) -> AsyncIterator[tuple[TranscriptStore, Secrets]]:
    keys = load_secrets(settings)
    db = Database(settings.resolved_database_url)
    try:
        yield TranscriptStore(db, keys.keyring), keys
    finally:
        await db.close()


async def export(settings: Settings, room_id: str, out: BinaryIO, html: bool) -> int:
    async with opened_store(settings) as (store, keys):
        try:
            lines = await export_bundle(store, keys.signing, room_id)
        except TranscriptError as exc:
            print(f"export refused: {exc}", file=sys.stderr)
            return 1
        async for chunk in render(lines) if html else lines:
            out.write(chunk)
    return 0


def verify_file(bundle: Path, public_key: Path) -> int:
    key = load_public_pem(public_key.read_bytes())
    with bundle.open("rb") as lines:
        verdict = verify(lines, key)
    print(("OK: " if verdict.ok else "BROKEN: ") + verdict.reason)
    return 0 if verdict.ok else 1


async def rotate(settings: Settings, signing: bool) -> int:
    if signing:
        print(
            f"signing key {keys.add_signing_key(settings)} is active; old exports still "
            "verify with their own keys"
        )
        return 0
    kek_id = keys.add_kek(settings)
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
    keys.drop_kek(settings, kek_id)
    print(f"{kek_id} retired: nothing stored can be read with it any more")
    return 0


async def apply_retention(settings: Settings, dry_run: bool, older_than: int | None) -> int:
    days = older_than if older_than is not None else settings.retention_days
    if days <= 0:
        print("no retention period: set MEDIATION_RETENTION_DAYS or --older-than", file=sys.stderr)
        return 2
    cutoff = datetime.now(UTC) - timedelta(days=days)
    async with opened_store(settings) as (store, _):
        rooms = await retention.due(store.db, cutoff)
        for room in rooms:
            done = dry_run or await retention.shred(store.db, room.room_id, cutoff)
            verb = "would shred" if dry_run else ("shredded" if done else "skipped (changed)")
            print(f"{verb} {room.room_id} (ticket {room.ticket}, closed {room.closed_at:%Y-%m-%d})")
    print(f"{len(rooms)} closed rooms older than {days} days, not on legal hold")
    return 0


def print_public_keys(settings: Settings) -> int:
    signing = load_secrets(settings).signing
    for key_id, key in signing.public().items():
        active = " (active)" if key_id == signing.active else ""
        print(f"# signing key {key_id}{active}\n{public_pem(key)}")
    return 0
