"""The arbitration endpoint: a room going to arbitration sends its signed transcript there.

When `MEDIATION_ARBITRATION_URL` is set, each `arbitration.requested` event becomes one
outbox row for this destination. Delivering it proves the room (its chain and every
stored file, as an export does), and POSTs, signed per Standard Webhooks with
`MEDIATION_ARBITRATION_SECRET`, one JSON document:

    {"type": "arbitration.requested", "timestamp": ...,
     "data": {"room", "ticket", "by", "state", "position", "at",
              "transcript": the signed bundle (JSON Lines, as GET /api/rooms/R/export),
              "files": [{"file", "name", "content_type", "size", "sha256", "channel",
                         "content": base64 of its bytes}, ...]}}

The bundle is the whole room (every channel: a chain cannot be verified with records
left out), as of the delivery; the files are every file not deleted, each with the
SHA-256 the bundle's signed records state. The worker's schedule applies as to any
destination: retries with backoff, dead letters after `outbox_max_age`.
"""

import base64
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from mediation.outbox.delivery import Delivery, Outcome, Permanent
from mediation.outbox.webhooks import WebhookEndpoint, Webhooks
from rooms import events
from transcripts.blobs import BlobMissing
from transcripts.errors import Tampered, UnknownRoom
from transcripts.export import bundle_lines, prove
from transcripts.locker import Locker
from transcripts.signing import SigningKeys
from transcripts.store import TranscriptStore

NAME = "arbitration"
TOPICS = frozenset({events.ARBITRATION_REQUESTED})

# room id -> what goes with the event: {"transcript": ..., "files": [...]}
Bundles = Callable[[str], Awaitable[dict[str, Any]]]


async def arbitration_bundle(
    store: TranscriptStore, signing: SigningKeys, locker: Locker, room_id: str
) -> dict[str, Any]:
    """The room's signed transcript and its files, proven before anything is read out."""
    proof = await prove(store, room_id, locker)
    transcript = b"".join([line async for line in bundle_lines(store, signing, proof)])
    files = []
    for exported in proof.files:
        if exported.deleted:
            continue
        row = await locker.row(room_id, exported.facts.file)
        if row is None:
            raise Tampered(f"room {room_id} file {exported.facts.file}: its stored copy is missing")
        content = b"".join([chunk async for chunk in locker.open(row, exported.facts)])
        line = exported.line()
        files.append(
            {
                "file": line["file"],
                "name": line["name"],
                "content_type": line["content_type"],
                "size": line["size"],
                "sha256": line["sha256"],
                "channel": line["channel"],
                "content": base64.b64encode(content).decode(),
            }
        )
    return {"transcript": transcript.decode(), "files": files}


class ArbitrationEndpoint:
    """A Destination: each delivery one signed POST of the event with the room's bundle."""

    def __init__(self, url: str, secret: str, bundles: Bundles, timeout: float = 60.0) -> None:
        endpoint = WebhookEndpoint(NAME, url, secret, TOPICS)
        self._hooks = Webhooks(endpoint, timeout=timeout)
        self._bundles = bundles

    @property
    def name(self) -> str:
        return NAME

    async def aclose(self) -> None:
        await self._hooks.aclose()

    async def deliver(self, delivery: Delivery) -> Outcome:
        if delivery.topic not in TOPICS:
            return await self._hooks.deliver(delivery)  # not wanted: Delivered, nothing sent
        try:
            sent = await self._bundles(delivery.room_id)
        except UnknownRoom:
            return Permanent("the room is gone")
        except (Tampered, BlobMissing) as exc:  # not sent as proof of anything: by hand
            detail = exc.detail if isinstance(exc, Tampered) else str(exc)
            return Permanent(f"the room's transcript failed its proof: {detail}")
        return await self._hooks.deliver(replace(delivery, data={**delivery.data, **sent}))
