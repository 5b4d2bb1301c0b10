"""AES-256-GCM sealing of records under their room's data key.

The associated data is the record's canonical header (room, position,
channel, seq, sender, ...), so a ciphertext copied into another row, room
or position no longer opens.
"""

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from transcripts.errors import Tampered
from transcripts.key_encryption_keys import NONCE_BYTES


class RoomCipher:
    __slots__ = ("_aead", "room_id")

    def __init__(self, room_id: str, data_key: bytes) -> None:
        self.room_id = room_id
        self._aead = AESGCM(data_key)

    def seal(self, plaintext: bytes, header: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext, header)

    def open(self, sealed: bytes, header: bytes, where: str, position: int | None = None) -> bytes:
        """The plaintext; Tampered naming `where` (and, apart, the record's `position`)."""
        try:
            return self._aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], header)
        except InvalidTag:
            raise Tampered(
                f"room {self.room_id} {where}: ciphertext does not match its record", position
            ) from None
