"""The destinations and routes the settings turn on (none by default): the webhook
endpoint, each ticket provider's own (Zendesk's notes, for Zendesk rooms), and the
arbitration endpoint (a room's signed transcript when it goes to arbitration)."""

from collections.abc import Sequence

from mediation.auth.sign_ins import SignIns
from mediation.config import Settings
from mediation.contacts import ContactsOf
from mediation.notices import NoticeMail
from mediation.outbox.arbitration import ArbitrationEndpoint, Bundles
from mediation.outbox.delivery import Destination
from mediation.outbox.mail import Mailer, MailSettings
from mediation.outbox.routes import Route, Routes
from mediation.outbox.settlement_webhook import Issue, SettlementWebhooks
from mediation.outbox.webhooks import WebhookEndpoint, Webhooks
from mediation.tickets.providers import TicketProviders
from rooms import events


def configured(
    settings: Settings,
    contacts: ContactsOf,
    sign_ins: SignIns,
    settlement: Issue | None = None,
    bundles: Bundles | None = None,
) -> tuple[Routes, Sequence[Destination]]:
    """Routes and destinations; the destinations own HTTP clients, closed by the worker's
    `aclose` at shutdown. `settlement` builds a room's signed settlement document, for the
    webhook's `settlement.agreed` events; `bundles` reads a room's signed transcript and
    files for the arbitration endpoint (without it, none is configured)."""
    routes: list[Route] = []
    destinations: list[Destination] = []
    if settings.webhook_url:
        topics = frozenset(settings.webhook_topics) or None
        endpoint = WebhookEndpoint("webhook", settings.webhook_url, settings.webhook_secret, topics)
        routes.append(Route(endpoint.name, topics))
        hooks = Webhooks(endpoint)
        with_document = settings.webhook_settlement_document
        destinations.append(
            hooks if settlement is None else SettlementWebhooks(hooks, settlement, with_document)
        )
    if settings.smtp_url:
        mailer = Mailer(MailSettings(settings.smtp_url, settings.mail_from))
        public = settings.public_url or f"http://{settings.host}:{settings.port}"
        mail = NoticeMail(mailer, contacts, sign_ins, public, settings.party_url)
        routes.append(Route(mail.name, frozenset({events.PARTY_WAITING, events.DEADLINE_WARNING})))
        destinations.append(mail)
    for name, provider in TicketProviders(settings).items():
        outbound = provider.outbound()
        if outbound is not None:
            routes.append(outbound.route(name))
            destinations.append(outbound.destination)
    if settings.arbitration_url and bundles is not None:
        arbitration = ArbitrationEndpoint(
            settings.arbitration_url, settings.arbitration_secret, bundles
        )
        routes.append(Route(arbitration.name, frozenset({events.ARBITRATION_REQUESTED})))
        destinations.append(arbitration)
    return Routes(routes), destinations
