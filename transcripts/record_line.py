"""A record as the offline readers take it: the evidence ledger and the settlement.

One shape for a record read from the store (`of`) or from a verified bundle
line (`read`), so the export, the server's settlement and `mediation verify`
read records the same way.
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the offline verifier reads bundles without the store's modules
    from transcripts.store_types import Record


@dataclass(frozen=True, slots=True)
class RecordLine:
    """A record's header fields, its body (JSON text) and its chain link (`hash`, hex)."""

    position: int
    channel: str
    seq: int
    kind: str
    sender_user: str
    sender_role: str
    ts: str
    body: str
    hash: str

    @classmethod
    def of(cls, r: "Record") -> "RecordLine":
        return cls(
            r.position, r.channel, r.seq, r.kind, r.sender_user, r.sender_role, r.ts, r.body,
            r.hash.hex(),
        )  # fmt: skip

    @classmethod
    def read(cls, obj: dict[str, Any]) -> "RecordLine":
        """A bundle's record line; KeyError, TypeError or ValueError if it is not one."""
        sender = obj["sender"]
        return cls(
            int(obj["position"]),
            str(obj["channel"]),
            int(obj["seq"]),
            str(obj["kind"]),
            str(sender["user"]),
            str(sender["role"]),
            str(obj["ts"]),
            str(obj["body"]),
            str(obj["hash"]),
        )
