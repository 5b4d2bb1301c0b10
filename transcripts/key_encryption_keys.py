"""Key-encryption keys (KEKs) and the wrapping of per-room data keys.

Every KEK has an id; one is active for wrapping, the others stay live so
data keys wrapped under them still open while they are rewrapped.
"""

import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from transcripts.errors import Tampered

KEY_BYTES = 32
NONCE_BYTES = 12


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=KEY_BYTES * 8)


def _wrap_aad(room_id: str, kek_id: str) -> bytes:
    return f"mediation/data-key/v1\x00{room_id}\x00{kek_id}".encode()


@dataclass(frozen=True)
class Keyring:
    keks: dict[str, bytes]
    active: str

    def __post_init__(self) -> None:
        if self.active not in self.keks:
            raise ValueError(f"active key {self.active!r} is not in the keyring")
        for kek_id, key in self.keks.items():
            if len(key) != KEY_BYTES:
                raise ValueError(f"key {kek_id!r} must be {KEY_BYTES} bytes")

    def wrap(self, room_id: str, data_key: bytes) -> tuple[str, bytes]:
        """Encrypt a room's data key under the active KEK, bound to the room."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self.keks[self.active]).encrypt(
            nonce, data_key, _wrap_aad(room_id, self.active)
        )
        return self.active, nonce + sealed

    def unwrap(self, room_id: str, kek_id: str, wrapped: bytes) -> bytes:
        key = self.keks.get(kek_id)
        if key is None:
            raise Tampered(f"room {room_id}: its data key is wrapped by unknown key {kek_id!r}")
        try:
            return AESGCM(key).decrypt(
                wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], _wrap_aad(room_id, kek_id)
            )
        except InvalidTag:
            raise Tampered(f"room {room_id}: its wrapped data key does not open") from None
