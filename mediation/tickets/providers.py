"""Ticket providers: where a room's ticket lives, and what its events do there.

A provider says what opening a room for one of its tickets does here first
(`local` keeps the ticket in our `tickets` table; `zendesk` keeps nothing), and
which outbox destination, if any, hears its rooms' events. A new one (Freshdesk,
Jira Service Management) is a module with a `provider(settings)` factory and a
line in `FACTORIES`.
"""

from collections.abc import Callable, Iterator, Mapping
from typing import Protocol

from mediation.config import Settings
from mediation.outbox.routes import Outbound
from mediation.tickets import local, zendesk
from transcripts.database import Database


class TicketProvider(Protocol):
    @property
    def name(self) -> str: ...

    async def opening(self, db: Database, ticket_id: str, subject: str) -> None:
        """Before a room opens for `ticket_id`: whatever the ticket needs here."""
        ...

    def outbound(self) -> Outbound | None:
        """A new destination for this provider's rooms' events (its own client: the
        caller closes it), or None when the provider hears none."""
        ...


# Each makes its provider from the settings, or None when the settings leave it off.
FACTORIES: tuple[Callable[[Settings], TicketProvider | None], ...] = (
    local.provider,
    zendesk.provider,
)


class TicketProviders(Mapping[str, TicketProvider]):
    """The providers the settings turn on, by name."""

    def __init__(self, settings: Settings) -> None:
        made = (factory(settings) for factory in FACTORIES)
        self._by_name = {p.name: p for p in made if p is not None}

    def __getitem__(self, name: str) -> TicketProvider:
        return self._by_name[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_name)

    def __len__(self) -> int:
        return len(self._by_name)
