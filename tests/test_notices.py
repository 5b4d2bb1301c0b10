"""Notice to people who are away: one mail and one `party.waiting` webhook when someone
has unread records and no open socket, none for who is here, never anyone's words."""

import asyncio
import re
import time
from dataclasses import replace

from sqlalchemy import select

from mediation import migrate
from mediation.config import Settings
from tests.conftest import RunningServer, ServerFactory
from tests.peers import Peer
from tests.smtp_server import SmtpServer
from tests.test_outbox import SECRET
from tests.waiting import until
from tests.webhook_receiver import WebhookReceiver
from transcripts.database import Database
from transcripts.presence import Presence, ensure
from transcripts.schema import presence as presence_table

AWAY = 0.4  # seconds away before a notice, compressed

PEOPLE = [
    {"user": "c-1", "name": "Alice Doe", "email": "alice@example.com", "locale": "en"},
    {"user": "f-1", "name": "Bruno Roy", "email": "bruno@example.com", "locale": "fr"},
    {"user": "m-1", "name": "Maya", "email": "maya@example.com"},
]


def noticing(settings: Settings, smtp: SmtpServer, receiver: WebhookReceiver) -> Settings:
    return replace(
        settings,
        smtp_url=smtp.url(),
        mail_from="Mediation <disputes@example.com>",
        webhook_url=receiver.url,
        webhook_secret=SECRET,
        notify_after=AWAY,
        notify_every=3600,
        notice_tick=0.05,
        outbox_tick=0.05,
        outbox_retry_initial=0.05,
        outbox_retry_max=0.2,
    )


async def open_with_people(server: RunningServer, ticket: str) -> str:
    platform = server.platform
    answer = await platform.http.post(
        "/api/rooms",
        json={
            "ticket": {"provider": "local", "id": ticket},
            "client": "c-1",
            "freelancer": "f-1",
            "people": PEOPLE,
        },
        headers=platform.auth,
    )
    assert answer.status_code == 201, answer.text
    assert "alice@example.com" not in answer.text  # contacts are never echoed back
    room: str = answer.json()["id"]
    claimed = await platform.http.post(
        f"/api/rooms/{room}/claim", json={"moderator": "m-1"}, headers=platform.auth
    )
    assert claimed.status_code == 200, claimed.text
    return room


async def say(peer: Peer, cid: str, channel: str, body: str) -> None:
    ack = await peer.act({"type": "send", "id": cid, "channel": channel, "body": body})
    assert ack["type"] == "ack", ack


async def test_away_parties_get_one_notice_the_present_none_and_no_words_leave(
    start_server: ServerFactory, settings: Settings
) -> None:
    async with SmtpServer() as smtp, WebhookReceiver(SECRET) as receiver:
        server = await start_server(noticing(settings, smtp, receiver))
        room = await open_with_people(server, "T-away")
        moderator, _ = await server.peer(room, "m-1", "moderator")
        client, _ = await server.peer(room, "c-1", "client")
        await say(client, "c1", "joint", "I am here for a moment")
        await client.close()  # the client leaves; the freelancer never came
        await say(moderator, "m1", "joint", "SECRET-WORDS for both of you")
        await say(moderator, "m2", "caucus:freelancer", "PRIVATE-WORDS for the freelancer")
        await until(lambda: len(smtp.received) >= 2)
        await asyncio.sleep(4 * AWAY)  # nothing more: one per person per period
        by_address = {r.rcpt_tos[0]: r for r in smtp.received}
        assert sorted(by_address) == ["alice@example.com", "bruno@example.com"]
        waiting = [e for e in receiver.events if e.type == "party.waiting"]
        assert sorted((e.data["user"], e.data["unread"]) for e in waiting) == [
            ("c-1", 1),  # the joint message; the freelancer's caucus is not hers
            ("f-1", 4),  # the claim, the client's word, the joint one, the caucus
        ]
        for mail in smtp.received:
            raw = mail.raw.decode("ascii", "replace")
            assert "SECRET-WORDS" not in raw and "PRIVATE-WORDS" not in raw
        for request in receiver.requests:
            assert b"SECRET-WORDS" not in request.body and b"PRIVATE-WORDS" not in request.body
            assert b"@example.com" not in request.body  # contacts never leave by webhook
        french = by_address["bruno@example.com"].message
        assert french["Content-Language"] == "fr"
        assert "Bruno Roy" in str(french["To"])
        await moderator.close()


async def test_someone_online_is_not_notified(
    start_server: ServerFactory, settings: Settings
) -> None:
    async with SmtpServer() as smtp, WebhookReceiver(SECRET) as receiver:
        server = await start_server(noticing(settings, smtp, receiver))
        room = await open_with_people(server, "T-here")
        moderator, _ = await server.peer(room, "m-1", "moderator")
        client, _ = await server.peer(room, "c-1", "client")
        freelancer, _ = await server.peer(room, "f-1", "freelancer")
        await say(moderator, "m1", "joint", "hello both")
        await say(client, "c1", "joint", "hello")
        await asyncio.sleep(6 * AWAY)
        assert smtp.received == []
        assert [e for e in receiver.events if e.type == "party.waiting"] == []
        for peer in (moderator, client, freelancer):
            await peer.close()


