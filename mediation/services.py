"""Everything a running server holds, wired together once at startup."""

import asyncio
import logging
import secrets
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol, cast

import msgspec
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from mediation import migrate
from mediation.abuse import Abuse
from mediation.auth.revocations import Revocations
from mediation.auth.sign_ins import SignIns
from mediation.auth.tokens import TokenIssuer
from mediation.clock_scheduler import ClockScheduler
from mediation.config import Settings
from mediation.metrics import Metrics
from mediation.notices import Notices
from mediation.outbox.arbitration import arbitration_bundle
from mediation.outbox.configured import configured
from mediation.outbox.worker import OutboxWorker, Schedule
from mediation.protocol.codes import CloseCode
from mediation.record_codec import SealedRecordCodec
from mediation.review.scheduler import ReviewScheduler
from mediation.review.store import ReviewStore
from mediation.revoking import Revocable, Revoker
from mediation.server_secrets import Secrets, load_secrets
from mediation.sla.policies import Policies, PolicyStore
from mediation.sla.retiming import PolicyWatcher
from mediation.storage import open_blobs
from mediation.tickets.local import LocalTickets
from mediation.workflow_rules import StoreRules
from mediation.ws.people import People
from rooms import members
from rooms.broker import Broker, LocalBroker
from rooms.events import RAISED_BY
from rooms.floor import Floor
from rooms.hub import Hub
from rooms.ports import Draft, RoomInfo, StoredMessage
from rooms.workflow import Workflow
from transcripts import settlement_reads
from transcripts.access_log import AccessLog
from transcripts.database import Database
from transcripts.errors import Shredded
from transcripts.group_commit import GroupCommitConfig, GroupCommitter
from transcripts.locker import Locker
from transcripts.outbox import Outbox
from transcripts.presence import Presence
from transcripts.signing import SigningKeys
from transcripts.store import TranscriptStore
from transcripts.store_types import Record, RoomRow
from transcripts.uploads import Uploads

log = logging.getLogger(__name__)


class Closable(Protocol):
    @property
    def ended(self) -> asyncio.Event:  # set once the socket is closed and cleaned up
        ...

    draining: bool  # set at shutdown: new sends are left for the client to resend

    def close(self, code: int, reason: str) -> None: ...


class TranscriptLog:
    """The engine's MessageLog: appends through group commit, reads from the store."""

    def __init__(self, committer: GroupCommitter, store: TranscriptStore) -> None:
        self._committer = committer
        self.heads = store.heads
        self.read = store.read

    def append(self, draft: Draft) -> "asyncio.Future[StoredMessage]":
        # A Future is invariant in its type, but this one is only ever read.
        return cast("asyncio.Future[StoredMessage]", self._committer.append(draft))


class RoomsFromStore:
    """The engine's RoomDirectory, read from the transcript store."""

    def __init__(self, store: TranscriptStore) -> None:
        self._store = store

    async def get(self, room_id: str) -> RoomInfo | None:
        row = await self._store.room(room_id)
        if row is not None and row.shredded:  # refused before any welcome: 4404
            raise Shredded(f"room {room_id}: its transcript was destroyed under retention")
        return None if row is None else room_info(row)


def room_info(row: RoomRow) -> RoomInfo:
    floor = msgspec.convert((row.workflow or {}).get("floor", {}), Floor)
    return RoomInfo(
        row.id,
        row.ticket_provider,
        row.ticket_id,
        row.client_user,
        row.freelancer_user,
        row.state,
        floor,
        calendar=(row.workflow or {}).get("calendar"),
        members=members.admitted((row.workflow or {}).get("sides")),
    )


def abuse_of(settings: Settings) -> Abuse:
    return Abuse.of(
        (settings.auth_failure_per_second, settings.auth_failure_burst),
        (settings.mint_per_second, settings.mint_burst),
        (settings.join_per_second, settings.join_burst),
    )


