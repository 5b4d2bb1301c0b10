"""`settlement.agreed` webhooks with the signed settlement document's particulars.

The event is raised inside the commit of the last acceptance, before the
records it settles on have their link hashes (the resolution is numbered
after it, in the same commit), so its outbox row cannot hold the document.
The document is a pure function of the stored records and the signing key
(transcripts.settlement_reads): this destination builds it when it delivers
the row, and the row still leaves through the one outbox, in its room's
order, retried like any other. A build that fails for want of the database
raises, and the worker retries the delivery.

What it adds to the event's data, as `settlement` (docs/webhooks.md):
`{"url", "sha256", "key_id"}`: where the parties and the platform download
the document, the SHA-256 of its bytes, the signing key; with
MEDIATION_WEBHOOK_SETTLEMENT_DOCUMENT on, also `document`, the document's
exact text (it holds the terms' free text, which webhooks otherwise never
carry). `null` when the records hold no settlement both parties accepted (or
they no longer open): the operator finds why in the log.
"""

import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import msgspec

from mediation.outbox.delivery import Delivery, Outcome
from mediation.outbox.webhooks import Webhooks
from rooms import events
from transcripts.errors import Shredded, Tampered, UnknownRoom
from transcripts.settlement_artifact import NotSettled

log = logging.getLogger(__name__)

Issue = Callable[[str], Awaitable[bytes]]  # a room id -> its signed settlement document


class SettlementWebhooks:
    """A Destination: the webhook endpoint, its `settlement.agreed` events completed."""

    def __init__(self, webhooks: Webhooks, issue: Issue, with_document: bool = False) -> None:
        self.webhooks = webhooks
        self._issue = issue
        self._with_document = with_document

    @property
    def name(self) -> str:
        return self.webhooks.name

    async def aclose(self) -> None:
        await self.webhooks.aclose()

    async def deliver(self, delivery: Delivery) -> Outcome:
        wanted = self.webhooks.endpoint.wants(delivery.topic)
        if delivery.topic != events.SETTLEMENT_AGREED or not wanted:
            return await self.webhooks.deliver(delivery)
        data = {**delivery.data, "settlement": await self.particulars(delivery.room_id)}
        return await self.webhooks.deliver(replace(delivery, data=data))

    async def particulars(self, room_id: str) -> dict[str, Any] | None:
        try:
            document = await self._issue(room_id)
        except (NotSettled, Tampered, Shredded, UnknownRoom) as exc:
            log.warning("settlement.agreed without its document: %s", exc, extra={"room": room_id})
            return None
        out: dict[str, Any] = {
            "url": f"/api/rooms/{room_id}/settlement",
            "sha256": hashlib.sha256(document).hexdigest(),
            "key_id": msgspec.json.decode(document)["key_id"],
        }
        if self._with_document:
            out["document"] = document.decode()
        return out
