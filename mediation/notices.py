"""Notice to people who are away: one mail and one `party.waiting` webhook when a party
(or the room's moderator) has unread records and no open socket for a while.

Every process keeps the presence of the people it holds sockets for fresh
(`transcripts.presence`) and, every `notice_tick`, looks for people away
longer than `notify_after` with something new they may see, written by
someone else: a message, a proposal or an answer, a reminder, a file, a
move of the room. Marking one notified and writing the outbox rows is one
transaction, guarded, so a notice is sent once whatever the number of
processes or restarts, and at most once per person per room per
`notify_every`. The mail holds who wrote and what kind of thing waits, never
the text; its link opens the host's page (`MEDIATION_PARTY_URL`) or signs
the person in once.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

from mediation.auth.sign_ins import SignIns
from mediation.contacts import Contact, ContactsOf, read
from mediation.outbox.delivery import Delivery, Outcome, Permanent
from mediation.outbox.mail import Mailer
from mediation.periodic import Periodic
from mediation.workflow_rules import StoreRules
from rooms import events, kinds
from rooms.events import Event
from rooms.visibility import Role, readable
from transcripts.presence import Away, Presence, Unread

log = logging.getLogger(__name__)

# What counts as something waiting for someone (joins, caucus marks, floor moves do not).
NOTICE_KINDS = (
    kinds.MESSAGE,
    kinds.PROPOSAL,
    kinds.RESPONSE,
    kinds.REMINDER,
    kinds.OVERDUE,
    kinds.FILE,
    kinds.STATE,
    kinds.EVIDENCE_REQUEST,
    kinds.EVIDENCE_REVIEW,
)
NOTIFIED_ROLES = frozenset({Role.CLIENT, Role.FREELANCER, Role.MODERATOR})


def what_waits(unread: Unread) -> str:
    """The most pressing kind of thing that waits: the mail names it."""
    if unread.kinds & {kinds.PROPOSAL, kinds.RESPONSE}:
        return "proposal"
    if kinds.EVIDENCE_REQUEST in unread.kinds:  # asked for something by a date
        return "evidence"
    if unread.kinds & {kinds.REMINDER, kinds.OVERDUE}:
        return "reminder"
    return "message"


def _iso(unix: float) -> str:
    at = datetime.fromtimestamp(unix, UTC)
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Notices:
    def __init__(
        self,
        presence: Presence,
        present: Callable[[], list[tuple[str, str]]],
        rules: StoreRules,
        contacts: ContactsOf,
        wake_outbox: Callable[[], None],
        after: float,
        every: float,
        tick: float,
    ) -> None:
        self._presence = presence
        self._present = present  # (room, user) of the sockets this process holds
        self._rules = rules
        self._contacts = contacts
        self._wake_outbox = wake_outbox
        self._after, self._every = after, every
        self.enabled = bool(rules.routes.of(events.PARTY_WAITING, ""))
        self._rounds = Periodic(
            "notice round", lambda: self.round(time.time()), tick, wait_first=False
        )
        self._pending: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        if self.enabled:
            self._rounds.start()

    async def close(self) -> None:
        await self._rounds.close()
        for task in list(self._pending):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def joined(self, room_id: str, user: str, role: str) -> None:
        """A socket of theirs is open: what they may see is read from now on."""
        if self.enabled and role in NOTIFIED_ROLES:
            await self._presence.joined(room_id, user, role, time.time())

    def left(self, room_id: str, user: str) -> None:
        """A socket closed: they saw everything up to now (written in the background)."""
        if not self.enabled:
            return
        task = asyncio.create_task(self._presence.left(room_id, user, time.time()))
        self._pending.add(task)
        task.add_done_callback(self._settled)

    def _settled(self, task: "asyncio.Task[None]") -> None:
        self._pending.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("presence not saved: %s", task.exception().__class__.__name__)

    async def round(self, now: float) -> int:
        """Refresh who is here, then notify who is owed it; how many were notified."""
        await self._presence.seen(self._present(), now)
        sent = 0
        for away in await self._presence.away(now - self._after, now - self._every, 200):
            sent += await self._consider(away, now)
        if sent:
            self._wake_outbox()
        return sent

    async def _consider(self, away: Away, now: float) -> int:
        channels = readable(Role(away.role))
        unread = await self._presence.unread(away, channels, NOTICE_KINDS)
        if unread is None or unread.newest <= away.notified_position:
            await self._presence.passed(away)  # nothing new for them: not asked again
            return 0
        contact = read(await self._contacts(away.room_id)).get(away.user)
        data = {
            "user": away.user,
            "role": away.role,
            "unread": unread.count,
            "since": _iso(away.seen_at),
            "what": what_waits(unread),
            "from": unread.last_sender[1],
            "from_user": unread.last_sender[0],
            "position": unread.newest,
            "at": _iso(now),
        }
        at = f"{away.room_id}.{unread.newest}.{away.user}"
        effects = self._rules.effects(
            away.room_id, away.provider, at, Event(events.PARTY_WAITING, data)
        )
        if contact is None or contact.email is None:
            effects = [e for e in effects if e.destination != NoticeMail.name]
        notified = await self._presence.notify(away, now - self._every, now, effects)
        return int(notified)


class NoticeMail:
    """The mail destination as the outbox sees it: the row names a person; their address,
    name and locale are opened from the room's sealed contacts only now, and the link is
    made now (a sign-in code lives at most a day)."""

    name = "mail"

    def __init__(
        self,
        mailer: Mailer,
        contacts: ContactsOf,
        sign_ins: SignIns,
        public_url: str,
        party_url: str = "",
    ) -> None:
        self._mailer = mailer
        self._contacts = contacts
        self._sign_ins = sign_ins
        self._public_url = public_url.rstrip("/")
        self._party_url = party_url

    async def deliver(self, delivery: Delivery) -> Outcome:
        people = read(await self._contacts(delivery.room_id))
        user = str(delivery.data.get("user", ""))
        person = people.get(user)
        if person is None or person.email is None:  # shredded since, or never given
            return Permanent("mail: no address for this person any more")
        data = dict(delivery.data)
        data |= {"name": person.name or user, "email": person.email, "locale": person.locale}
        data["from"] = self._sender(people, data)
        data["link"] = await self._link(delivery.room_id, user, str(data.get("role", "")))
        return await self._mailer.deliver(replace(delivery, data=data))

    @staticmethod
    def _sender(people: dict[str, Contact], data: dict[str, object]) -> str:
        """Who wrote last, as the mail names them: a party by name when known, else a
        role (the mail's words for it); the server's own reminders: nobody named."""
        role = str(data.get("from", ""))
        known = people.get(str(data.get("from_user", "")))
        if role in (Role.CLIENT, Role.FREELANCER) and known is not None and known.name:
            return known.name
        return role if role in (Role.MODERATOR, Role.CLIENT, Role.FREELANCER) else ""

    async def _link(self, room_id: str, user: str, role: str) -> str:
        if self._party_url:
            return self._party_url.replace("{room}", room_id)
        code = await self._sign_ins.create(room_id, user, role)
        return f"{self._public_url}/#signin={code}"
