"""The append transaction across batches: what a shell keeps of a room between two
commits (SQLite's warm rooms) never outlives the row it was read from."""

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import event, update

from mediation import migrate
from mediation.config import Settings
from mediation.workflow_rules import StoreRules
from rooms.kinds import STATE
from rooms.ports import Draft
from rooms.workflow import Workflow, state_body
from tests.databases import take_next_seq
from transcripts.database import Database
from transcripts.errors import RoomNotWritable
from transcripts.key_encryption_keys import Keyring, new_key
from transcripts.schema import rooms
from transcripts.store import TranscriptStore
from transcripts.store_types import Record


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[TranscriptStore]:
    db = Database(database_url)
    if db.is_sqlite:
        await migrate.upgrade(db)
    rules = StoreRules(Workflow(Settings.from_env().targets))
    yield TranscriptStore(db, Keyring({"k": new_key()}, "k"), rules=rules)
    await db.close()


def message(room_id: str, cid: str) -> Draft:
    return Draft(room_id, "joint", "c", "client", cid, f"body {cid}", "origin")


def claim(room_id: str, cid: str) -> Draft:
    body = state_body("mediating", "claimed")
    return Draft(room_id, "room", "m", "moderator", cid, body, "origin", STATE)


async def test_a_row_changed_by_another_writer_is_read_again(store: TranscriptStore) -> None:
    await store.create_room("r_a", "local", "r_a", "c", "f", "mediating")
    results, _ = await store.append_batch([message("r_a", "1")])
    assert isinstance(results[0], Record)
    async with store.db.write() as conn:  # another writer: the CLI, another process
        await conn.execute(update(rooms).where(rooms.c.id == "r_a").values(state="closed"))
    results, fresh = await store.append_batch([message("r_a", "2")])
    assert isinstance(results[0], RoomNotWritable)
    assert fresh == []


async def test_a_batch_rolled_back_leaves_no_rules_state_behind(store: TranscriptStore) -> None:
    await store.create_room("r_a", "local", "r_a", "c", "f", "waiting")
    await store.create_room("r_b", "local", "r_b", "c", "f", "waiting")
    for room_id in ("r_a", "r_b"):  # both rooms kept warm by a first commit
        await store.append_batch([message(room_id, "1")])
    await take_next_seq(store, "r_a", 2)  # r_a's next message collides: the batch fails
    with pytest.raises(Exception):  # noqa: B017, PT011  (each driver names it its own way)
        await store.append_batch([claim("r_b", "claim"), message("r_a", "2")])
    results, _ = await store.append_batch([message("r_b", "2")])
    assert isinstance(results[0], Record)
    found = await store.room("r_b")
    assert found is not None
    assert found.state == "waiting"  # the claim was rolled back: not replayed from memory


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # the SQLite shell's
async def test_a_warm_room_is_read_again_only_after_another_writer(
    store: TranscriptStore,
) -> None:
    """SQLite: while no other connection committed (its data_version), the rooms this
    shell last wrote are taken as it left them, without a SELECT per room per commit."""
    appender = store.db.appender
    assert appender is not None
    await store.create_room("r_a", "local", "r_a", "c", "f", "mediating")
    await store.append_batch([message("r_a", "1")])
    statements: list[str] = []
    await appender.transaction(lambda conn: conn.set_trace_callback(statements.append))
    await store.append_batch([message("r_a", "2")])
    assert not [s for s in statements if "FROM rooms" in s]
    async with store.db.write() as conn:  # another writer moves the room's priority
        await conn.execute(update(rooms).where(rooms.c.id == "r_a").values(priority="high"))
    await store.append_batch([message("r_a", "3")])
    assert [s for s in statements if "FROM rooms" in s]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # the SQLite shell's
async def test_a_batch_decided_again_leaves_the_other_rooms_warm(
    store: TranscriptStore,
) -> None:
    """A resend (or a refused draft) rolls its batch back to decide it again with the
    keys looked up: only that batch's rooms are read again afterwards. Resends follow
    every reconnect, and a refusal is a party's to cause: neither may make every other
    room's next commit read its row and load its rules again."""
    for room_id in ("r_a", "r_b"):
        await store.create_room(room_id, "local", room_id, "c", "f", "mediating")
        await store.append_batch([message(room_id, "1")])
    statements = await _traced(store)
    results, _ = await store.append_batch([message("r_b", "1"), message("r_b", "2")])
    assert isinstance(results[0], Record) and results[0].duplicate
    assert [s for s in statements if "wanted" in s]  # decided again, keys looked up
    statements.clear()
    await store.append_batch([message("r_a", "2")])
    assert not [s for s in statements if "FROM rooms" in s]


