"""Rotating keys in the key file on disk: add a KEK or a signing key, retire a KEK.
(Deployments that set keys in the environment roll new keys out there, then run
`mediation keys rewrap`.)"""

from mediation.config import Settings
from mediation.server_secrets import b64, new_key_id, read_key_file, write_key_file
from transcripts.key_encryption_keys import new_key
from transcripts.signing import new_signing_seed


class KeysInEnvironment(SystemExit):
    pass


def _file(settings: Settings, variable: str, configured: str) -> dict[str, object]:
    if configured:
        raise KeysInEnvironment(
            f"keys come from {variable}: add the new key there (first = active) on every "
            "process, then run `mediation keys rewrap`"
        )
    return read_key_file(settings.resolved_key_file)


def add_kek(settings: Settings) -> str:
    """A new key-encryption key, active from now on; the old ones stay to be rewrapped from."""
    content = _file(settings, "MEDIATION_MASTER_KEY", settings.master_keys)
    kek_id = new_key_id("k")
    keks = content["keks"]
    assert isinstance(keks, dict)
    keks[kek_id] = b64(new_key())
    content["active_kek"] = kek_id
    write_key_file(settings.resolved_key_file, content)
    return kek_id


def add_signing_key(settings: Settings) -> str:
    """A new Ed25519 signing key, active from now on; old ones stay so old exports verify."""
    content = _file(settings, "MEDIATION_SIGNING_KEY", settings.signing_keys)
    key_id = new_key_id("s")
    signing = content["signing"]
    assert isinstance(signing, dict)
    signing["keys"][key_id] = b64(new_signing_seed())
    signing["active"] = key_id
    write_key_file(settings.resolved_key_file, content)
    return key_id


def drop_kek(settings: Settings, kek_id: str) -> None:
    content = _file(settings, "MEDIATION_MASTER_KEY", settings.master_keys)
    keks = content["keks"]
    assert isinstance(keks, dict)
    if kek_id == content["active_kek"]:
        raise SystemExit(f"{kek_id} is the active key: rotate first")
    if kek_id not in keks:
        raise SystemExit(f"no key {kek_id}")
    del keks[kek_id]
    write_key_file(settings.resolved_key_file, content)
