"""One participant's session: the protocol v1 state machine over a socket.

Before `hello` only `hello` is accepted; `hello` authenticates, joins the
room, sends `welcome` and the replay, then hands writing to the
connection's writer. After that, `send` frames go to the room and each
gets exactly one `ack` or `error`.
"""

import asyncio
import logging
import math
import time
from datetime import UTC, datetime
from functools import partial

from sqlalchemy.exc import SQLAlchemyError

from mediation.auth.tokens import Grant, InvalidToken, TokenIssuer
from mediation.config import Settings
from mediation.contacts import ContactsOf, own_locale
from mediation.contacts import names as display_names
from mediation.loop_metrics import LoopHistogram
from mediation.protocol.codec import FrameError, decode, message, to_frame
from mediation.protocol.codes import CloseCode, ErrorCode
from mediation.protocol.frames import (
    Ack,
    Caucus,
    CoModerator,
    Decide,
    Edit,
    Error,
    FloorControl,
    Hello,
    History,
    HistoryPage,
    OptIn,
    Participant,
    Propose,
    Rate,
    Redact,
    RequestEvidence,
    Respond,
    Retract,
    ReviewEvidence,
    RoomView,
    Send,
    ServerFrame,
    SetDeadline,
    Ticket,
    Token,
    TokenAccepted,
    Transfer,
    Transition,
    TypingHint,
    Welcome,
    WithdrawDeadline,
    You,
)
from mediation.revoking import Revocable
from mediation.timers import Timer, timers
from mediation.ws.connection import Connection
from mediation.ws.people import People, Person
from rooms import comoderators, members
from rooms.arbitration import decision_body, opt_in_body
from rooms.deadlines import deadline_body, due_time, withdrawal_body
from rooms.errors import RoomError
from rooms.evidence import request_body, review_body
from rooms.hub import Hub, Joined
from rooms.kinds import (
    ARBITRATION_OPT_IN,
    CAUCUS,
    COMODERATOR,
    DEADLINE,
    DEADLINE_ENDED,
    DECISION,
    EVIDENCE_REQUEST,
    EVIDENCE_REVIEW,
    HANDOFF,
    PROPOSAL,
    RESPONSE,
)
from rooms.ports import Member, StoredMessage
from rooms.settlement import expiry, proposal_body, response_body, terms
from rooms.visibility import JOINT, NOTES, ROOM, SILENT, Role
from rooms.workflow import caucus_body, handoff_body
from transcripts.access_log import AccessLog
from transcripts.errors import Tampered, TranscriptError

log = logging.getLogger(__name__)

# frames that store a record
Writes = (
    Send
    | Edit
    | Retract
    | Transition
    | FloorControl
    | Caucus
    | Transfer
    | Propose
    | Respond
    | Rate
    | OptIn
    | Decide
    | SetDeadline
    | WithdrawDeadline
    | RequestEvidence
    | ReviewEvidence
    | Redact
    | CoModerator
)

CLOSE_FOR = {
    ErrorCode.UNAUTHORIZED: CloseCode.UNAUTHORIZED,
    ErrorCode.FORBIDDEN: CloseCode.FORBIDDEN,
    ErrorCode.NOT_FOUND: CloseCode.NOT_FOUND,
    ErrorCode.UNAVAILABLE: CloseCode.TRY_AGAIN_LATER,
    ErrorCode.TOO_MANY_CONNECTIONS: CloseCode.TRY_AGAIN_LATER,
    ErrorCode.INTERNAL: CloseCode.INTERNAL_ERROR,
}