def redis_broker(settings: Settings, store: TranscriptStore, node: str, metrics: Metrics) -> Broker:
    """Fan-out between processes. redis-py is ~6 MiB resident once imported: only then."""
    from mediation.redis_broker import RedisBroker

    return RedisBroker(
        settings.redis_url,
        SealedRecordCodec(store),
        node,
        settings.redis_prefix,
        heartbeat=settings.redis_heartbeat,
        observe_lag=metrics.redis_lag.observe,
    )


def outbox_schedule(settings: Settings) -> Schedule:
    return Schedule(
        tick=settings.outbox_tick,
        initial=settings.outbox_retry_initial,
        max_delay=settings.outbox_retry_max,
        max_age=settings.outbox_max_age,
        lease=settings.outbox_lease,
        keep_done=settings.outbox_keep_done,
    )


UPLOAD_SWEEP_AGE = timedelta(days=1)  # an upload unfinished for this long was interrupted


async def start_locker(store: TranscriptStore, settings: Settings) -> Locker:
    """The evidence locker, after clearing uploads that a crash left half done."""
    locker = Locker(store, open_blobs(settings), settings.files_chunk_bytes)
    try:
        swept = await locker.sweep(datetime.now(UTC) - UPLOAD_SWEEP_AGE)
    except Exception as exc:  # storage down at startup: retried at the next start
        log.warning("could not sweep interrupted uploads: %s", exc.__class__.__name__)
    else:
        if swept:
            log.info("removed %d interrupted uploads", swept)
    return locker


async def start_uploads(locker: Locker) -> Uploads:
    """Resumable uploads, after removing those that expired while we were down."""
    uploads = Uploads(locker)
    try:
        swept = await uploads.sweep(datetime.now(UTC))
    except Exception as exc:  # retried at the next start, and by every new upload
        log.warning("could not sweep expired uploads: %s", exc.__class__.__name__)
    else:
        if swept:
            log.info("removed %d expired uploads", swept)
    return uploads


