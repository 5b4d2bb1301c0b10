"""Settlement terms, ratings and the floor's reasons are sealed on the room's row (F7).

The workflow facts live on each room's row and move with every commit.
What is party words or amounts (terms, who accepted, ratings, mute
reasons) is sealed under the room's data key; only what the queue sorts
and filters on stays in clear. Shredding takes the sealed facts with the
key, and the report of a shredded room says so instead of showing terms.
"""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Connection, insert, select, text, update

from mediation import migrate, offline
from mediation.server_secrets import load_secrets
from rooms.lifecycle import State
from tests.conftest import RunningServer
from tests.peers import Peer
from transcripts import chain
from transcripts.database import Database
from transcripts.envelope import RoomCipher
from transcripts.errors import Tampered
from transcripts.key_encryption_keys import Keyring, new_key
from transcripts.schema import rooms
from transcripts.sealed_facts import open_facts

AMOUNT, CURRENCY = "8713.25", "CHF"
TERMS_TEXT = "Refund-of-the-unicorn-logo"
MILESTONE = "Milestone-Zebra"
COMMENT = "Comment-Pineapple"
REASON = "Reason-Marmalade"
CLIENT, FREELANCER = "client-Quokka", "freelancer-Narwhal"
SECRETS = (AMOUNT, CURRENCY, TERMS_TEXT, MILESTONE, COMMENT, REASON, CLIENT, FREELANCER)


async def act(peer: Peer, frame: dict[str, Any]) -> dict[str, Any]:
    answer = await peer.act(frame)
    assert answer["type"] == "ack", answer
    return answer


async def settled_room(server: RunningServer, ticket: str) -> str:
    """A room where the client proposed, the freelancer accepted, both rated, and the
    moderator muted the client with a reason."""
    platform = server.platform
    room = await platform.open_room(ticket, client=CLIENT, freelancer=FREELANCER)
    client, _ = await server.peer(room, CLIENT, "client")
    freelancer, _ = await server.peer(room, FREELANCER, "freelancer")
    claimed = await platform.http.post(
        f"/api/rooms/{room}/claim", json={"moderator": "m-1"}, headers=platform.auth
    )
    assert claimed.status_code == 200, claimed.text
    moderator, _ = await server.peer(room, "m-1", "moderator")
    proposal = await act(
        client,
        {
            "type": "propose",
            "id": "p1",
            "amount": AMOUNT,
            "currency": CURRENCY,
            "milestone": MILESTONE,
            "text": TERMS_TEXT,
            "expires_in": 60,
        },
    )
    await act(
        freelancer,
        {"type": "respond", "id": "r1", "proposal": proposal["seq"], "answer": "accept"},
    )
    await client.event("state", state="resolved")
    for party, peer in (("client", client), ("freelancer", freelancer)):
        await act(peer, {"type": "rate", "id": f"csat-{party}", "rating": 4, "comment": COMMENT})
    await act(
        moderator,
        {
            "type": "floor",
            "id": "mute",
            "action": "mute",
            "party": "client",
            "minutes": 5,
            "reason": REASON,
        },
    )
    for peer in (client, freelancer, moderator):
        await peer.close()
    return room


async def raw_row(server: RunningServer, room: str) -> tuple[str, bytes | None]:
    """The room's `workflow` and `sealed_facts` columns as the database holds them."""
    sql = text("SELECT CAST(workflow AS TEXT), sealed_facts FROM rooms WHERE id = :id")
    async with server.services.db.read() as conn:
        row = (await conn.execute(sql, {"id": room})).one()
    return row[0], row[1]


def assert_nothing_in_clear(stored: str | bytes | None) -> None:
    raw = stored.decode("latin-1") if isinstance(stored, bytes) else stored or ""
    for secret in SECRETS:
        assert secret not in raw, f"{secret!r} in clear: {raw}"