class HelloFailed(Exception):
    """The socket cannot join: say why, then close with `close_code`."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.close_code = CLOSE_FOR.get(code, CloseCode.GOING_AWAY)


def iso(unix: float) -> str:
    return datetime.fromtimestamp(unix, UTC).isoformat()


# the room's contacts, opened (the store's `contacts`): read once per hello, for the names


def welcome(
    joined: Joined,
    expires_at: str | None = None,
    names: dict[str, str] | None = None,
    locale: str | None = None,
) -> Welcome:
    room = joined.room
    here = set(joined.online)
    firsts: dict[str, str] = {Role.CLIENT: room.client, Role.FREELANCER: room.freelancer}
    parties = [Member(user, Role(role)) for role, user in members.people(room.members, firsts)]
    everyone = parties + [m for m in joined.online if m not in parties]
    return Welcome(
        RoomView(
            room.id,
            Ticket(room.ticket_provider, room.ticket_id),
            room.state,
            [Participant(m.user, m.role, m in here) for m in everyone],
            names or {},
        ),
        You(joined.member.user, joined.member.role, locale),
        joined.heads,
        expires_at,
    )


class Session:
    __slots__ = (
        "_access_log",
        "_ack_latency",
        "_conn",
        "_contacts",
        "_expiry",
        "_held",
        "_hub",
        "_people",
        "_person",
        "_settings",
        "_tokens",
        "grant",
        "joined",
    )

    def __init__(
        self,
        hub: Hub,
        tokens: TokenIssuer,
        settings: Settings,
        conn: Connection,
        ack_latency: LoopHistogram,
        access_log: AccessLog,
        people: People[Revocable],
        contacts: ContactsOf,
    ) -> None:
        self._hub = hub
        self._contacts = contacts
        self._access_log = access_log
        self._ack_latency = ack_latency
        self._tokens = tokens
        self._settings = settings
        self._conn = conn
        self._people = people
        self._person: Person[Revocable] | None = None  # once admitted at hello
        # Writes refused for the rate, in the order they first came, until each is resent:
        # a dict as an ordered set.
        self._held: dict[str, None] = {}  # empty dicts share their storage: cheap
        self._expiry: Timer | None = None
        self.grant: Grant | None = None
        self.joined: Joined | None = None

    async def receive(self, text: str) -> None:
        """Handle one text frame. Raises HelloFailed when the socket must close."""
        try:
            frame = decode(text)
        except FrameError as exc:
            await self.reply(Error(exc.code, str(exc), exc.frame_id))
            return
        if isinstance(frame, Send):  # most frames: one check (~0.1 us each on a Struct)
            await self._write(frame)
        elif isinstance(frame, TypingHint):
            if self._person is not None and self._person.bucket.take():  # best effort
                self._hub.typing(self._conn, frame.channel)
        elif isinstance(frame, Hello):
            await self._hello(frame)
        elif isinstance(frame, History):
            await self._history(frame)
        elif isinstance(frame, Token):
            await self._refresh(frame)
        else:
            await self._write(frame)

    def receive_now(self, text: str) -> bool:
        """Handle a text frame from the socket's read callback, if it needs nothing
        awaited: a send, once joined, in turn, within the person's budget (most frames).
        False, with nothing done, for every other frame: the read loop takes it."""
        if self.joined is None or self._held or self._draining():
            return False
        try:
            frame = decode(text)
        except FrameError:
            return False
        if type(frame) is not Send or len(frame.body.encode()) > self._settings.max_body_bytes:
            return False
        assert self._person is not None
        if not self._person.bucket.take():  # the read loop slows it down or refuses it
            return False
        self._post(frame)
        return True

    def end(self, code: int, reason: str) -> None:
        """Say why (`unauthorized`), then close with `code` after what is queued."""
        self._conn.push(Error(ErrorCode.UNAUTHORIZED, reason))
        self._conn.close(code, reason)

    def left(self) -> None:
        """The socket is gone: it no longer counts as one of its person's."""
        if self._expiry is not None:
            self._expiry.cancel()
        if self._person is not None and self.grant is not None:
            self._people.leave((self.grant.room_id, self.grant.user), self)
            self._person = None

    def log_fields(self, joined: Joined) -> dict[str, str]:
        """What identifies this session in a log line: never a body, never a token."""
        room = joined.room
        return {
            "room": room.id,
            "ticket": f"{room.ticket_provider}/{room.ticket_id}",
            "user": joined.member.user,
            "role": joined.member.role,
            "connection": self._conn.id,
        }

    async def reply(self, frame: ServerFrame) -> None:
        if self.joined is None:
            await self._conn.send_now(frame)
        else:
            self._conn.push(frame)

    async def _hello(self, frame: Hello) -> None:
        if self.joined is not None:
            await self.reply(Error(ErrorCode.INVALID, "already joined: hello is sent once"))
            return
        try:
            grant = self._tokens.verify(frame.token)
        except InvalidToken as exc:
            log.info("hello refused: %s", exc, extra={"connection": self._conn.id})
            raise HelloFailed(ErrorCode.UNAUTHORIZED, str(exc)) from None
        if frame.room is not None and frame.room != grant.room_id:
            raise HelloFailed(ErrorCode.UNAUTHORIZED, "the token is for another room")
        self._person = self._people.enter((grant.room_id, grant.user), self)
        if self._person is None:
            limit = self._settings.max_connections_per_person
            raise HelloFailed(
                ErrorCode.TOO_MANY_CONNECTIONS, f"{limit} sockets of yours in this room already"
            )
        self.grant = grant  # from here a revocation closes this socket
        try:
            if grant.role in SILENT:  # no unlogged reads: log first, or refuse
                action = "observe" if grant.role is Role.OBSERVER else "read"
                await self._access_log.append(
                    grant.user, grant.role, grant.purpose, action, grant.room_id
                )
            await self._join(
                Member(grant.user, grant.role), grant.room_id, frame.since, frame.recent
            )
        except RoomError as exc:
            raise HelloFailed(ErrorCode(exc.code), str(exc)) from None
        except Tampered:
            log.exception("replay of room %s refused", grant.room_id)
            raise HelloFailed(ErrorCode.INTERNAL, "the stored transcript failed a check") from None
        except TranscriptError as exc:  # e.g. shredded under retention: not_found
            raise HelloFailed(ErrorCode(exc.code), str(exc)) from None
        except SQLAlchemyError as exc:
            log.warning("replay of room %s failed: %s", grant.room_id, exc.__class__.__name__)
            raise HelloFailed(ErrorCode.UNAVAILABLE, "the store is unavailable") from None

    async def _join(
        self, member: Member, room_id: str, since: dict[str, int], recent: int | None
    ) -> None:
        joined = await self._hub.join(room_id, member, self._conn)
        log.info("joined", extra=self.log_fields(joined))
        names, locale = await self._people_of(room_id, member.user)
        closes_at = self._arm_expiry()
        await self._conn.send_now(welcome(joined, iso(closes_at), names, locale))
        async for record in self._hub.backlog(joined, since, recent):
            await self._conn.send_now(to_frame(record))
        self.joined = joined

    async def _people_of(self, room_id: str, user: str) -> tuple[dict[str, str], str | None]:
        """The people's display names and the caller's own locale, read once per hello (a
        name given later shows from the next hello); best effort: without them the app shows
        user ids, in the browser's language. Only the caller's locale: never another's."""
        try:
            stored = await self._contacts(room_id)
        except (SQLAlchemyError, TranscriptError) as exc:
            log.warning("names of room %s not read: %s", room_id, exc.__class__.__name__)
            return {}, None
        return display_names(stored), own_locale(stored, user)

    async def _write(self, frame: Writes) -> None:
        """Everything that stores a record: each gets exactly one ack or error."""
        if self._draining():
            return  # the socket closes with 1001; the client resends what has no ack
        if self.joined is None:
            await self.reply(Error(ErrorCode.UNAUTHORIZED, "say hello first", frame.id))
            return
        body = frame.body if isinstance(frame, (Send, Edit)) else ""  # no union built per call
        if len(body.encode()) > self._settings.max_body_bytes:
            limit = self._settings.max_body_bytes
            await self.reply(Error(ErrorCode.TOO_LARGE, f"body over {limit} bytes", frame.id))
            return
        turn = self._in_turn(frame.id)
        if isinstance(turn, str):
            await self._hold(frame.id, turn)
            return
        if turn > 0:  # slowed down: the socket is not read meanwhile
            await asyncio.sleep(turn)
            if self._draining():  # the drain began while this sender was slowed down
                return
        self._post(frame)

    def _post(self, frame: Writes) -> None:
        """Hand a write in turn to the hub (joined): its ack or error follows."""
        try:
            stored = self._submit(frame)
        except (RoomError, TranscriptError) as exc:
            self._conn.push(Error(exc.code, str(exc), frame.id))
            return
        stored.add_done_callback(partial(self._settled, frame.id, time.perf_counter()))

    def _submit(self, frame: Writes) -> "asyncio.Future[StoredMessage]":
        hub, conn = self._hub, self._conn
        match frame:
            case Send():
                return hub.post(conn, frame.id, frame.channel, frame.body)
            case Edit() | Retract():
                text = frame.body if isinstance(frame, Edit) else None
                return hub.amend(conn, frame.id, frame.channel, frame.target, text)
            case Transition():
                return hub.transition(conn, frame.id, frame.to, frame.reason, frame.brief)
            case FloorControl():
                return hub.floor(
                    conn, frame.id, frame.action, frame.party, frame.minutes, frame.reason
                )
            case Caucus():
                return hub.moderate(conn, frame.id, CAUCUS, caucus_body(frame.party, frame.open))
            case Transfer():
                body = handoff_body(frame.brief, frame.to)
                return hub.moderate(conn, frame.id, HANDOFF, body, NOTES)
            case Propose():
                proposed = terms(frame.amount, frame.currency, frame.text, frame.milestone)
                expires_at = expiry(datetime.now(UTC), frame.expires_in)
                body = proposal_body(proposed, expires_at, frame.counters)
                return hub.post(conn, frame.id, JOINT, body, PROPOSAL)
            case Respond():
                body = response_body(frame.proposal, frame.answer)
                return hub.post(conn, frame.id, JOINT, body, RESPONSE)
            case Rate():
                return hub.rate(conn, frame.id, frame.rating, frame.comment)
            case OptIn():
                return hub.post(conn, frame.id, ROOM, opt_in_body(), ARBITRATION_OPT_IN)
            case Decide():
                decided = terms(frame.amount, frame.currency, frame.text, frame.milestone)
                body = decision_body(decided, frame.reason)
                return hub.post(conn, frame.id, ROOM, body, DECISION)
            case SetDeadline():
                return hub.moderate(conn, frame.id, DEADLINE, self._deadline(frame))
            case WithdrawDeadline():
                body = withdrawal_body(frame.deadline, frame.reason)
                return hub.moderate(conn, frame.id, DEADLINE_ENDED, body)
            case RequestEvidence():
                body = request_body(frame.party, frame.item, frame.due_at)
                return hub.post(conn, frame.id, frame.channel, body, EVIDENCE_REQUEST)
            case ReviewEvidence():
                body = review_body(frame.request, frame.verdict, frame.note)
                return hub.post(conn, frame.id, frame.channel, body, EVIDENCE_REVIEW)
            case Redact():
                return hub.redact(conn, frame.id, frame.channel, frame.target, frame.reason)
            case CoModerator():
                body = comoderators.body(frame.user, frame.add)
                return hub.moderate(conn, frame.id, COMODERATOR, body)

    def _deadline(self, frame: SetDeadline) -> str:
        """A deadline's body: its due time counted now, the party's user id named."""
        assert self.joined is not None
        room, settings = self.joined.room, self._settings
        firsts: dict[str, str] = {Role.CLIENT: room.client, Role.FREELANCER: room.freelancer}
        # the side's first member still on it (rooms.members): its earliest otherwise
        side = [u for r, u in members.people(room.members, firsts) if r == frame.party]
        user = side[0] if side else None
        if user is None:
            raise RoomError("a deadline is set on the client or the freelancer")
        calendar = frame.calendar or room.calendar or settings.calendar_country
        due = due_time(
            datetime.now(UTC), frame.at, frame.business_days, calendar, settings.calendar_timezone
        )
        agreed = None
        if frame.amount is not None or frame.currency is not None:
            agreed = terms(frame.amount or "", frame.currency or "", frame.text, frame.milestone)
        counted = frame.business_days is not None
        return deadline_body(
            frame.party,
            user,
            due,
            frame.outcome,
            frame.reason,
            frame.proposal,
            agreed,
            frame.business_days,
            calendar.upper() if counted else None,
        )

    def _draining(self) -> bool:
        return self._conn.draining

    def _in_turn(self, frame_id: str) -> float | str:
        """Seconds this write waits before it goes on (0.0: none, the common case, with
        nothing awaited), or why it is refused. Once one is refused for the rate, every
        later write is refused too, until the refused ones are resent in the order they
        came: so a sender's writes are stored in the order it sent them, however often it
        is held back."""
        first = next(iter(self._held), frame_id)
        if frame_id != first:
            return f"resend {first!r} first, then the rest in order"
        delay = self._reserve(1)
        if delay is None:
            return "too many messages: slow down"
        if self._held:
            self._held.pop(frame_id, None)
        return delay

    async def _hold(self, frame_id: str, message: str) -> None:
        if frame_id not in self._held and len(self._held) >= self._settings.send_queue:
            self._conn.close(CloseCode.TRY_AGAIN_LATER, "too many refused writes: resend later")
            return
        self._held.setdefault(frame_id)
        await self._refuse(message, frame_id)

    async def _spend(self, cost: int) -> bool:
        """Take `cost` from the person's bucket. When it runs low, stop reading this socket
        (the sender slows down) for up to rate_max_wait; False if even that is not enough."""
        delay = self._reserve(cost)
        if delay is None:
            return False
        if delay > 0:
            await asyncio.sleep(delay)
        return True

    def _reserve(self, cost: int) -> float | None:
        """`cost` taken from the person's bucket: seconds to wait for it (at most
        rate_max_wait), or None and nothing taken."""
        assert self._person is not None
        bucket = self._person.bucket
        return bucket.reserve(bucket.cost(cost), self._settings.rate_max_wait)

    async def _refuse(self, message: str, frame_id: str | None, cost: int = 1) -> None:
        assert self._person is not None
        bucket = self._person.bucket
        retry_after = math.ceil(bucket.wait(bucket.cost(cost)) * 1000)
        await self.reply(Error(ErrorCode.RATE_LIMITED, message, frame_id, retry_after))

    async def _history(self, frame: History) -> None:
        if self.joined is None:
            await self.reply(Error(ErrorCode.UNAUTHORIZED, "say hello first", frame.id))
            return
        cost = 1 + frame.limit // max(1, self._settings.history_page_cost)
        if not await self._spend(cost):
            await self._refuse("too many requests: slow down", frame.id, cost)
            return
        try:
            page = await self._hub.history(self._conn, frame.channel, frame.before, frame.limit)
        except (RoomError, TranscriptError) as exc:
            await self.reply(Error(exc.code, str(exc), frame.id))
            return
        more = bool(page) and page[0].seq > 1
        self._conn.push(HistoryPage(frame.channel, [message(r) for r in page], more, frame.id))

    async def _refresh(self, frame: Token) -> None:
        """A fresh token for this socket: same room, user and role; it moves the expiry."""
        if self.joined is None or self.grant is None:
            await self.reply(Error(ErrorCode.UNAUTHORIZED, "say hello first", frame.id))
            return
        try:
            grant = self._tokens.verify(frame.token)
        except InvalidToken as exc:
            await self.reply(Error(ErrorCode.UNAUTHORIZED, str(exc), frame.id))
            return
        old = self.grant
        if (grant.room_id, grant.user, grant.role) != (old.room_id, old.user, old.role):
            message = "the token is for another room, user or role"
            await self.reply(Error(ErrorCode.FORBIDDEN, message, frame.id))
            return
        self.grant = grant
        self._conn.push(TokenAccepted(iso(self._arm_expiry()), frame.id))

    def _arm_expiry(self) -> int:
        """Close with 4401 when the token runs out: the moment, in unix seconds."""
        assert self.grant is not None
        if self._expiry is not None:
            self._expiry.cancel()
        closes_at = self._tokens.closes_at(self.grant)
        delay = max(0.0, closes_at - time.time())
        self._expiry = timers().call_later(delay, self.end, CloseCode.UNAUTHORIZED, "token expired")
        return closes_at

    def _settled(
        self, client_id: str, started: float, stored: "asyncio.Future[StoredMessage]"
    ) -> None:
        if stored.cancelled():
            return
        exc = stored.exception()
        if exc is None:
            record = stored.result()
            self._conn.push(Ack(client_id, record.channel, record.seq))
            self._ack_latency.observe(time.perf_counter() - started)
        else:
            code = getattr(exc, "code", ErrorCode.INTERNAL)
            self._conn.push(Error(code, str(exc), client_id))
            if code == ErrorCode.UNAVAILABLE:  # later sends must not overtake this one
                self._conn.close(CloseCode.TRY_AGAIN_LATER, "storage unavailable: resend")