async def test_a_resend_in_a_batch_of_new_drafts_is_acked_as_the_original(
    store: TranscriptStore,
) -> None:
    await store.create_room("r_a", "local", "r_a", "c", "f", "mediating")
    first, _ = await store.append_batch([message("r_a", "1")])
    assert isinstance(first[0], Record)
    results, fresh = await store.append_batch(
        [message("r_a", "2"), message("r_a", "1"), message("r_a", "3")]
    )
    again = results[1]
    assert isinstance(again, Record)
    assert again.duplicate and (again.seq, again.position) == (first[0].seq, first[0].position)
    assert [(r.client_id, r.seq) for r in fresh] == [("2", 2), ("3", 3)]  # no gap left
    stored = await store.read("r_a", "joint", 0, 10, 10)
    assert [r.client_id for r in stored] == ["1", "2", "3"]


async def test_a_resend_after_its_room_closed_is_acked_not_refused(
    store: TranscriptStore,
) -> None:
    """A refusal is no answer for a draft already stored: the client lost the ack."""
    await store.create_room("r_a", "local", "r_a", "c", "f", "mediating")
    await store.append_batch([message("r_a", "1")])
    async with store.db.write() as conn:
        await conn.execute(update(rooms).where(rooms.c.id == "r_a").values(state="closed"))
    results, fresh = await store.append_batch([message("r_a", "1"), message("r_a", "2")])
    again = results[0]
    assert isinstance(again, Record) and again.duplicate and again.seq == 1
    assert isinstance(results[1], RoomNotWritable)
    assert fresh == []


async def test_a_refused_draft_not_stored_before_costs_its_batch_no_second_decision(
    store: TranscriptStore,
) -> None:
    """Only a refused draft's own key is looked up, in the same transaction: a party
    whose writes are refused at will must not make its batch (other rooms' drafts
    with it) be decided twice."""
    for room_id in ("r_a", "r_b"):
        await store.create_room(room_id, "local", room_id, "c", "f", "mediating")
    async with store.db.write() as conn:
        await conn.execute(update(rooms).where(rooms.c.id == "r_a").values(state="closed"))
    statements = await _traced(store)
    results, fresh = await store.append_batch([message("r_a", "1"), message("r_b", "1")])
    assert isinstance(results[0], RoomNotWritable)
    assert isinstance(results[1], Record) and not results[1].duplicate
    assert [r.room_id for r in fresh] == ["r_b"]
    assert len([s for s in statements if "wanted" in s]) == 1  # the refused key only
    assert not [s for s in statements if "ROLLBACK" in s.upper()]


async def test_new_drafts_are_stored_without_looking_their_keys_up(
    store: TranscriptStore,
) -> None:
    """The unique key is the check; a batch is decided again with its keys looked up
    only when a draft is refused or already stored."""
    statements = await _traced(store)
    await store.create_room("r_a", "local", "r_a", "c", "f", "mediating")
    await store.append_batch([message("r_a", "1"), message("r_a", "2")])
    assert not [s for s in statements if "wanted" in s]
    assert not [s for s in statements if "ROLLBACK" in s.upper()]
    results, _ = await store.append_batch([message("r_a", "2")])
    assert isinstance(results[0], Record) and results[0].duplicate
    assert [s for s in statements if "wanted" in s]


async def _traced(store: TranscriptStore) -> list[str]:
    """Every statement the append transaction runs from now on, as text."""
    statements: list[str] = []
    appender = store.db.appender
    if appender is not None:  # SQLite's writer, plain sqlite3
        await appender.transaction(lambda conn: conn.set_trace_callback(statements.append))
    else:

        def traced(*args: Any) -> None:
            statements.append(args[2])  # conn, cursor, statement, ...

        event.listen(store.db.writer.sync_engine, "before_cursor_execute", traced)
        event.listen(
            store.db.writer.sync_engine, "rollback", lambda _conn: statements.append("ROLLBACK")
        )
    return statements
