"""Fan-out and presence between processes through Redis: the adapter behind
`rooms.broker.Broker` (rooms/ holds the port and stays free of I/O libraries).

- Each room is a pub/sub channel (sharded pub/sub on Redis 7+, so a Redis
  cluster spreads rooms over its shards). Records travel sealed: the codec
  mediation supplies never puts a message body in Redis in clear.
- Presence is a hash per room, `node|user|role -> connections`, read
  together with each node's heartbeat key, so the connections of a process
  that died vanish when its heartbeat expires.
- Redis is never the source of truth. Publishing is best effort with a
  bounded backlog; when a connection comes back, every live room catches
  up from the database, and rooms whose messages were dropped are announced
  as stale so other processes catch up too.
"""

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol

import msgspec
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from rooms.broker import (
    LocalBroker,
    PresenceHint,
    Published,
    QueueHint,
    Receiver,
    Revoked,
    RoomStale,
)
from rooms.ports import Member, StoredMessage, Typing
from rooms.visibility import Role

log = logging.getLogger(__name__)

BACKLOG = 10_000  # messages kept for Redis while it is unreachable
RETRY_DELAYS = (0.05, 0.1, 0.2, 0.5, 1.0, 2.0)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class RecordCodec(Protocol):
    """Turns committed records into bytes fit for Redis (sealed) and back."""

    def encode(self, record: StoredMessage) -> bytes: ...
    async def decode(self, data: bytes) -> StoredMessage: ...


class _Envelope(msgspec.Struct, array_like=True):
    node: str
    sent: float  # publisher's clock, for the lag metric
    kind: str  # "r" record, "p" presence hint, "s" room stale, "q" queue hint, "t" typing,
    # "v" revoked tokens
    data: bytes = b""


