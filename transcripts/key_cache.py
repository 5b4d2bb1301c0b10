"""The key cache: each room's data key (opened from its wrapped key under the
key-encryption keys, kept CIPHER_TTL so a shredding reaches every process), the
keyring's refresh when keys rotate, and the sealed workflow facts opened and sealed
under those keys (the last ciphertext per room remembered, see `sealed_facts`).
"""

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Row, select

from transcripts.database import Database
from transcripts.envelope import RoomCipher
from transcripts.errors import Shredded
from transcripts.key_encryption_keys import Keyring
from transcripts.schema import rooms
from transcripts.sealed_facts import FactsSeals
from transcripts.store_types import Record, SealedFields, header_of

CIPHER_TTL = 60.0  # seconds a process keeps a room's data key before looking again
KEY_COLUMNS = (rooms.c.kek_id, rooms.c.wrapped_key, rooms.c.sealed_facts)  # to open the facts


class KeyCache:
    def __init__(
        self, db: Database, keyring: Keyring, reload: Callable[[], Keyring] | None = None
    ) -> None:
        self.db = db
        self.keyring = keyring
        self._reload = reload  # re-reads the keyring: keys may rotate while we run
        self.ciphers: dict[str, tuple[RoomCipher, float]] = {}  # with when it was loaded
        self._facts = FactsSeals()

    def refresh_keyring(self) -> None:
        if self._reload is not None:
            self.keyring = self._reload()

    async def open_facts(
        self, room_id: str, kek_id: str, wrapped_key: bytes | None, sealed: bytes | None
    ) -> dict[str, Any]:
        if sealed is None or wrapped_key is None:  # none yet, or shredded: gone with the key
            return {}
        return self.facts_with(await self.cipher(room_id, (kek_id, wrapped_key)), sealed)

    def facts_with(self, cipher: RoomCipher | None, sealed: bytes | None) -> dict[str, Any]:
        """Sealed facts opened with the room's cipher (None once shredded: gone with it)."""
        if sealed is None or cipher is None:
            return {}
        return self._facts.open(cipher, sealed)

    def seal_facts_with(self, cipher: RoomCipher, facts: dict[str, Any]) -> bytes | None:
        """The room's private facts sealed for its row (not again when unchanged)."""
        return self._facts.seal(cipher, facts)

    async def unseal(self, row: "SealedFields | Row[Any]") -> Record:
        """A stored row (or a record from another process) with its body decrypted."""
        return open_row(await self.cipher(row.room_id), row)

    async def cipher(self, room_id: str, key: tuple[str, bytes | None] | None = None) -> RoomCipher:
        """The room's data key, cached for CIPHER_TTL so a shredding reaches every process;
        `key` is its (kek_id, wrapped_key) when the caller has just read them."""
        cached = self.cached(room_id)
        if cached is not None:
            return cached
        if key is None:
            query = select(rooms.c.kek_id, rooms.c.wrapped_key).where(rooms.c.id == room_id)
            async with self.db.read() as conn:
                key_row = (await conn.execute(query)).one()
            key = (key_row.kek_id, key_row.wrapped_key)
        return self.opened(room_id, *key)

    def cached(self, room_id: str) -> RoomCipher | None:
        cached = self.ciphers.get(room_id)
        if cached is not None and time.monotonic() - cached[1] < CIPHER_TTL:
            return cached[0]
        return None

    def opened(self, room_id: str, kek_id: str, wrapped_key: bytes | None) -> RoomCipher:
        """The room's data key from its row's key columns, just read (no I/O but the key
        file's, when the key was wrapped under a key added since we started). Called from
        the SQLite writer's thread too: a race only unwraps the same key twice."""
        cached = self.cached(room_id)
        if cached is not None:
            return cached
        if wrapped_key is None:
            self.ciphers.pop(room_id, None)
            self._facts.forget(room_id)
            raise Shredded(f"room {room_id}: its transcript was destroyed under retention")
        if kek_id not in self.keyring.keks:
            self.refresh_keyring()  # rewrapped under a key added since we started
        cipher = RoomCipher(room_id, self.keyring.unwrap(room_id, kek_id, wrapped_key))
        self.ciphers[room_id] = (cipher, time.monotonic())
        return cipher


def open_row(cipher: RoomCipher, row: "SealedFields | Row[Any]") -> Record:
    """A stored row with its body decrypted under its room's `cipher` (a redacted one's
    body is gone: "", its SHA-256 and its redaction's position kept)."""
    body_sha256 = getattr(row, "body_sha256", None)  # rows from another process: never
    body, sealed = "", b""
    if body_sha256 is None:
        where = f"{row.channel} #{row.seq}"  # what its readers know; the position goes apart
        body = cipher.open(row.sealed, header_of(row), where, row.position).decode()
        sealed = row.sealed
    return Record(
        row.room_id,
        row.position,
        row.channel,
        row.seq,
        row.kind,
        row.sender_user,
        row.sender_role,
        row.client_id,
        body,
        row.ts,
        row.hash,
        sealed,
        body_sha256=body_sha256,
        redacted_by=getattr(row, "redacted_by", None),
    )
