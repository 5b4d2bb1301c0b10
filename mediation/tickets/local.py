"""The built-in ticket provider: tickets live in our own database."""

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from mediation.config import Settings
from mediation.tickets.schema import tickets
from transcripts.database import Database

PROVIDER = "local"


@dataclass(frozen=True, slots=True)
class TicketRecord:
    provider: str
    id: str
    subject: str
    status: str


class LocalTickets:
    provider = PROVIDER

    def __init__(self, db: Database) -> None:
        self._db = db

    async def ensure(self, ticket_id: str, subject: str = "") -> TicketRecord:
        """The ticket with this id, opened now if it did not exist yet."""
        existing = await self.get(ticket_id)
        if existing is not None:
            return existing
        try:
            async with self._db.write() as conn:
                await conn.execute(
                    tickets.insert().values(
                        provider=PROVIDER,
                        external_id=ticket_id,
                        subject=subject,
                        status="open",
                        created_at=datetime.now(UTC),
                    )
                )
        except IntegrityError:
            pass  # opened concurrently: fine, read it back
        ticket = await self.get(ticket_id)
        assert ticket is not None
        return ticket

    async def get(self, ticket_id: str) -> TicketRecord | None:
        query = select(
            tickets.c.provider, tickets.c.external_id, tickets.c.subject, tickets.c.status
        ).where(tickets.c.provider == PROVIDER, tickets.c.external_id == ticket_id)
        async with self._db.read() as conn:
            row = (await conn.execute(query)).first()
        return TicketRecord(*row) if row is not None else None


class LocalProvider:
    """The built-in provider: tickets in our own table, no outbound destination."""

    name = PROVIDER

    async def opening(self, db: Database, ticket_id: str, subject: str) -> None:
        await LocalTickets(db).ensure(ticket_id, subject)

    def outbound(self) -> None:
        return None


def provider(_settings: Settings) -> LocalProvider:
    return LocalProvider()
