"""Revoking tokens on every process: store, remember, close their sockets, tell the others.

The broker hands this module what other processes publish: revocations
are applied here, everything else goes on to the hub. With one process
(the in-memory broker) publishing reaches nobody, and the revocation was
applied here already.
"""

import asyncio
import logging
from typing import Protocol

from mediation.auth.revocations import Revocations, load, save
from mediation.auth.tokens import Grant
from mediation.protocol.codes import CloseCode
from mediation.ws.people import People
from rooms.broker import Broker, Published, Revoked
from rooms.hub import Hub
from transcripts.database import Database

log = logging.getLogger(__name__)


class Revocable(Protocol):
    """A joined socket, as revocation sees it."""

    @property
    def grant(self) -> Grant | None: ...

    def end(self, code: int, reason: str) -> None:
        """Tell the client why, then close with `code` once its queue is written."""
        ...


class Revoker:
    def __init__(
        self,
        hub: Hub,
        db: Database,
        broker: Broker,
        revocations: Revocations,
        people: People[Revocable],
    ) -> None:
        self._hub = hub
        self._db = db
        self._broker = broker
        self._revocations = revocations
        self._people = people
        self._tasks: set[asyncio.Task[None]] = set()

    async def revoke(self, revoked: Revoked) -> None:
        """Durably first: a revocation that answered 201 survives any restart."""
        await save(self._db, revoked)
        self._apply(revoked)
        self._broker.publish(revoked.room, revoked)

    async def reload(self) -> None:
        """Every revocation in force, from the database: at startup, and after the broker
        was away (what it published meanwhile is lost)."""
        for revoked in await load(self._db):
            self._apply(revoked)

    # the broker's Receiver

    def remote(self, room_id: str, event: Published) -> None:
        if isinstance(event, Revoked):
            self._apply(event)
        else:
            self._hub.remote(room_id, event)

    def resync(self) -> None:
        self._hub.resync()
        task = asyncio.create_task(self._reload_quietly())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _reload_quietly(self) -> None:
        try:
            await self.reload()
        except Exception as exc:  # the next resync, or restart, tries again
            log.warning("could not reload revocations: %s", exc.__class__.__name__)

    def _apply(self, revoked: Revoked) -> None:
        self._revocations.add(revoked)
        for socket in self._people.everyone():
            if socket.grant is not None and self._revocations(socket.grant):
                socket.end(CloseCode.UNAUTHORIZED, "token revoked")
