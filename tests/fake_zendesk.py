"""A local Zendesk Support API on a real socket: tickets and their comments, auth, cursor
pagination, and faults a test can set (429s, 5xxs, an outage, an update applied then hung).

    async with running_zendesk() as zendesk:
        zendesk.add_ticket("123")
        ... ZendeskApi(zendesk.base_url, email=zendesk.email, api_token=zendesk.api_token)
"""

import asyncio
import base64
import contextlib
import html
import json
import re
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

STATUSES = {"new", "open", "pending", "hold", "solved", "closed"}
TICKET = re.compile(r"/api/v2/tickets/([^/]+)\.json")
COMMENTS = re.compile(r"/api/v2/tickets/([^/]+)/comments\.json")
TAGS = re.compile(r"/api/v2/tickets/([^/]+)/tags\.json")


@dataclass
class Ticket:
    id: int
    status: str = "new"
    tags: list[str] = field(default_factory=list)
    comments: list[dict[str, Any]] = field(default_factory=list)

    def json(self) -> dict[str, Any]:
        return {"id": self.id, "status": self.status, "tags": list(self.tags)}


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    auth_ok: bool


class FakeZendesk:
    def __init__(
        self,
        email: str = "agent@example.com",
        api_token: str = "zd-api-token-6f1c",
        oauth_token: str = "zd-oauth-token-93ab",
    ) -> None:
        self.email, self.api_token, self.oauth_token = email, api_token, oauth_token
        self.base_url = ""
        self.tickets: dict[str, Ticket] = {}
        self.requests: list[Seen] = []
        self.outage = False  # every request: 503
        self.rate_limited = 0  # the next N requests: 429 with Retry-After
        self.retry_after = 7
        self.failing = 0  # the next N requests: `fail_status`
        self.fail_status = 500
        self.fail_retry_after: int | None = None
        self.hang_after_apply = 0  # the next N updates: applied, then no answer for a while
        self.hang_seconds = 30.0
        self._release = asyncio.Event()
        self._next_comment = 1000
        methods = ["GET", "PUT", "POST", "DELETE"]
        self.app = Starlette(routes=[Route("/{path:path}", self._handle, methods=methods)])

    def add_ticket(
        self,
        ticket_id: str,
        *,
        description: str = "A dispute.",
        status: str = "new",
        tags: tuple[str, ...] = (),
    ) -> Ticket:
        """A ticket, its description as its first comment (public), as Zendesk keeps it."""
        ticket = Ticket(int(ticket_id), status, list(tags))
        self.add_comment(ticket, description, public=True)
        self.tickets[ticket_id] = ticket
        return ticket

    def add_comment(self, ticket: Ticket, body: str, *, public: bool) -> None:
        """A comment as Zendesk lists it (`body`, `html_body`, `plain_body`, `public`)."""
        self._next_comment += 1
        created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        ticket.comments.append(
            {
                "id": self._next_comment,
                "type": "Comment",
                "author_id": 1,
                "body": body,
                "html_body": f'<div class="zd-comment"><p>{html.escape(body)}</p></div>',
                "plain_body": body,
                "public": public,
                "attachments": [],
                "created_at": created,
            }
        )

    def _auth_ok(self, request: Request) -> bool:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme == "Bearer":
            return value == self.oauth_token
        if scheme == "Basic":
            try:
                decoded = base64.b64decode(value, validate=True).decode()
            except ValueError:
                return False
            return decoded == f"{self.email}/token:{self.api_token}"
        return False

    async def _handle(self, request: Request) -> Response:
        auth_ok = self._auth_ok(request)
        self.requests.append(Seen(request.method, request.url.path, auth_ok))
        if self.outage:
            return JSONResponse({"error": "ServiceUnavailable"}, 503)
        if self.rate_limited > 0:
            self.rate_limited -= 1
            headers = {"Retry-After": str(self.retry_after)}
            return PlainTextResponse("Too Many Requests", 429, headers=headers)
        if self.failing > 0:
            self.failing -= 1
            after = self.fail_retry_after
            headers = {} if after is None else {"Retry-After": str(after)}
            return JSONResponse({"error": "ServerError"}, self.fail_status, headers=headers)
        if not auth_ok:
            return JSONResponse({"error": "Couldn't authenticate you"}, 401)
        path = request.url.path
        if (match := COMMENTS.fullmatch(path)) and request.method == "GET":
            return self._comments(request, match[1])
        if (match := TAGS.fullmatch(path)) and request.method == "PUT":
            return await self._add_tags(request, match[1])
        if (match := TICKET.fullmatch(path)) and request.method in ("GET", "PUT"):
            ticket = self.tickets.get(match[1])
            if ticket is None:
                return not_found()
            if request.method == "GET":
                return JSONResponse({"ticket": ticket.json()})
            return await self._update(request, ticket)
        return not_found()

    async def _update(self, request: Request, ticket: Ticket) -> Response:
        try:
            data = json.loads(await request.body())
        except ValueError:
            return invalid("body is not JSON")
        update = data.get("ticket") if isinstance(data, dict) else None
        problem = validate(update)
        if problem or not isinstance(update, dict):
            return invalid(problem or "ticket missing")
        if ticket.status == "closed":
            return invalid("closed tickets cannot be updated")
        if (comment := update.get("comment")) is not None:
            self.add_comment(ticket, comment["body"], public=comment.get("public", True))
        ticket.status = update.get("status", ticket.status)
        if "tags" in update:  # a single ticket's update replaces its tags
            ticket.tags = list(update["tags"])
        if self.hang_after_apply > 0:
            self.hang_after_apply -= 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._release.wait(), self.hang_seconds)
        return JSONResponse({"ticket": ticket.json(), "audit": {"ticket_id": ticket.id}})

    async def _add_tags(self, request: Request, ticket_id: str) -> Response:
        """The Tags API's "add tags": the ticket keeps its own and gains these."""
        ticket = self.tickets.get(ticket_id)
        if ticket is None:
            return not_found()
        try:
            tags = json.loads(await request.body()).get("tags")
        except (ValueError, AttributeError):
            return invalid("body is not a JSON object")
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            return invalid("tags must be a list of strings")
        ticket.tags += [t for t in tags if t not in ticket.tags]
        return JSONResponse({"tags": ticket.tags})

    def _comments(self, request: Request, ticket_id: str) -> Response:
        ticket = self.tickets.get(ticket_id)
        if ticket is None:
            return not_found()
        comments, query = ticket.comments, request.query_params
        if "page[size]" not in query:  # offset pagination: one page here
            return JSONResponse({"comments": comments, "next_page": None, "count": len(comments)})
        try:
            size = int(query["page[size]"])
            start = (
                int(base64.urlsafe_b64decode(query["page[after]"])) if "page[after]" in query else 0
            )
        except ValueError:
            return JSONResponse({"error": "InvalidPaginationParameter"}, 400)
        if not 1 <= size <= 100 or start < 0:
            return JSONResponse({"error": "InvalidPaginationParameter"}, 400)
        page, end = comments[start : start + size], min(start + size, len(comments))
        after = base64.urlsafe_b64encode(str(end).encode()).decode()
        has_more = end < len(comments)
        url = f"{self.base_url}/api/v2/tickets/{ticket_id}/comments.json?page[size]={size}"
        return JSONResponse(
            {
                "comments": page,
                "meta": {"has_more": has_more, "after_cursor": after, "before_cursor": None},
                "links": {"next": f"{url}&page[after]={after}" if has_more else None, "prev": None},
            }
        )


