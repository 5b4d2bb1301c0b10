"""Where the server's secrets come from: environment first, else the key file.

With nothing configured (the embedded default) a key file is created once,
with a warning, so a laptop run needs no setup and keeps its data readable
across restarts. Production sets MEDIATION_MASTER_KEY and friends instead.
"""

import base64
import json
import logging
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mediation.config import Settings
from transcripts.key_encryption_keys import Keyring, new_key
from transcripts.signing import SigningKeys, new_signing_seed

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Secrets:
    keyring: Keyring
    token_secret: bytes
    api_key: str
    signing: SigningKeys


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def parse_key_list(spec: str, variable: str) -> tuple[dict[str, bytes], str]:
    """`id:base64url[,id:base64url...]`: the keys, and the first one's id (the active one)."""
    keys: dict[str, bytes] = {}
    for item in spec.split(","):
        key_id, _, encoded = item.strip().partition(":")
        if not key_id or not encoded:
            raise ValueError(f"{variable} must look like 'id:base64url,...'")
        keys[key_id] = unb64(encoded)
    return keys, next(iter(keys))


def parse_master_keys(spec: str) -> Keyring:
    return Keyring(*parse_key_list(spec, "MEDIATION_MASTER_KEY"))


def parse_signing_keys(spec: str) -> SigningKeys:
    return SigningKeys(*parse_key_list(spec, "MEDIATION_SIGNING_KEY"))


def new_signing_entry() -> dict[str, Any]:
    key_id = new_key_id("s")
    return {"active": key_id, "keys": {key_id: b64(new_signing_seed())}}


def new_key_id(prefix: str) -> str:
    return f"{prefix}-{datetime.now(UTC):%Y%m%d%H%M%S}-{secrets.token_hex(2)}"


def new_key_file_content() -> dict[str, Any]:
    kek_id = new_key_id("k")
    return {
        "keks": {kek_id: b64(new_key())},
        "active_kek": kek_id,
        "token_secret": b64(secrets.token_bytes(32)),
        "api_key": secrets.token_urlsafe(32),
        "signing": new_signing_entry(),
    }


def read_key_file(path: Path) -> dict[str, Any]:
    if not path.exists():
        log.warning(
            "no keys configured: creating %s. Keep it safe and back it up apart from the "
            "database: without it the stored transcripts cannot be read.",
            path,
        )
        write_key_file(path, new_key_file_content())
    content: dict[str, Any] = json.loads(path.read_text())
    if "signing" not in content:  # a key file from before exports were signed
        content["signing"] = new_signing_entry()
        write_key_file(path, content)
    return content


def write_key_file(path: Path, content: dict[str, Any]) -> None:
    """Write atomically and readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(content, out, indent=2)
    tmp.replace(path)


def load_secrets(settings: Settings) -> Secrets:
    complete = (
        settings.master_keys
        and settings.token_secret
        and settings.api_key
        and settings.signing_keys
    )
    file = {} if complete else read_key_file(settings.resolved_key_file)
    keyring = (
        parse_master_keys(settings.master_keys)
        if settings.master_keys
        else Keyring({k: unb64(v) for k, v in file["keks"].items()}, file["active_kek"])
    )
    token_secret = (
        settings.token_secret.encode() if settings.token_secret else unb64(file["token_secret"])
    )
    signing = (
        parse_signing_keys(settings.signing_keys)
        if settings.signing_keys
        else SigningKeys(
            {k: unb64(v) for k, v in file["signing"]["keys"].items()}, file["signing"]["active"]
        )
    )
    return Secrets(keyring, token_secret, settings.api_key or file["api_key"], signing)
