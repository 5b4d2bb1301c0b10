"""GET /openapi.json describes every route, and the live server keeps to it: schemathesis
fuzzes every operation (no 500, every status, content type and body as declared)."""

import asyncio
import dataclasses
from collections import Counter
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, strategies
from hypothesis import settings as examples
from schemathesis import Case, GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from starlette.routing import Route

from mediation.app import create_app
from mediation.config import Settings
from tests.conftest import RunningServer, ServerFactory

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])

schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")

EXAMPLES = 12  # per operation and kind of case: any, in the real room, invalid
NEVER_ENDS = {("GET", "/api/queue/events")}  # an event stream: its body never completes
CREDENTIALS = ("apiKey", "roomToken", "staffToken")  # the first the operation takes is used
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


async def _document(server: RunningServer) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        response = await http.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    document: dict[str, Any] = response.json()
    return document


async def test_every_route_is_described(server: RunningServer) -> None:
    document = await _document(server)
    assert document["openapi"] == "3.1.0"
    described = {
        (method.upper(), path) for path, ops in document["paths"].items() for method in ops
    }
    served = set()
    for route in create_app(server.settings).routes:
        if isinstance(route, Route):
            methods = route.methods or {"GET"}
            served |= {(m, route.path) for m in methods if m != "HEAD" or methods == {"HEAD"}}
    assert described == served
    errors = document["components"]["schemas"]["ErrorBody"]["properties"]["code"]["enum"]
    assert {"unauthorized", "not_found", "rate_limited", "tampered"} <= set(errors)
    room = document["paths"]["/api/rooms"]["post"]
    assert room["security"] == [{"apiKey": []}]
    assert room["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/CreateRoom"
    }
    assert set(room["responses"]) == {"201", "400", "401", "409", "413", "429"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Fuzzed sign-in codes fail authentication: let them, without throttling the rest."""
    return dataclasses.replace(settings, auth_failure_burst=1_000_000)


async def test_the_server_keeps_to_its_document(server: RunningServer) -> None:
    platform = server.platform
    room = await platform.open_room("T-openapi")
    room_token = await platform.token(room, "mod-1", "moderator")
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        minted = await http.post(
            "/api/staff/tokens",
            json={"user": "mod-1", "role": "moderator"},
            headers=platform.auth,
        )
    staff_token = minted.json()["token"]
    schema = schemathesis.openapi.from_dict(await _document(server))
    credential = {"apiKey": platform.api_key, "roomToken": room_token, "staffToken": staff_token}

    seen: Counter[tuple[str, str, int]] = Counter()

    def fuzz() -> list[str]:
        failures = []
        for result in schema.get_all_operations():
            assert isinstance(result, Ok), result
            operation = result.ok()
            if (operation.method.upper(), operation.path) in NEVER_ENDS:
                continue
            schemes = [name for need in operation.definition.raw["security"] for name in need]
            found = [credential[name] for name in CREDENTIALS if name in schemes]
            headers = {"Authorization": f"Bearer {found[0]}"} if found else {}
            kinds = [operation.as_strategy()]
            if "{room_id}" in operation.path:  # also where things exist: the real room
                kinds.append(operation.as_strategy(**_in_room(operation.definition.raw, room)))
            if (operation.method.upper(), operation.path) == ("POST", "/api/rooms"):
                kinds.append(strategies.builds(_with_body, operation.as_strategy(), _new_room()))
            kinds.append(operation.as_strategy(GenerationMode.NEGATIVE))
            try:
                _fuzz(strategies.one_of(kinds), len(kinds), server.base_url, headers, seen)
            except (Exception, FailureGroup) as exc:
                failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
        return failures

    failures = await asyncio.to_thread(fuzz)
    assert not failures, "\n\n".join(failures)
    succeeded = {(method, path) for method, path, status in seen if status < 300}
    assert len(succeeded) >= 20, succeeded  # the fuzzing reached past the refusals


def _fuzz(
    cases: strategies.SearchStrategy[Case[Any]],
    kinds: int,
    base_url: str,
    headers: dict[str, str],
    seen: Counter[tuple[str, str, int]],
) -> None:
    @given(case=cases)
    @examples(
        max_examples=EXAMPLES * kinds,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def check(case: Case[Any]) -> None:
        response = case.call(base_url=base_url, headers=headers, timeout=10)
        seen[case.method, case.path, response.status_code] += 1
        case.validate_response(response, checks=CHECKS)

    check()


def _in_room(raw: dict[str, Any], room: str) -> dict[str, Any]:
    """Cases in the real room, in its `joint` channel, in the tus version spoken."""
    names = {(p["in"], p["name"]) for p in raw["parameters"]}
    found: dict[str, Any] = {"path_parameters": {"room_id": room}}
    if ("query", "channel") in names:
        found["query"] = {"channel": "joint"}
    headers = {"Tus-Resumable": "1.0.0", "Content-Disposition": "attachment; filename=a.txt"}
    found["headers"] = {k: v for k, v in headers.items() if ("header", k) in names}
    return found


@strategies.composite
def _new_room(draw: strategies.DrawFn) -> dict[str, Any]:
    """A room for a ticket of the known provider (random providers are all refused)."""
    user = strategies.from_regex(r"\A[a-z0-9-]{1,20}\Z")
    return {
        "ticket": {"provider": "local", "id": draw(user)},
        "client": "c-" + draw(user),
        "freelancer": "f-" + draw(user),
    }


def _with_body(case: Case[Any], body: dict[str, Any]) -> Case[Any]:
    case.body = body
    return case


async def test_a_lie_is_caught(start_server: ServerFactory, settings: Settings) -> None:
    """The check itself: an answer that breaks its declared schema fails it."""
    server = await start_server(settings)
    document = await _document(server)
    alive = document["components"]["schemas"]["Alive"]
    alive["properties"]["status"] = {"enum": ["fine"]}
    operation = schemathesis.openapi.from_dict(document)["/healthz"]["GET"]
    case = operation.Case()

    def call() -> None:
        response = case.call(base_url=server.base_url)
        case.validate_response(response, checks=[response_schema_conformance])

    with pytest.raises(FailureGroup, match="violates schema"):
        await asyncio.to_thread(call)
