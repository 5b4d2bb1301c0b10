"""One bad draft fails only itself (issue 12, F2).

An `edit` naming seq 2**63 once raised OverflowError inside the group commit,
which took it for a storage outage: every draft of that batch, from any room,
got `unavailable` and its socket closed 1013. Now the frame schema refuses
such a number as `invalid`, the store refuses it again for callers that skip
the schema, and the committer tells a storage failure (the whole batch) from
one draft's (that draft alone).
"""

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, NoReturn

import pytest
from sqlalchemy.exc import OperationalError

from mediation import migrate
from mediation.config import Settings
from rooms.ports import Draft
from tests.conftest import RunningServer, ServerFactory
from tests.peers import Peer
from transcripts.database import Database
from transcripts.errors import Refused, StoreUnavailable, TranscriptError
from transcripts.group_commit import GroupCommitConfig, GroupCommitter
from transcripts.key_encryption_keys import Keyring, new_key
from transcripts.store import TranscriptStore
from transcripts.store_types import DraftLike, Effect, Record, RoomRow

HUGE = 2**63  # one past what a 64-bit column holds
POISON_EDIT = f'{{"target":{HUGE},"text":"boom"}}'


# the committer, on its own


class Exploding:
    """Workflow rules that fail (a bug) on one client id, and allow everything else."""

    state = "mediating"

    def load(
        self,
        state: str,
        workflow: dict[str, Any],
        provider: str,
        priority: str = "normal",
        parties: Mapping[str, str] | None = None,
    ) -> "Exploding":
        return self

    def opened(
        self,
        state: str,
        ts: str,
        provider: str,
        priority: str = "normal",
        parties: Mapping[str, str] | None = None,
        *,
        calendar: str | None = None,
        acceptance: str | None = None,
    ) -> "Exploding":
        return self

    def created(self, room: RoomRow) -> Sequence[Effect]:
        return ()

    def effects(self, record: Record) -> Sequence[Effect]:
        return ()

    def apply(self, record: Record) -> Sequence[DraftLike]:
        if record.client_id == "poison":
            raise ZeroDivisionError("a bug in the rules")
        return ()

    def columns(self) -> tuple[dict[str, Any], dict[str, Any]]:
        return {}, {}  # nothing to seal, no columns of its own

    def changed(self) -> bool:
        return False


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    if db.is_sqlite:
        await migrate.upgrade(db)
    yield db
    await db.close()


async def commit_together(
    store: TranscriptStore, drafts: list[Draft]
) -> tuple[list[Any], list[int]]:
    """Append `drafts` before the committer runs, so they are tried as one batch."""
    batches: list[int] = []
    committer = GroupCommitter(
        store, lambda _: None, GroupCommitConfig(), lambda size, _: batches.append(size)
    )
    futures = [committer.append(d) for d in drafts]
    committer.start()
    results = await asyncio.gather(*futures, return_exceptions=True)
    await committer.close()
    return results, batches


def message(room: str, cid: str, origin: str) -> Draft:
    return Draft(room, "joint", "c", "client", cid, f"body {cid}", origin)


async def test_a_draft_whose_processing_raises_fails_alone_and_fences_nobody(
    database: Database,
) -> None:
    store = TranscriptStore(database, Keyring({"k": new_key()}, "k"), rules=Exploding())
    for room in ("r_a", "r_b"):
        await store.create_room(room, "local", room, "c", "f", "mediating")
    drafts = [
        message("r_b", "b1", "conn-b"),
        message("r_a", "a1", "conn-a"),
        message("r_a", "poison", "conn-a"),
        message("r_b", "b2", "conn-b"),
        message("r_a", "a2", "conn-a"),  # same sender as the poison: a refusal fences nothing
        message("r_b", "b3", "conn-b"),
    ]
    results, batches = await commit_together(store, drafts)
    assert batches[0] == len(drafts)  # tried together first
    poison = results[2]
    assert isinstance(poison, TranscriptError) and not isinstance(poison, StoreUnavailable)
    assert poison.code == "internal"
    stored = [r for i, r in enumerate(results) if i != 2]
    assert all(isinstance(r, Record) for r in stored), stored
    assert [(r.room_id, r.seq) for r in stored] == [
        ("r_b", 1),
        ("r_a", 1),
        ("r_b", 2),
        ("r_a", 2),
        ("r_b", 3),
    ]
    assert await store.heads("r_a") == {"joint": 2}
    assert await store.heads("r_b") == {"joint": 3}