class RedisBroker:
    def __init__(
        self,
        url: str,
        codec: RecordCodec,
        node: str,
        prefix: str = "mediation",
        heartbeat: float = 5.0,
        observe_lag: Callable[[float], None] | None = None,
    ) -> None:
        self._redis: Redis = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
        self._codec = codec
        self._node = node
        self._prefix = prefix
        self._heartbeat = heartbeat
        self._ttl_ms = int(heartbeat * 3 * 1000)  # three missed beats and a process is gone
        self._observe_lag = observe_lag
        self._here = LocalBroker()  # this node's own connections: the fallback view
        self._rooms: set[str] = set()
        self._backlog: deque[tuple[str, str, bytes]] = deque()  # room, channel, payload
        self._stale: set[str] = set()  # rooms whose messages were dropped
        self._wakeup = asyncio.Event()
        self._pubsub: PubSub | None = None
        self._receiver: Receiver | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._remote_seen: dict[str, set[Member]] = {}  # last presence read from Redis
        self._listening = False
        self._publishing = True
        self._sharded = True  # until the server says otherwise (sharded pub/sub: Redis 7+)

    @property
    def healthy(self) -> bool:
        return self._listening and self._publishing

    # lifecycle

    async def start(self, receiver: Receiver) -> None:
        self._receiver = receiver
        self._tasks = [
            asyncio.create_task(self._listen(), name="redis-listen"),
            asyncio.create_task(self._publish_loop(), name="redis-publish"),
            asyncio.create_task(self._beat(), name="redis-heartbeat"),
        ]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        with contextlib.suppress(RedisError, OSError):
            await self._redis.delete(self._node_key(self._node))
        await self._redis.aclose()

    # fan-out

    async def subscribe(self, room_id: str) -> None:
        self._rooms.add(room_id)
        if self._pubsub is not None:
            with contextlib.suppress(RedisError, OSError):  # resubscribed on reconnect
                await self._sub(self._pubsub, self._room_channel(room_id))

    async def unsubscribe(self, room_id: str) -> None:
        self._rooms.discard(room_id)
        self._remote_seen.pop(room_id, None)
        if self._pubsub is not None:
            with contextlib.suppress(RedisError, OSError):
                await self._unsub(self._pubsub, self._room_channel(room_id))

    def publish(self, room_id: str, event: Published) -> None:
        channel = self._room_channel(room_id)
        if isinstance(event, PresenceHint):
            envelope = _Envelope(self._node, time.time(), "p")
        elif isinstance(event, RoomStale):
            envelope = _Envelope(self._node, time.time(), "s")
        elif isinstance(event, Typing):
            who = msgspec.msgpack.encode((event.user, event.role.value, event.channel))
            envelope = _Envelope(self._node, time.time(), "t", who)
        elif isinstance(event, QueueHint):  # for every process, not the room's listeners
            envelope = _Envelope(self._node, time.time(), "q", room_id.encode())
            channel = self._queue_channel
        elif isinstance(event, Revoked):  # for every process: each checks tokens itself
            envelope = _Envelope(self._node, time.time(), "v", msgspec.msgpack.encode(event))
            channel = self._revoked_channel
        else:
            envelope = _Envelope(self._node, time.time(), "r", self._codec.encode(event))
        if len(self._backlog) >= BACKLOG:
            dropped, _, _ = self._backlog.popleft()
            self._stale.add(dropped)
        self._backlog.append((room_id, channel, msgspec.msgpack.encode(envelope)))
        self._wakeup.set()

    async def _publish_loop(self) -> None:
        failures = 0
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._backlog or self._stale:
                try:
                    await self._flush()
                    failures, self._publishing = 0, True
                except (RedisError, OSError) as exc:
                    self._degraded("publish", exc)
                    self._publishing = False
                    await asyncio.sleep(RETRY_DELAYS[min(failures, len(RETRY_DELAYS) - 1)])
                    failures += 1

    async def _flush(self) -> None:
        """Send the backlog in one pipeline; on failure it stays for the next try."""
        for room_id in list(self._stale):
            stale = msgspec.msgpack.encode(_Envelope(self._node, time.time(), "s"))
            self._backlog.append((room_id, self._room_channel(room_id), stale))
        batch = list(self._backlog)
        async with self._redis.pipeline(transaction=False) as pipe:
            for _, channel, payload in batch:
                if self._sharded:
                    pipe.spublish(channel, payload)
                else:
                    pipe.publish(channel, payload)
            await pipe.execute()
        for _ in batch:
            self._backlog.popleft()
        self._stale.clear()

    async def _listen(self) -> None:
        failures = 0
        while True:
            pubsub = self._redis.pubsub()
            try:
                info = await self._redis.info("server")
                self._sharded = int(str(info.get("redis_version", "6")).split(".")[0]) >= 7
                await self._sub(pubsub, self._prefix + ":nodes")  # never empty: listen() waits
                await self._sub(pubsub, self._queue_channel)
                await self._sub(pubsub, self._revoked_channel)
                for room_id in list(self._rooms):
                    await self._sub(pubsub, self._room_channel(room_id))
                self._pubsub = pubsub
                await self._reconnected(after_outage=failures > 0)
                failures = 0
                async for message in pubsub.listen():
                    if message["type"] in ("message", "smessage"):
                        await self._received(message["channel"], message["data"])
            except (RedisError, OSError) as exc:
                self._degraded("subscribe", exc)
                self._listening, self._pubsub = False, None
                await asyncio.sleep(RETRY_DELAYS[min(failures, len(RETRY_DELAYS) - 1)])
                failures += 1
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def _received(self, channel: bytes | str, data: bytes) -> None:
        envelope = msgspec.msgpack.decode(data, type=_Envelope)
        if envelope.node == self._node or self._receiver is None:
            return
        if self._observe_lag is not None:
            self._observe_lag(max(0.0, time.time() - envelope.sent))
        if envelope.kind == "q":
            self._receiver.remote(envelope.data.decode(), QueueHint())
            return
        if envelope.kind == "v":
            revoked = msgspec.msgpack.decode(envelope.data, type=Revoked)
            self._receiver.remote(revoked.room, revoked)
            return
        room_id = _text(channel).rsplit(":", 1)[1]
        if envelope.kind == "r":
            try:
                record = await self._codec.decode(envelope.data)
            except Exception as exc:  # the database fills what we cannot open now
                log.warning("record from %s unreadable: %s", envelope.node, exc)
                return
            self._receiver.remote(room_id, record)
        elif envelope.kind == "p":
            self._receiver.remote(room_id, PresenceHint())
        elif envelope.kind == "s":
            self._receiver.remote(room_id, RoomStale())
        elif envelope.kind == "t":
            user, role, where = msgspec.msgpack.decode(envelope.data, type=tuple[str, str, str])
            self._receiver.remote(room_id, Typing(user, Role(role), where))

    async def _reconnected(self, after_outage: bool) -> None:
        """Listening again: restore our presence, and after an outage catch up."""
        await self._restore_presence()
        self._listening = True
        if after_outage and self._receiver is not None:
            log.info("redis reachable again: catching up every live room")
            self._receiver.resync()

    # presence

    async def arrive(self, room_id: str, member: Member) -> None:
        await self._here.arrive(room_id, member)
        with contextlib.suppress(RedisError, OSError):
            await self._redis.hincrby(self._presence_key(room_id), self._field(member), 1)

    async def depart(self, room_id: str, member: Member) -> None:
        await self._here.depart(room_id, member)
        key, field = self._presence_key(room_id), self._field(member)
        with contextlib.suppress(RedisError, OSError):
            if await self._redis.hincrby(key, field, -1) <= 0:
                await self._redis.hdel(key, field)

    async def online(self, room_id: str) -> set[Member]:
        members = await self._here.online(room_id)
        try:
            counts = await self._redis.hgetall(self._presence_key(room_id))
            nodes = sorted({_text(f).split("|", 1)[0] for f in counts})
            alive = await self._redis.mget([self._node_key(n) for n in nodes]) if nodes else []
        except (RedisError, OSError) as exc:
            self._degraded("presence", exc)
            return members | self._remote_seen.get(room_id, set())  # last known, not flapping
        live = {n for n, beat in zip(nodes, alive, strict=True) if beat is not None}
        remote = set()
        for field, count in counts.items():
            node, user, role = _text(field).split("|", 2)
            if node in live and int(count) > 0:
                remote.add(Member(user, Role(role)))
        self._remote_seen[room_id] = remote
        return members | remote

    async def _beat(self) -> None:
        """Keep our heartbeat alive; look again at presence, in case a process died."""
        while True:
            with contextlib.suppress(RedisError, OSError):
                await self._redis.set(self._node_key(self._node), b"1", px=self._ttl_ms)
            if self._receiver is not None:
                for room_id in list(self._rooms):
                    self._receiver.remote(room_id, PresenceHint())
            await asyncio.sleep(self._heartbeat)

    async def _restore_presence(self) -> None:
        await self._redis.set(self._node_key(self._node), b"1", px=self._ttl_ms)
        for room_id in list(self._rooms):
            here = self._here.counts(room_id)
            if here:
                await self._redis.hset(
                    self._presence_key(room_id),
                    mapping={self._field(m): n for m, n in here.items()},
                )

    # names and helpers

    def _room_channel(self, room_id: str) -> str:
        return f"{self._prefix}:room:{room_id}"

    @property
    def _queue_channel(self) -> str:
        return f"{self._prefix}:queue"

    @property
    def _revoked_channel(self) -> str:
        return f"{self._prefix}:revoked"

    def _presence_key(self, room_id: str) -> str:
        return f"{self._prefix}:presence:{room_id}"

    def _node_key(self, node: str) -> str:
        return f"{self._prefix}:node:{node}"

    def _field(self, member: Member) -> str:
        return f"{self._node}|{member.user}|{member.role.value}"

    async def _sub(self, pubsub: PubSub, channel: str) -> None:
        await (pubsub.ssubscribe(channel) if self._sharded else pubsub.subscribe(channel))

    async def _unsub(self, pubsub: PubSub, channel: str) -> None:
        await (pubsub.sunsubscribe(channel) if self._sharded else pubsub.unsubscribe(channel))

    def _degraded(self, what: str, exc: Exception) -> None:
        if self.healthy:
            log.warning("redis %s failed (%s): delivering locally", what, exc.__class__.__name__)
