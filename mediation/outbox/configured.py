"""The destinations and routes the settings turn on (none by default)."""

from collections.abc import Sequence

from mediation.config import Settings
from mediation.outbox.delivery import Destination
from mediation.outbox.routes import Route, Routes
from mediation.outbox.webhooks import WebhookEndpoint, Webhooks


def configured(settings: Settings) -> tuple[Routes, Sequence[Destination]]:
    routes: list[Route] = []
    destinations: list[Destination] = []
    if settings.webhook_url:
        topics = frozenset(settings.webhook_topics) or None
        endpoint = WebhookEndpoint("webhook", settings.webhook_url, settings.webhook_secret, topics)
        routes.append(Route(endpoint.name, topics))
        destinations.append(Webhooks(endpoint))
    return Routes(routes), destinations