async def test_an_amendment_past_the_column_is_invalid_and_alone(database: Database) -> None:
    store = TranscriptStore(database, Keyring({"k": new_key()}, "k"))
    for room in ("r_a", "r_b"):
        await store.create_room(room, "local", room, "c", "f", "mediating")
    drafts = [
        message("r_a", "a1", "conn-a"),
        message("r_b", "b1", "conn-b"),
        Draft("r_a", "joint", "c", "client", "edit-huge", POISON_EDIT, "conn-a", "edit"),
        message("r_b", "b2", "conn-b"),
    ]
    results, _ = await commit_together(store, drafts)
    poison = results[2]
    assert isinstance(poison, Refused) and poison.code == "invalid", poison
    assert [(r.room_id, r.seq) for r in (results[0], results[1], results[3])] == [
        ("r_a", 1),
        ("r_b", 1),
        ("r_b", 2),
    ]


class DownStore:
    """A store whose database is gone, failing with `error`."""

    def __init__(self, error: Exception) -> None:
        self.error = error
        self.calls = 0

    async def append_batch(self, drafts: Sequence[DraftLike]) -> NoReturn:
        self.calls += 1
        raise self.error

    async def reachable(self) -> bool:
        return False


@pytest.mark.parametrize(
    "error",
    [
        OperationalError("INSERT", {}, ConnectionRefusedError("connection refused")),
        ConnectionResetError("reset by peer"),
        RuntimeError("a driver error of a kind we do not know"),  # the database is asked
    ],
    ids=["operational", "oserror", "unknown"],
)
async def test_a_storage_outage_still_fails_the_whole_batch_at_once(error: Exception) -> None:
    down = DownStore(error)
    drafts = [message("r_a", str(i), f"conn-{i}") for i in range(8)]
    results, _ = await commit_together(down, drafts)  # type: ignore[arg-type]  # a store that is down, not a TranscriptStore
    assert all(isinstance(r, StoreUnavailable) for r in results)
    assert down.calls == 1  # an outage is not bisected: one try, not one per draft


# over real sockets: poison in room A, traffic in room B


async def send_many(peer: Peer, prefix: str, count: int) -> None:
    for i in range(count):
        await peer.send(f"{prefix}-{i}", "joint", f"{prefix} says {i}")
        await asyncio.sleep(0.002)


async def edit_huge(peer: Peer, count: int) -> None:
    for i in range(count):
        await peer.send_json(
            {"type": "edit", "id": f"e-{i}", "channel": "joint", "target": HUGE, "body": "x"}
        )
        await asyncio.sleep(0.002)


async def poison_directly(server: RunningServer, room: str, count: int) -> list[Any]:
    """Edits that skip the frame schema, straight to the committer."""
    futures = []
    for i in range(count):
        draft = Draft(room, "joint", "c-a", "client", f"p-{i}", POISON_EDIT, "bypass", "edit")
        futures.append(server.services.committer.append(draft))
        await asyncio.sleep(0.002)
    return await asyncio.gather(*futures, return_exceptions=True)


def unavailable_count(server: RunningServer) -> float:
    value = server.services.metrics.registry.get_sample_value(
        "mediation_errors_total", {"code": "unavailable"}
    )
    return value or 0.0


async def test_poisoned_edits_in_one_room_leave_another_room_untouched(
    start_server: ServerFactory, settings: Settings
) -> None:
    # a linger makes the rooms' drafts share batches, as under load
    server = await start_server(dataclasses.replace(settings, commit_linger_ms=20.0))
    room_a = await server.platform.open_room("T-A", "c-a", "f-a")
    room_b = await server.platform.open_room("T-B", "c-b", "f-b")
    a_client, _ = await server.peer(room_a, "c-a", "client")
    b_client, _ = await server.peer(room_b, "c-b", "client")
    b_freelancer, _ = await server.peer(room_b, "f-b", "freelancer")
    await b_client.saw_join("f-b", "freelancer")
    sends, edits = 40, 25

    *_, direct = await asyncio.gather(
        send_many(b_client, "b", sends),
        edit_huge(a_client, edits),
        poison_directly(server, room_a, edits),
    )

    b_answers = [await b_client.next("ack", "error") for _ in range(sends)]
    assert [f["type"] for f in b_answers] == ["ack"] * sends, b_answers
    assert [f["seq"] for f in b_answers] == list(range(1, sends + 1))
    got = [(await b_freelancer.next("message"))["id"] for _ in range(sends)]
    assert got == [f"b-{i}" for i in range(sends)]
    a_answers = [await a_client.next("ack", "error") for _ in range(edits)]
    assert {(f["type"], f["code"]) for f in a_answers} == {("error", "invalid")}, a_answers
    assert [f["id"] for f in a_answers] == [f"e-{i}" for i in range(edits)]
    assert all(isinstance(r, Refused) and r.code == "invalid" for r in direct), direct
    # nobody was cut off, and storage never looked down
    await b_client.send("b-after", "joint", "still here")
    assert (await b_client.next("ack", "error"))["type"] == "ack"
    await a_client.send("a-after", "joint", "me too")
    assert (await a_client.next("ack", "error"))["type"] == "ack"
    assert b_client.ws.close_code is None and a_client.ws.close_code is None
    assert unavailable_count(server) == 0
