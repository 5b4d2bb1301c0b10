"""The workflow facts that are party words or amounts, sealed under the room's data key.

A room's row keeps in clear only what the database sorts and filters on
(see docs/architecture.md); the rest of its facts (offer, settlement,
ratings, floor, caucus) is one AES-GCM ciphertext whose associated data
names the room and the purpose, so it opens nowhere else. Destroying the
data key (retention) leaves it unreadable like the room's records.

The facts are read and written on every commit of the room, so a
`FactsSeals` remembers, per room, the last ciphertext it opened or made
with its plaintext: an unchanged ciphertext is not opened again, unchanged
facts are not sealed again.
"""

from typing import Any

import msgspec

from transcripts.envelope import RoomCipher

FACTS_TAG = "mediation.workflow-facts/1"
CONTACTS_TAG = "mediation.contacts/1"  # how to reach the room's people: sealed the same way


def facts_aad(room_id: str, tag: str = FACTS_TAG) -> bytes:
    return msgspec.json.encode([tag, room_id])


def seal_contacts(cipher: RoomCipher, contacts: list[dict[str, Any]]) -> bytes | None:
    if not contacts:
        return None
    return cipher.seal(msgspec.json.encode(contacts), facts_aad(cipher.room_id, CONTACTS_TAG))


def open_contacts(cipher: RoomCipher, sealed: bytes | None) -> list[dict[str, Any]]:
    if sealed is None:
        return []
    plain = cipher.open(sealed, facts_aad(cipher.room_id, CONTACTS_TAG), "contacts")
    return msgspec.json.decode(plain, type=list[dict[str, Any]])


def seal_facts(cipher: RoomCipher, facts: dict[str, Any]) -> bytes | None:
    """The facts sealed for their room's row; None when there are none."""
    return None if not facts else _seal(cipher, msgspec.json.encode(facts))


def open_facts(cipher: RoomCipher, sealed: bytes | None) -> dict[str, Any]:
    return {} if sealed is None else _decode(_open(cipher, sealed))


def _seal(cipher: RoomCipher, plaintext: bytes) -> bytes:
    return cipher.seal(plaintext, facts_aad(cipher.room_id))


def _open(cipher: RoomCipher, sealed: bytes) -> bytes:
    return cipher.open(sealed, facts_aad(cipher.room_id), "workflow facts")


def _decode(plaintext: bytes) -> dict[str, Any]:
    return msgspec.json.decode(plaintext, type=dict[str, Any])


class FactsSeals:
    """Seals and opens rooms' facts, skipping the work when nothing changed."""

    def __init__(self) -> None:
        self._last: dict[str, tuple[bytes, bytes]] = {}  # room -> (sealed, plaintext)

    def open(self, cipher: RoomCipher, sealed: bytes | None) -> dict[str, Any]:
        if sealed is None:
            return {}
        last = self._last.get(cipher.room_id)
        if last is None or last[0] != sealed:
            last = self._last[cipher.room_id] = (sealed, _open(cipher, sealed))
        return _decode(last[1])

    def seal(self, cipher: RoomCipher, facts: dict[str, Any]) -> bytes | None:
        if not facts:
            return None
        plaintext = msgspec.json.encode(facts)
        last = self._last.get(cipher.room_id)
        if last is None or last[1] != plaintext:
            last = self._last[cipher.room_id] = (_seal(cipher, plaintext), plaintext)
        return last[0]

    def forget(self, room_id: str) -> None:
        """Drop what is kept of a room (it was shredded)."""
        self._last.pop(room_id, None)
