"""What a destination is handed and what it answers: one outbox row, one outcome.

A destination (Zendesk, a webhook endpoint, mail) turns a `Delivery` into one
outbound call and says how it went. It never sleeps, loops or retries itself:
the worker owns the schedule (backoff with jitter, `Retry-After`, dead letters)
and the order (one row at a time per destination and room).
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int  # the outbox row's, in commit order
    event_id: str  # the same on every attempt: the webhook-id, the Zendesk marker, the Message-ID
    destination: str  # "webhook", "zendesk", "mail", ...
    topic: str  # "room.claimed", "settlement.agreed", ...
    room_id: str
    ticket_provider: str
    ticket_id: str
    data: dict[str, Any]  # the event's fields: ids, state, terms; never message text
    created_at: datetime
    attempts: int  # attempts before this one (0 on the first)
    uncertain: bool  # an earlier attempt may have been applied (it timed out after sending)


@dataclass(frozen=True, slots=True)
class Delivered:
    """Done: the other side has it (or had it already)."""


@dataclass(frozen=True, slots=True)
class Retry:
    """Not now: try again later, not before `after` seconds when the other side said so
    (429/503 Retry-After). `uncertain`: the request may have been applied (a timeout
    once it was sent), so the next attempt must look before it sends again."""

    error: str
    after: float | None = None
    uncertain: bool = False


@dataclass(frozen=True, slots=True)
class Permanent:
    """Never: the other side refused it for good (a 4xx other than 408/409/429). The row
    becomes a dead letter, listed at GET /api/outbox?status=dead, retried by hand."""

    error: str


Outcome = Delivered | Retry | Permanent


class Destination(Protocol):
    @property
    def name(self) -> str: ...

    async def deliver(self, delivery: Delivery) -> Outcome: ...