async def test_the_mails_link_signs_in_once(
    start_server: ServerFactory, settings: Settings
) -> None:
    async with SmtpServer() as smtp, WebhookReceiver(SECRET) as receiver:
        server = await start_server(noticing(settings, smtp, receiver))
        room = await open_with_people(server, "T-link")
        moderator, _ = await server.peer(room, "m-1", "moderator")
        await say(moderator, "m1", "caucus:client", "a word for the client")
        await until(lambda: len(smtp.received) >= 1)
        assert smtp.received[0].rcpt_tos == ["alice@example.com"]
        text = smtp.received[0].message.get_body(("plain",))
        assert text is not None
        found = re.search(r"#signin=([\w-]+)", text.get_content())
        assert found, text.get_content()
        http = server.platform.http
        first = await http.post("/api/sign-in", json={"code": found[1]})
        assert first.status_code == 200, first.text
        assert (first.json()["room"], first.json()["user"]) == (room, "c-1")
        peer = await Peer.connect(server.ws_url)
        welcome = await peer.hello(first.json()["token"])
        assert welcome["type"] == "welcome"
        await peer.close()
        again = await http.post("/api/sign-in", json={"code": found[1]})
        assert again.status_code == 401
        assert again.json()["error"]["code"] == "unauthorized"
        await moderator.close()


async def test_two_processes_looking_at_once_send_one_notice(
    start_server: ServerFactory, settings: Settings
) -> None:
    async with SmtpServer() as smtp, WebhookReceiver(SECRET) as receiver:
        quiet = replace(noticing(settings, smtp, receiver), notice_tick=3600)
        server = await start_server(quiet)
        room = await open_with_people(server, "T-race")
        moderator, _ = await server.peer(room, "m-1", "moderator")
        await say(moderator, "m1", "joint", "anyone?")
        await asyncio.sleep(AWAY * 1.5)
        notices = server.services.notices
        later = time.time()
        sent = await asyncio.gather(*(notices.round(later) for _ in range(4)))
        assert sum(sent) == 2  # the client and the freelancer, once each
        await until(lambda: len(smtp.received) >= 2)
        await asyncio.sleep(0.5)
        assert len(smtp.received) == 2
        await moderator.close()


async def test_a_late_written_departure_leaves_what_came_after_it_unread(
    start_server: ServerFactory, settings: Settings
) -> None:
    """The socket closed at T; its departure is written later, after more records: those
    stay unread (a departure marks what was stored by T, not by when it is written)."""
    async with SmtpServer() as smtp, WebhookReceiver(SECRET) as receiver:
        server = await start_server(replace(noticing(settings, smtp, receiver), notice_tick=3600))
        room = await open_with_people(server, "T-late")
        moderator, _ = await server.peer(room, "m-1", "moderator")
        await say(moderator, "m1", "joint", "before she left")
        gone_at = time.time()
        await asyncio.sleep(0.05)
        await say(moderator, "m2", "joint", "after she left")
        await server.services.notices._presence.left(room, "c-1", gone_at)
        await asyncio.sleep(AWAY * 1.5)
        assert await server.services.notices.round(time.time()) == 2
        await until(lambda: len([e for e in receiver.events if e.type == "party.waiting"]) == 2)
        unread = {e.data["user"]: e.data["unread"] for e in receiver.events if e.data.get("user")}
        assert unread["c-1"] == 1  # m2 only
        await moderator.close()


async def test_people_with_nothing_for_them_do_not_crowd_out_those_who_have(
    start_server: ServerFactory, settings: Settings
) -> None:
    """Notes move a room but are nothing for its parties: once looked at, they are not
    looked at again until the room moves, so a round's limit reaches everyone owed."""
    async with SmtpServer() as smtp, WebhookReceiver(SECRET) as receiver:
        server = await start_server(replace(noticing(settings, smtp, receiver), notice_tick=3600))
        room = await open_with_people(server, "T-notes")
        moderator, _ = await server.peer(room, "m-1", "moderator")
        for user, role in (("c-1", "client"), ("f-1", "freelancer")):
            party, _ = await server.peer(room, user, role)  # each sees the claim, then goes
            await say(party, f"{user}-hi", f"caucus:{role}", "a word for the moderator")
            await party.close()
        await say(moderator, "n1", "notes", "only for moderators")
        await asyncio.sleep(AWAY * 1.5)
        notices = server.services.notices
        assert await notices.round(time.time()) == 0  # a note is nothing for a party
        presence = notices._presence
        assert await presence.away(time.time(), time.time(), 10) == []  # not asked again
        await say(moderator, "j1", "joint", "now for both")
        await asyncio.sleep(AWAY * 1.5)
        assert await notices.round(time.time()) == 2
        await moderator.close()


async def test_presence_of_tens_of_thousands_of_sockets_is_kept_in_one_call(
    database_url: str,
) -> None:
    """Two bound values a person: past what one statement may bind (PostgreSQL's 65,535;
    SQLite's 32,766 by default, 250,000 as Debian builds it) the update goes in chunks."""
    db = Database(database_url)
    await migrate.upgrade(db)
    try:
        async with db.write() as conn:
            await ensure(conn, "r_1", [("c-1", "client")], 0.0)
        presence = Presence(db)
        everyone = [("r_1", "c-1"), *((f"r_{n}", "u") for n in range(2, 40_002))]
        await presence.seen(everyone, 123.0)
        async with db.read() as conn:
            seen = await conn.scalar(select(presence_table.c.seen_at))
        assert seen == 123.0
    finally:
        await db.close()
