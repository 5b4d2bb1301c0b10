"""Tables of the transcript store. Alembic migrations are made from these."""

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.engine import Dialect


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that always comes back aware, in UTC: PostgreSQL keeps the offset,
    SQLite stores none, and a naive time in an API answer is a bug waiting to happen."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None or value.tzinfo is not None:
            return value
        return value.replace(tzinfo=UTC)


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

rooms = Table(
    "rooms",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("ticket_provider", String(32), nullable=False),
    Column("ticket_id", String(128), nullable=False),
    Column("client_user", String(128), nullable=False),
    Column("freelancer_user", String(128), nullable=False),
    Column("state", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("closed_at", UTCDateTime, nullable=True),
    Column("legal_hold", String(512), nullable=True),  # the reason; NULL: no hold
    # Envelope encryption: the room's data key, wrapped by keyring key kek_id.
    # NULL once crypto-shredded: the transcript is unreadable from then on.
    Column("kek_id", String(64), nullable=False),
    Column("wrapped_key", LargeBinary, nullable=True),
    # The tip of the room: last position, last chain hash, last seq per channel.
    # Writers lock this row, so it serialises appends to one room everywhere.
    Column("position", BigInteger, nullable=False, server_default="0"),
    Column("chain_head", LargeBinary(32), nullable=False),
    Column("heads", JSON, nullable=False),
    # The workflow's facts, moved with the tip in the same commit: in clear only those
    # the queue and the clock scheduler read (moderator, tier, clocks: no party's words
    # or amounts); the rest (offer, settlement, ratings, floor, caucus) sealed under the
    # room's data key, NULL when there are none or once shredded. The columns below
    # are what the moderator queue and the clock scheduler sort and filter on.
    Column("workflow", JSON, nullable=False, server_default="{}"),
    Column("sealed_facts", LargeBinary, nullable=True),
    Column("priority", String(16), nullable=False, server_default="normal"),
    Column("moderator", String(128), nullable=True),
    Column("tier", Integer, nullable=False, server_default="1"),
    Column("waiting_since", UTCDateTime, nullable=True),
    Column("due_at", UTCDateTime, nullable=True),  # the next response clock alarm
    # How to reach the people of the room (name, email, locale): personal data, sealed
    # under the room's data key like its records, gone with it. NULL: none given.
    Column("sealed_contacts", LargeBinary, nullable=True),
    # Routing (issue 17): the room's language (a BCP 47 primary subtag, "de") and the
    # skills it asks of its moderator (lowercase tags); the queue routes by them.
    Column("language", String(8), nullable=False, server_default="en"),
    Column("skills", JSON, nullable=False, server_default="[]"),
)

Index("ix_rooms_queue", rooms.c.state, rooms.c.tier, rooms.c.waiting_since)
Index("ix_rooms_due_at", rooms.c.due_at)
Index("ix_rooms_moderator", rooms.c.moderator, rooms.c.state)
Index("ix_rooms_language", rooms.c.state, rooms.c.language)  # a moderator's languages first

Index(
    "one_open_room_per_ticket",
    rooms.c.ticket_provider,
    rooms.c.ticket_id,
    unique=True,
    sqlite_where=text("state != 'closed'"),
    postgresql_where=text("state != 'closed'"),
)

records = Table(
    "records",
    metadata,
    Column("room_id", String(40), ForeignKey("rooms.id"), primary_key=True),
    Column("position", BigInteger, primary_key=True),  # room-wide total order
    Column("channel", String(32), nullable=False),
    Column("seq", BigInteger, nullable=False),  # per channel, gapless
    Column("kind", String(16), nullable=False),
    Column("sender_user", String(128), nullable=False),
    Column("sender_role", String(16), nullable=False),
    Column("client_id", String(64), nullable=False),
    Column("ts", String(32), nullable=False),  # ISO 8601 UTC, hashed as written
    Column("sealed", LargeBinary, nullable=False),  # nonce || AES-GCM ciphertext
    Column("hash", LargeBinary(32), nullable=False),
    # A redacted record (transcripts.redaction): `sealed` is emptied in the commit of the
    # redaction, which is at position `redacted_by`; SHA-256(body) stays for its link.
    Column("body_sha256", LargeBinary(32), nullable=True),
    Column("redacted_by", BigInteger, nullable=True),
    UniqueConstraint("room_id", "channel", "seq"),
    UniqueConstraint("room_id", "sender_user", "client_id"),
)

access_log = Table(
    "access_log",
    metadata,
    Column("position", BigInteger, primary_key=True, autoincrement=False),  # gapless
    Column("ts", String(32), nullable=False),
    Column("actor_user", String(128), nullable=False),
    Column("actor_role", String(16), nullable=False),
    Column("purpose", String(512), nullable=False),
    Column("action", String(32), nullable=False),
    Column("room_id", String(40), nullable=False),
    Column("hash", LargeBinary(32), nullable=False),  # chained like a room's records
)

files = Table(  # the evidence locker's bookkeeping: what a file *is* lives in its sealed record
    "files",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("room_id", String(40), ForeignKey("rooms.id"), nullable=False, index=True),
    Column("uploader_user", String(128), nullable=False),
    Column("uploader_role", String(16), nullable=False),
    Column("chunk_size", Integer, nullable=False),  # plaintext bytes per sealed chunk
    Column("created_at", UTCDateTime, nullable=False),
    # The position of the file's record once committed; NULL while the upload runs
    # (a row left NULL by a crash is swept, blob and all).
    Column("position", BigInteger, nullable=True),
    Column("deleted_at", UTCDateTime, nullable=True),  # its blob is gone
)

uploads = Table(  # a resumable upload while it runs; at its finish it becomes a plain file
    "uploads",
    metadata,
    Column("id", String(40), primary_key=True),  # the file id it will have
    Column("room_id", String(40), ForeignKey("rooms.id"), nullable=False, index=True),
    Column("uploader_user", String(128), nullable=False),
    Column("uploader_role", String(16), nullable=False),
    Column("channel", String(32), nullable=False),  # records keep their channel in clear too
    Column("sealed_name", LargeBinary, nullable=False),  # the name, under the room's key
    Column("length", BigInteger, nullable=False),  # bytes declared at creation
    Column("received", BigInteger, nullable=False),  # bytes durably staged: the offset
    Column("chunk_size", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
    Column("request", Integer, nullable=True),  # the evidence request the file will answer
)

upload_pieces = Table(  # the blobs an upload has staged: segments of sealed chunks, a tail
    "upload_pieces",
    metadata,
    Column("key", String(200), primary_key=True),  # the blob's key
    Column("upload_id", String(40), ForeignKey("uploads.id"), nullable=False, index=True),
    Column("first_chunk", BigInteger, nullable=False),
    Column("tail", Boolean, nullable=False),  # a sealed partial chunk, replaced as bytes come
    # False while its blob is written (or once superseded): not part of the upload, but
    # listed so that abort, finish and the sweep remove its blob whatever happened.
    Column("live", Boolean, nullable=False),
)

revocations = Table(  # revoked tokens (sockets, issue 12): refused until they would expire
    "revocations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("jti", String(64), nullable=False),  # one token; empty: every token of `user`
    Column("room_id", String(40), nullable=False),  # empty: in any room
    Column("user", String(128), nullable=False),
    Column("issued_before", BigInteger, nullable=False),  # unix s: tokens issued up to then
    Column("expires_at", BigInteger, nullable=False, index=True),  # unix s: kept until then
)

ROW_ID = BigInteger().with_variant(Integer, "sqlite")  # SQLite's rowid: autoincrement

outbox = Table(  # every outbound effect (issue 14), written in the commit that caused it
    "outbox",
    metadata,
    Column("id", ROW_ID, primary_key=True, autoincrement=True),
    Column("destination", String(64), nullable=False),  # "webhook", "zendesk", "mail", ...
    Column("room_id", String(40), nullable=False),
    Column("topic", String(64), nullable=False),
    Column("event_id", String(160), nullable=False),  # the same on every attempt
    Column("data", Text, nullable=False),  # JSON: ids, states, terms; never what anybody wrote
    Column("status", String(8), nullable=False),  # pending, done, dead
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("uncertain", Boolean, nullable=False, server_default=false()),  # may have applied
    # unix seconds: when it was made, when it may be tried next, whose claim holds until when
    Column("created_at", Float, nullable=False),
    Column("next_attempt_at", Float, nullable=False),
    Column("lease_until", Float, nullable=True),
    Column("finished_at", Float, nullable=True),
    Column("last_error", String(512), nullable=True),
    UniqueConstraint("destination", "event_id"),
)
# What workers look for (pending rows falling due) and the order they keep (per
# destination and room, by id).
Index("ix_outbox_due", outbox.c.status, outbox.c.next_attempt_at)
Index("ix_outbox_lane", outbox.c.destination, outbox.c.room_id, outbox.c.status, outbox.c.id)

presence = Table(  # who was last here when, for notice to people who are away (issue 14)
    "presence",
    metadata,
    Column("room_id", String(40), primary_key=True),
    Column("user", String(128), primary_key=True),
    Column("role", String(16), nullable=False),
    # unix s: a socket of theirs was open then (refreshed while one is), or the room opened
    Column("seen_at", Float, nullable=False),
    Column("seen_position", BigInteger, nullable=False),  # the room's by then: later is unread
    Column("notified_at", Float, nullable=True),  # the last notice, at most one per period
    Column("notified_position", BigInteger, nullable=False, server_default="0"),
)
Index("ix_presence_seen_at", presence.c.seen_at)

sign_ins = Table(  # single-use sign-in links in notice mail (issue 14): by the code's hash
    "sign_ins",
    metadata,
    Column("code_hash", String(64), primary_key=True),  # sha256 hex: the code itself is mailed
    Column("room_id", String(40), nullable=False),
    Column("user", String(128), nullable=False),
    Column("role", String(16), nullable=False),
    Column("expires_at", Float, nullable=False, index=True),
    Column("used_at", Float, nullable=True),
)

members = Table(  # more people per party (issue 17): each side's people, added and removed
    "members",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("room_id", String(40), nullable=False, index=True),
    Column("user", String(128), nullable=False),
    Column("side", String(16), nullable=False),  # client | freelancer
    Column("decision_maker", Boolean, nullable=False),  # added as the side's decision-maker
    Column("added_at", Float, nullable=False),  # unix s
    Column("added_by", String(128), nullable=False),  # "platform", or a moderator's id
    Column("removed_at", Float, nullable=True),  # null: still on the side
    Column("removed_by", String(128), nullable=True),
)
