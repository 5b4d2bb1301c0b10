"""Ed25519 keys that sign exported transcripts.

Every key has an id, written into each bundle it signs. Rotating adds a
new active key; old public keys stay published so old exports still verify.
"""

from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


def new_signing_seed() -> bytes:
    return Ed25519PrivateKey.generate().private_bytes_raw()


def public_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def load_public_pem(pem: bytes) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


@dataclass(frozen=True)
class SigningKeys:
    seeds: dict[str, bytes]  # id -> 32-byte Ed25519 seed
    active: str

    def __post_init__(self) -> None:
        if self.active not in self.seeds:
            raise ValueError(f"active signing key {self.active!r} is not in the keyring")

    def sign(self, payload: bytes) -> tuple[str, bytes]:
        key = Ed25519PrivateKey.from_private_bytes(self.seeds[self.active])
        return self.active, key.sign(payload)

    def public(self) -> dict[str, Ed25519PublicKey]:
        return {
            key_id: Ed25519PrivateKey.from_private_bytes(seed).public_key()
            for key_id, seed in self.seeds.items()
        }