@dataclass
class Services:
    settings: Settings
    secrets: Secrets
    db: Database
    store: TranscriptStore
    committer: GroupCommitter
    broker: Broker
    hub: Hub
    tokens: TokenIssuer
    tickets: LocalTickets
    node: str
    metrics: Metrics
    access_log: AccessLog
    workflow: Workflow
    clocks: ClockScheduler
    locker: Locker
    uploads: Uploads
    abuse: Abuse
    people: People[Revocable]  # joined sockets per person per room, and their send buckets
    revoker: Revoker
    outbox: Outbox
    outbox_worker: OutboxWorker
    notices: Notices
    sign_ins: SignIns
    sla: PolicyWatcher  # the SLA policies (clock targets per priority), kept fresh
    sockets: set[Closable] = field(default_factory=set)
    addresses: Counter[str] = field(default_factory=Counter)  # open sockets per client address
    reviews: ReviewScheduler | None = None  # peer review's weekly assignments (mediation.review)

    @classmethod
    async def start(cls, settings: Settings) -> "Services":
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        keys = load_secrets(settings)
        db = Database(settings.resolved_database_url)
        await migrate.prepare(db, keys.keyring)
        policies = Policies(settings.targets, PolicyStore(db))
        await policies.refresh()  # before the first commit: rooms are timed by their policy
        workflow = Workflow(
            settings.targets,
            policies.targets_for,
            warn_before=settings.deadline_warning,
            calendar=(settings.calendar_country, settings.calendar_timezone),
            side_acceptance=settings.side_acceptance,
        )
        sign_ins = SignIns(db)
        routes, destinations = configured(
            settings,
            lambda room: store.contacts(room),
            sign_ins,
            settlement=lambda room: settlement_reads.signed(
                store, load_secrets(settings).signing, room
            ),
            bundles=lambda room: arbitration_bundle(
                store, load_secrets(settings).signing, locker, room
            ),
        )
        rules = StoreRules(workflow, routes)
        store = TranscriptStore(
            db, keys.keyring, reload=lambda: load_secrets(settings).keyring, rules=rules
        )
        metrics = Metrics()
        outbox = Outbox(db)
        outbox_worker = OutboxWorker(outbox, destinations, metrics, outbox_schedule(settings))

        def committed(records: Sequence[Record]) -> None:
            hub.committed(records)  # hub is bound below
            if routes and any(r.kind in RAISED_BY for r in records):
                outbox_worker.wake()  # its rows are in: no need to wait for the tick

        committer = GroupCommitter(
            store,
            committed=committed,
            config=GroupCommitConfig(settings.commit_max_batch, settings.commit_linger_ms / 1000),
            observe=metrics.observe_batch,
        )
        node = secrets.token_hex(4)
        broker = (
            redis_broker(settings, store, node, metrics) if settings.redis_url else LocalBroker()
        )
        hub = Hub(TranscriptLog(committer, store), RoomsFromStore(store), broker)
        metrics.watch(lambda: len(hub.rooms), lambda: broker.healthy)
        people: People[Revocable] = People(
            settings.rate_per_second, settings.rate_burst, settings.max_connections_per_person
        )
        revocations = Revocations()
        revoker = Revoker(hub, db, broker, revocations, people)
        await revoker.reload()
        await broker.start(revoker)  # revocations stop there; the rest goes to the hub
        committer.start()
        clocks = ClockScheduler(store, committer, workflow, settings.clock_tick)
        clocks.start()
        sla = PolicyWatcher(policies, db, workflow, settings.clock_tick)
        sla.start()
        outbox_worker.start()
        notices = Notices(
            Presence(db),
            people.present,
            rules,
            store.contacts,
            outbox_worker.wake,
            settings.notify_after,
            settings.notify_every,
            settings.notice_tick,
        )
        notices.start()
        tokens = TokenIssuer(
            keys.token_secret, settings.token_ttl, settings.token_leeway, revocations
        )
        locker = await start_locker(store, settings)
        reviews = ReviewScheduler(ReviewStore(db), store, workflow, settings)
        reviews.start()
        return cls(
            settings,
            keys,
            db,
            store,
            committer,
            broker,
            hub,
            tokens,
            LocalTickets(db),
            node,
            metrics,
            AccessLog(db),
            workflow,
            clocks,
            locker,
            await start_uploads(locker),
            abuse_of(settings),
            people,
            revoker,
            outbox,
            outbox_worker,
            notices,
            sign_ins,
            sla,
            reviews=reviews,
        )

    async def drain(self, grace: float = 5.0) -> None:
        """Commit and acknowledge what was accepted, then close every socket with 1001.

        Sends arriving meanwhile get no answer: unacknowledged, the client
        resends them after it reconnects, so nobody sees an error.
        """
        await self.clocks.close()  # alarms wait for the next process; none is lost
        await self.sla.close()
        if self.reviews is not None:
            await self.reviews.close()
        await self.outbox_worker.close()  # its rows too: claimed again once leases end
        await self.notices.close()
        self.hub.queue.close()  # event streams end; their consoles reconnect elsewhere
        open_sockets = list(self.sockets)
        for conn in open_sockets:
            conn.draining = True
        await self.committer.close()
        for conn in open_sockets:
            conn.close(CloseCode.GOING_AWAY, "server shutting down: resume elsewhere")
        if open_sockets:
            await asyncio.wait(
                [asyncio.create_task(c.ended.wait()) for c in open_sockets], timeout=grace
            )

    async def stop(self) -> None:
        await self.clocks.close()
        await self.sla.close()
        if self.reviews is not None:
            await self.reviews.close()
        await self.outbox_worker.aclose()  # and its destinations' HTTP clients
        await self.notices.close()
        await self.committer.close()
        await self.broker.close()
        await self.locker.blobs.close()
        await self.db.close()

    def signing(self) -> SigningKeys:
        """The signing keys as configured now: they may rotate while we run."""
        return load_secrets(self.settings).signing

    async def database_ok(self) -> bool:
        try:
            async with asyncio.timeout(2), self.db.read() as conn:
                await conn.execute(text("SELECT 1"))
        except (SQLAlchemyError, OSError, TimeoutError):
            return False
        return True
