"""Group commit: one transaction for many messages, each with its own outcome."""

import asyncio
from collections.abc import AsyncIterator

import pytest

from mediation import migrate
from rooms.ports import Draft
from tests.databases import take_next_seq
from transcripts.database import Database
from transcripts.errors import RoomNotWritable, StoreUnavailable, UnknownRoom
from transcripts.group_commit import GroupCommitConfig, GroupCommitter
from transcripts.key_encryption_keys import Keyring, new_key
from transcripts.store import TranscriptStore
from transcripts.store_types import Record

DEFAULTS = GroupCommitConfig()


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[TranscriptStore]:
    db = Database(database_url)
    if db.is_sqlite:
        await migrate.upgrade(db)
    yield TranscriptStore(db, Keyring({"k": new_key()}, "k"))
    await db.close()


async def room(store: TranscriptStore, name: str, state: str = "mediating") -> str:
    await store.create_room(name, "local", name, "c", "f", state)
    return name


def draft(room_id: str, cid: str, channel: str = "joint", origin: str = "origin") -> Draft:
    return Draft(room_id, channel, "c", "client", cid, f"body {cid}", origin)


async def committer(
    store: TranscriptStore, batches: list[int], config: GroupCommitConfig = DEFAULTS
) -> tuple[GroupCommitter, list[Record]]:
    seen: list[Record] = []
    gc = GroupCommitter(
        store,
        seen.extend,
        config,
        observe=lambda size, _: batches.append(size),
    )
    gc.start()
    return gc, seen


def stored(outcome: Record | BaseException) -> Record:
    """An append's outcome that must be its record (gather mixes in the refusals)."""
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome


async def test_one_batch_many_outcomes(store: TranscriptStore) -> None:
    a, closed = await room(store, "r_a"), await room(store, "r_closed", "closed")
    batches: list[int] = []
    gc, fanned_out = await committer(store, batches)
    futures = [
        gc.append(d)
        for d in (
            draft(a, "1"),
            draft("r_missing", "2"),
            draft(closed, "3"),
            draft(a, "1"),
            draft(a, "4", "caucus:client"),
            draft(a, "5"),
        )
    ]
    results = await asyncio.gather(*futures, return_exceptions=True)
    await gc.close()
    assert batches == [6]  # all in one transaction
    ok, missing, refused, again, caucus, last = results
    ok, again, caucus, last = map(stored, (ok, again, caucus, last))
    assert (ok.channel, ok.seq, ok.position) == ("joint", 1, 1)
    assert isinstance(missing, UnknownRoom)
    assert isinstance(refused, RoomNotWritable)
    assert again.duplicate and again.seq == 1
    assert (caucus.channel, caucus.seq) == ("caucus:client", 1)
    assert (last.seq, last.position) == (2, 3)
    assert [r.client_id for r in fanned_out] == ["1", "4", "5"]  # committed, once each
    assert await store.heads(a) == {"joint": 2, "caucus:client": 1}


async def test_a_record_the_database_refuses_sinks_only_itself(store: TranscriptStore) -> None:
    good, broken = await room(store, "r_good"), await room(store, "r_broken")
    await take_next_seq(store, broken, 1)
    batches: list[int] = []
    gc, fanned_out = await committer(store, batches)
    results = await asyncio.gather(
        *(  # from four connections: a sender's failure refuses its own later drafts
            gc.append(draft(r, str(i), origin=f"conn-{i}"))
            for i, r in enumerate([good, broken, good, good])
        ),
        return_exceptions=True,
    )
    await gc.close()
    assert isinstance(results[1], StoreUnavailable)
    assert [stored(r).seq for r in (results[0], results[2], results[3])] == [1, 2, 3]
    assert [r.room_id for r in fanned_out] == [good] * 3
    assert batches[0] == 4  # tried together first, then isolated


async def test_batches_grow_with_load_and_respect_the_cap(store: TranscriptStore) -> None:
    a = await room(store, "r_load")
    batches: list[int] = []
    gc, _ = await committer(store, batches, GroupCommitConfig(max_batch=50))
    results = await asyncio.gather(*(gc.append(draft(a, str(i))) for i in range(300)))
    await gc.close()
    assert [r.seq for r in results] == list(range(1, 301))
    assert max(batches) == 50
    assert len(batches) < 300 / 10  # far fewer transactions than messages


async def test_a_small_batch_lingers_for_company_and_a_big_one_goes_at_once(
    store: TranscriptStore,
) -> None:
    a = await room(store, "r_linger")
    batches: list[int] = []
    config = GroupCommitConfig(linger=1.0, small=16)
    gc, _ = await committer(store, batches, config)
    first = gc.append(draft(a, "lone"))
    await asyncio.sleep(0.05)  # well within the linger: nothing committed yet
    assert batches == [] and not first.done()
    second = gc.append(draft(a, "company"))
    assert [r.seq for r in await asyncio.gather(first, second)] == [1, 2]
    assert batches == [2]  # one transaction for both
    crowd = [gc.append(draft(a, f"crowd-{i}")) for i in range(16)]
    async with asyncio.timeout(0.9):  # shorter than the linger: a big batch does not wait
        await asyncio.gather(*crowd)
    await gc.close()
    assert batches == [2, 16]


async def test_after_a_failure_the_same_sender_is_fenced_until_forgotten(
    store: TranscriptStore,
) -> None:
    """A message that failed must not be overtaken by the same connection's later ones."""
    good = await room(store, "r_fence")
    broken = await room(store, "r_fence_broken")
    await take_next_seq(store, broken, 1)
    batches: list[int] = []
    gc, _ = await committer(store, batches)
    failing = Draft(broken, "joint", "c", "client", "first", "x", "conn-1")
    later = Draft(good, "joint", "c", "client", "second", "y", "conn-1")
    other = Draft(good, "joint", "f", "freelancer", "theirs", "z", "conn-2")
    results = await asyncio.gather(gc.append(failing), return_exceptions=True)
    assert isinstance(results[0], StoreUnavailable)
    refused, fine = await asyncio.gather(gc.append(later), gc.append(other), return_exceptions=True)
    assert isinstance(refused, StoreUnavailable)  # fenced: never stored ahead of "first"
    assert stored(fine).seq == 1
    gc.forget("conn-1")
    assert (await gc.append(later)).seq == 2  # a fresh start after the client reconnects
    await gc.close()
