"""A real webhook receiver on a local socket: verifies each request per Standard Webhooks,
records what it accepted and what it refused, dedupes on webhook-id, and can be told to
answer 429/500/410/400 (or to answer late) for its next requests."""

import asyncio
import socket
from collections import Counter
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

import uvicorn
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


@dataclass(frozen=True)
class Received:
    """One request as it arrived."""

    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Event:
    """A verified, first-seen event."""

    id: str
    type: str
    timestamp: str
    data: dict[str, Any]


@dataclass(frozen=True)
class Rejected:
    id: str | None
    reason: str


@dataclass
class _Answer:
    status: int
    times: int
    retry_after: str | None
    delay: float


@dataclass
class WebhookReceiver:
    """`async with WebhookReceiver(secret) as receiver:` then POST to `receiver.url`."""

    secret: str
    requests: list[Received] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    duplicates: Counter[str] = field(default_factory=Counter)
    held: list[str] = field(default_factory=list)  # webhook-ids whose 2xx was held back
    _answers: list[_Answer] = field(default_factory=list)
    _server: uvicorn.Server | None = None
    _task: asyncio.Task[None] | None = None
    url: str = ""

    def answer_next(
        self,
        status: int,
        times: int = 1,
        *,
        retry_after: str | None = None,
        delay: float = 0.0,
    ) -> None:
        """Answer the next `times` requests with `status` (and `Retry-After`). A 2xx is
        answered after verifying and recording; `delay` holds the answer back that long."""
        self._answers.append(_Answer(status, times, retry_after, delay))

    def answer_promptly(self) -> None:
        """Forget the answers still queued: from now on every request gets a prompt 204."""
        self._answers.clear()

    def _take_answer(self) -> _Answer | None:
        if not self._answers:
            return None
        answer = self._answers[0]
        answer.times -= 1
        if answer.times <= 0:
            self._answers.pop(0)
        return answer

    async def _handle(self, request: Request) -> Response:
        body = await request.body()
        headers = dict(request.headers)
        self.requests.append(Received(headers, body))
        answer = self._take_answer()
        if answer is not None and not 200 <= answer.status < 300:
            extra = {"retry-after": answer.retry_after} if answer.retry_after else None
            return Response(status_code=answer.status, headers=extra)
        try:
            payload = Webhook(self.secret).verify(body, headers)
        except WebhookVerificationError as exc:
            self.rejected.append(Rejected(headers.get("webhook-id"), str(exc)))
            return Response(status_code=401)
        event_id = headers["webhook-id"]
        if any(event.id == event_id for event in self.events):
            self.duplicates[event_id] += 1
        else:
            self.events.append(
                Event(event_id, payload["type"], payload["timestamp"], payload["data"])
            )
        if answer is not None and answer.delay:
            self.held.append(event_id)
            await asyncio.sleep(answer.delay)
        return Response(status_code=answer.status if answer is not None else 204)

    async def __aenter__(self) -> Self:
        app = Starlette(routes=[Route("/{path:path}", self._handle, methods=["POST"])])
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        config = uvicorn.Config(
            app, log_level="warning", lifespan="off", timeout_graceful_shutdown=2
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        for _ in range(500):
            if self._server.started:
                break
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.01)
        else:
            raise RuntimeError("webhook receiver did not start")
        self.url = f"http://127.0.0.1:{port}/hooks"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._server is not None and self._task is not None
        self._server.should_exit = True
        await self._task
