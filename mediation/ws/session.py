"""One participant's session: the protocol v1 state machine over a socket.

Before `hello` only `hello` is accepted; `hello` authenticates, joins the
room, sends `welcome` and the replay, then hands writing to the
connection's writer. After that, `send` frames go to the room and each
gets exactly one `ack` or `error`.
"""

import asyncio
import logging
import time
from datetime import UTC, datetime
from functools import partial

from prometheus_client import Histogram
from sqlalchemy.exc import SQLAlchemyError

from mediation.auth.tokens import InvalidToken, TokenIssuer
from mediation.config import Settings
from mediation.protocol.codec import FrameError, decode, message, to_frame
from mediation.protocol.codes import CloseCode, ErrorCode
from mediation.protocol.frames import (
    Ack,
    Caucus,
    Edit,
    Error,
    FloorControl,
    Hello,
    History,
    HistoryPage,
    Participant,
    Propose,
    Rate,
    Respond,
    Retract,
    RoomView,
    Send,
    ServerFrame,
    Ticket,
    Transfer,
    Transition,
    TypingHint,
    Welcome,
    Who,
)
from mediation.ws.connection import Connection
from mediation.ws.throttle import TokenBucket
from rooms.errors import RoomError
from rooms.hub import Hub, Joined
from rooms.kinds import CAUCUS, HANDOFF, PROPOSAL, RESPONSE
from rooms.ports import Member, StoredMessage
from rooms.settlement import expiry, proposal_body, response_body, terms
from rooms.visibility import JOINT, NOTES, Role
from rooms.workflow import caucus_body, handoff_body
from transcripts.access_log import AccessLog
from transcripts.errors import Tampered, TranscriptError

log = logging.getLogger(__name__)

# frames that store a record
Writes = (
    Send | Edit | Retract | Transition | FloorControl | Caucus | Transfer | Propose | Respond | Rate
)

CLOSE_FOR = {
    ErrorCode.UNAUTHORIZED: CloseCode.UNAUTHORIZED,
    ErrorCode.FORBIDDEN: CloseCode.FORBIDDEN,
    ErrorCode.NOT_FOUND: CloseCode.NOT_FOUND,
    ErrorCode.UNAVAILABLE: CloseCode.TRY_AGAIN_LATER,
    ErrorCode.INTERNAL: CloseCode.INTERNAL_ERROR,
}


class HelloFailed(Exception):
    """The socket cannot join: say why, then close with `close_code`."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.close_code = CLOSE_FOR.get(code, CloseCode.GOING_AWAY)


def welcome(joined: Joined) -> Welcome:
    room = joined.room
    here = set(joined.online)
    parties = [Member(room.client, Role.CLIENT), Member(room.freelancer, Role.FREELANCER)]
    everyone = parties + [m for m in joined.online if m not in parties]
    return Welcome(
        RoomView(
            room.id,
            Ticket(room.ticket_provider, room.ticket_id),
            room.state,
            [Participant(m.user, m.role, m in here) for m in everyone],
        ),
        Who(joined.member.user, joined.member.role),
        joined.heads,
    )


class Session:
    def __init__(
        self,
        hub: Hub,
        tokens: TokenIssuer,
        settings: Settings,
        conn: Connection,
        ack_latency: Histogram,
        access_log: AccessLog,
    ) -> None:
        self._hub = hub
        self._access_log = access_log
        self._ack_latency = ack_latency
        self._tokens = tokens
        self._settings = settings
        self._conn = conn
        self._bucket = TokenBucket(settings.rate_per_second, settings.rate_burst)
        self.joined: Joined | None = None

    async def receive(self, text: str) -> None:
        """Handle one text frame. Raises HelloFailed when the socket must close."""
        try:
            frame = decode(text)
        except FrameError as exc:
            await self.reply(Error(exc.code, str(exc), exc.frame_id))
            return
        if isinstance(frame, Hello):
            await self._hello(frame)
        elif isinstance(frame, History):
            await self._history(frame)
        elif isinstance(frame, TypingHint):
            if self.joined is not None and self._bucket.take():  # best effort: never answered
                self._hub.typing(self._conn, frame.channel)
        else:
            await self._write(frame)

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
        try:
            if grant.role is Role.AUDITOR:  # no unlogged reads: log first, or refuse
                await self._access_log.append(
                    grant.user, grant.role, grant.purpose, "read", grant.room_id
                )
            await self._join(Member(grant.user, grant.role), grant.room_id, frame.since)
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

    async def _join(self, member: Member, room_id: str, since: dict[str, int]) -> None:
        joined = await self._hub.join(room_id, member, self._conn)
        log.info("joined", extra=self.log_fields(joined))
        await self._conn.send_now(welcome(joined))
        async for record in self._hub.backlog(joined, since):
            await self._conn.send_now(to_frame(record))
        self.joined = joined

    async def _write(self, frame: Writes) -> None:
        """Everything that stores a record: each gets exactly one ack or error."""
        if self._conn.draining:
            return  # the socket closes with 1001; the client resends what has no ack
        if self.joined is None:
            await self.reply(Error(ErrorCode.UNAUTHORIZED, "say hello first", frame.id))
            return
        body = frame.body if isinstance(frame, Send | Edit) else ""
        if len(body.encode()) > self._settings.max_body_bytes:
            limit = self._settings.max_body_bytes
            await self.reply(Error(ErrorCode.TOO_LARGE, f"body over {limit} bytes", frame.id))
            return
        if not self._bucket.take():
            await self.reply(Error(ErrorCode.RATE_LIMITED, "too many messages", frame.id))
            return
        try:
            stored = self._submit(frame)
        except (RoomError, TranscriptError) as exc:
            await self.reply(Error(exc.code, str(exc), frame.id))
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

    async def _history(self, frame: History) -> None:
        if self.joined is None:
            await self.reply(Error(ErrorCode.UNAUTHORIZED, "say hello first", frame.id))
            return
        try:
            page = await self._hub.history(self._conn, frame.channel, frame.before, frame.limit)
        except (RoomError, TranscriptError) as exc:
            await self.reply(Error(exc.code, str(exc), frame.id))
            return
        more = bool(page) and page[0].seq > 1
        self._conn.push(HistoryPage(frame.channel, [message(r) for r in page], more, frame.id))

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