def validate(update: object) -> str | None:
    """What is wrong with a `{"ticket": ...}` update, as Zendesk would refuse it (422)."""
    if not isinstance(update, dict):
        return "ticket must be an object"
    comment = update.get("comment")
    if comment is not None:
        if not isinstance(comment, dict) or not isinstance(comment.get("body"), str):
            return "comment needs a body"
        if not comment["body"].strip() or not isinstance(comment.get("public", True), bool):
            return "comment body is blank or public is not a boolean"
    if "status" in update and update["status"] not in STATUSES:
        return "status is not a ticket status"
    for key in ("tags",):
        tags = update.get(key, [])
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            return f"{key} must be a list of strings"
    return None


def not_found() -> Response:
    return JSONResponse({"error": "RecordNotFound", "description": "Not found"}, 404)


def invalid(why: str) -> Response:
    body = {"error": "RecordInvalid", "description": "Record validation errors", "details": why}
    return JSONResponse(body, 422)


@asynccontextmanager
async def running_zendesk(**credentials: str) -> AsyncIterator[FakeZendesk]:
    """A `FakeZendesk` served by uvicorn on 127.0.0.1 on a free port while inside."""
    fake = FakeZendesk(**credentials)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    fake.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    config = uvicorn.Config(fake.app, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        yield fake
    finally:
        fake._release.set()  # a hung update answers now
        server.should_exit = True
        await task
        sock.close()