async def test_terms_ratings_and_reasons_are_sealed_on_the_room_row(server: RunningServer) -> None:
    room = await settled_room(server, "T-sealed")
    workflow, sealed = await raw_row(server, room)
    assert_nothing_in_clear(workflow)
    assert set(json.loads(workflow)) <= {"moderator", "tier", "clocks"}
    assert sealed is not None
    assert_nothing_in_clear(sealed)

    # the server still knows them: they are opened with the room's key
    row = await server.services.store.room(room)
    assert row is not None and row.workflow is not None
    assert row.workflow["settlement"]["amount"] == AMOUNT
    assert row.workflow["floor"]["muted"]["client"]["reason"] == REASON
    report = await server.platform.http.get("/api/reports/rooms", headers=server.platform.auth)
    line = next(r for r in report.json()["rooms"] if r["room"] == room)
    assert (line["settlement_amount"], line["settlement_currency"]) == (AMOUNT, CURRENCY)
    assert (line["csat_client"], line["csat_client_comment"]) == (4, COMMENT)
    assert line["shredded"] is False

    # bound to its room: copied onto another room's row it does not open
    other = await server.platform.open_room("T-sealed-other")
    async with server.services.db.write() as conn:
        await conn.execute(update(rooms).where(rooms.c.id == other).values(sealed_facts=sealed))
    keyring = load_secrets(server.settings).keyring
    async with server.services.db.read() as conn:
        key = (
            await conn.execute(
                select(rooms.c.kek_id, rooms.c.wrapped_key).where(rooms.c.id == other)
            )
        ).one()
    cipher = RoomCipher(other, keyring.unwrap(other, key.kek_id, key.wrapped_key))
    with pytest.raises(Tampered):
        open_facts(cipher, sealed)


async def test_after_shredding_the_report_says_so_and_shows_no_terms(
    server: RunningServer,
) -> None:
    room = await settled_room(server, "T-shred-terms")
    await server.services.store.set_state(room, State.CLOSED)
    async with server.services.db.write() as conn:
        await conn.execute(
            update(rooms)
            .where(rooms.c.id == room)
            .values(closed_at=datetime.now(UTC) - timedelta(days=400))
        )
    assert await offline.apply_retention(server.settings, dry_run=False, older_than=30) == 0

    workflow, sealed = await raw_row(server, room)
    assert sealed is None  # gone with the key, not merely unreadable
    assert_nothing_in_clear(workflow)

    platform = server.platform
    report = await platform.http.get("/api/reports/rooms", headers=platform.auth)
    line = next(r for r in report.json()["rooms"] if r["room"] == room)
    assert line["shredded"] is True
    for column, value in line.items():
        if column.startswith(("settlement_", "csat_")):
            assert value is None, (column, value)
    assert line["resolved_at"]  # the clocks stay: no party's words in them
    assert_nothing_in_clear(json.dumps(line))
    sheet = await platform.http.get("/api/reports/rooms?format=csv", headers=platform.auth)
    assert_nothing_in_clear(sheet.text)
    assert ",True," in next(x for x in sheet.text.splitlines() if x.startswith(room))


async def test_the_migration_seals_the_facts_rooms_had_in_clear(
    database_url: str,
) -> None:
    keyring = Keyring({"k1": new_key()}, "k1")
    data_key = new_key()
    kek_id, wrapped = keyring.wrap("r_live", data_key)
    clocks = {"opened_at": "2026-01-01T00:00:00.000Z"}
    terms = {"amount": AMOUNT, "currency": CURRENCY, "text": TERMS_TEXT, "milestone": MILESTONE}
    facts = {"moderator": "m-1", "tier": 1, "clocks": clocks, "settlement": terms}
    db = Database(database_url)

    def downgrade(conn: Connection) -> None:
        command.downgrade(migrate._config(conn, keyring), "0006")

    try:
        await migrate.upgrade(db)
        async with db.writer.begin() as conn:
            await conn.run_sync(downgrade)
        async with db.write() as conn:
            for room_id, key in (("r_live", wrapped), ("r_gone", None)):
                await conn.execute(
                    insert(rooms).values(  # the columns of 0006: no sealed_facts
                        id=room_id,
                        ticket_provider="local",
                        ticket_id=room_id,
                        client_user=CLIENT,
                        freelancer_user=FREELANCER,
                        state="closed",
                        created_at=datetime.now(UTC),
                        kek_id=kek_id,
                        wrapped_key=key,
                        position=0,
                        chain_head=chain.GENESIS,
                        heads={},
                        workflow=facts,
                    )
                )
        await migrate.upgrade(db, keyring)
        async with db.read() as conn:
            rows = {
                r.id: r
                for r in (
                    await conn.execute(select(rooms.c.id, rooms.c.workflow, rooms.c.sealed_facts))
                ).all()
            }
    finally:
        await db.close()
    for row in rows.values():
        assert row.workflow == {"moderator": "m-1", "tier": 1, "clocks": clocks}
        assert_nothing_in_clear(row.sealed_facts)
    assert rows["r_gone"].sealed_facts is None  # shredded: nothing left to seal with
    opened = open_facts(RoomCipher("r_live", data_key), rows["r_live"].sealed_facts)
    assert opened == {"settlement": terms}
