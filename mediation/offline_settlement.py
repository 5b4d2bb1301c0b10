"""`mediation verify --settlement FILE [BUNDLE]`: a settlement document checked offline,
alone or against the room's transcript bundle (transcripts.settlement_verify)."""

from pathlib import Path

from mediation import offline
from transcripts.settlement_verify import verify_settlement, verify_with_bundle
from transcripts.signing import load_public_pem


def verify_file(
    settlement: Path, public_key: Path, bundle: Path | None, files_dir: Path | None
) -> int:
    key = load_public_pem(public_key.read_bytes())
    data = settlement.read_bytes()
    if bundle is None:
        verdict = verify_settlement(data, key)
    else:
        with bundle.open("rb") as lines:
            verdict = verify_with_bundle(data, lines, key)
    print(("OK: " if verdict.ok else "BROKEN: ") + verdict.reason)
    if not verdict.ok:
        return 1
    if bundle is not None and files_dir is not None:  # the bundle's files: its own check
        return offline.verify_file(bundle, public_key, files_dir)
    return 0
