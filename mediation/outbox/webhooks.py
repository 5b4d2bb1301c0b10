"""Webhooks to the host marketplace, per the Standard Webhooks spec (standardwebhooks.com).

One delivery is one signed POST of `{"type", "timestamp", "data"}`. The `webhook-id` is
the row's event id, the same on every attempt, so receivers dedupe on it and a retry
after a lost answer is safe. The worker owns the schedule; this only says how it went.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from math import floor
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import msgspec
from standardwebhooks import Webhook

from mediation.outbox.delivery import Delivered, Delivery, Outcome, Permanent, Retry
from mediation.outbox.retry_after import retry_after

if TYPE_CHECKING:  # httpx (~5 MB resident) loads with the first destination made
    import httpx

USER_AGENT = "mediation-webhooks/1"

# Retried: the request timed out at their end, a conflict with their own concurrent work,
# too early, rate limited. Every 5xx is retried too; 410 and the other 4xx are not.
_RETRIED_4XX = frozenset({408, 409, 425, 429})


@dataclass(frozen=True, slots=True)
class WebhookEndpoint:
    """Where events go: `secret` is `whsec_` and base64; `topics` None means all of them."""

    name: str  # "webhook", "webhook:billing": the Destination's name
    url: str
    secret: str = field(repr=False)
    topics: frozenset[str] | None = None

    def wants(self, topic: str) -> bool:
        return self.topics is None or topic in self.topics


class Webhooks:
    """A Destination: each delivery one signed POST to one endpoint, no redirects followed."""

    def __init__(
        self,
        endpoint: WebhookEndpoint,
        client: "httpx.AsyncClient | None" = None,
        timeout: float = 10.0,
    ) -> None:
        self.endpoint = endpoint
        self._signer = Webhook(endpoint.secret)  # refuses an empty secret here, not per row
        self._timeout = timeout
        self._owns_client = client is None
        import httpx

        self._client = client if client is not None else httpx.AsyncClient(timeout=timeout)

    @property
    def name(self) -> str:
        return self.endpoint.name

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def body(self, delivery: Delivery) -> bytes:
        """The exact bytes sent (and signed): compact JSON."""
        data: dict[str, Any] = {
            "room": delivery.room_id,
            "ticket": {"provider": delivery.ticket_provider, "id": delivery.ticket_id},
            **delivery.data,
        }
        payload = {"type": delivery.topic, "timestamp": _iso(delivery.created_at), "data": data}
        return msgspec.json.encode(payload)

    def headers(self, delivery: Delivery, body: bytes, now: datetime) -> dict[str, str]:
        """The Standard Webhooks headers for `body`, signed at `now` (whole seconds)."""
        seconds = floor(now.timestamp())
        signature = self._signer.sign(
            msg_id=delivery.event_id,
            timestamp=datetime.fromtimestamp(seconds, UTC),
            data=body.decode(),
        )
        return {
            "webhook-id": delivery.event_id,
            "webhook-timestamp": str(seconds),
            "webhook-signature": signature,
            "content-type": "application/json",
            "user-agent": USER_AGENT,
        }

    async def deliver(self, delivery: Delivery) -> Outcome:
        if not self.endpoint.wants(delivery.topic):
            return Delivered()  # not subscribed: nothing to send
        try:
            body = self.body(delivery)
        except (TypeError, msgspec.EncodeError) as exc:
            return Permanent(f"event data not encodable as JSON ({type(exc).__name__})")
        headers = self.headers(delivery, body, datetime.now(UTC))
        import httpx  # loaded by __init__ already: a lookup

        try:
            response = await self._client.post(
                self.endpoint.url,
                content=body,
                headers=headers,
                timeout=self._timeout,
                follow_redirects=False,
            )
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            return Permanent(f"bad endpoint url ({type(exc).__name__})")
        except httpx.TimeoutException as exc:
            return Retry(f"timed out ({type(exc).__name__})")
        except httpx.HTTPError as exc:  # refused, reset, DNS, protocol errors
            return Retry(self._scrub(f"{type(exc).__name__}: {exc}"))
        return _outcome(response)

    def _scrub(self, text: str) -> str:
        """An error string without the endpoint's url (it may carry a token) or secret."""
        for secret in (self.endpoint.url, self.endpoint.secret, self.endpoint.secret[6:]):
            if len(secret) >= 8:
                text = text.replace(secret, "<redacted>")
        return text


def _outcome(response: "httpx.Response") -> Outcome:
    status = response.status_code
    if 200 <= status < 300:
        return Delivered()
    error = f"HTTP {status} {response.reason_phrase}".rstrip()
    if status == 410:
        return Permanent(f"endpoint gone ({error})")
    if status in _RETRIED_4XX or status >= 500:
        after = retry_after(response.headers.get("retry-after"), datetime.now(UTC))
        return Retry(error, after=after)
    if 300 <= status < 400:
        return Permanent(f"redirect not followed ({error})")
    return Permanent(error)


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
