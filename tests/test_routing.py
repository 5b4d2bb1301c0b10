"""Routing by language and skill, end to end: moderator profiles over HTTP, each
moderator's queue in their own order with its reasons, and the report by language."""

from typing import Any

from tests.conftest import RunningServer
from tests.test_staff import staff_token

GERMAN_TIER2 = {"languages": ["de-DE", "en"], "skills": ["Payments"], "tier": 2}
ENGLISH_TIER1 = {"languages": ["en"], "skills": ["design"], "tier": 1}


async def put_profile(server: RunningServer, user: str, body: dict[str, Any]) -> int:
    platform = server.platform
    answer = await platform.http.put(f"/api/moderators/{user}", json=body, headers=platform.auth)
    return answer.status_code


async def open_room(server: RunningServer, ticket: str, **more: Any) -> dict[str, Any]:
    platform = server.platform
    body = {"ticket": {"provider": "local", "id": ticket}, "client": "c-1", "freelancer": "f-1"}
    answer = await platform.http.post("/api/rooms", json=body | more, headers=platform.auth)
    assert answer.status_code == 201, answer.text
    room: dict[str, Any] = answer.json()
    return room


async def escalate(server: RunningServer, room: str) -> None:
    platform = server.platform
    claim = {"moderator": "m-0"}
    url = f"/api/rooms/{room}/claim"
    claimed = await platform.http.post(url, json=claim, headers=platform.auth)
    assert claimed.status_code == 200, claimed.text
    moderator, _ = await server.peer(room, "m-0", "moderator")
    await moderator.acked({"type": "transition", "id": "up", "to": "escalated", "reason": "de"})
    await moderator.close()


async def test_profiles_are_set_by_the_api_key_and_read_by_their_moderator(
    server: RunningServer,
) -> None:
    http, auth = server.platform.http, server.platform.auth
    assert await put_profile(server, "m-de", GERMAN_TIER2) == 201
    assert await put_profile(server, "m-de", GERMAN_TIER2 | {"tier": 3}) == 200
    assert await put_profile(server, "m-en", ENGLISH_TIER1) == 201
    listed = (await http.get("/api/moderators", headers=auth)).json()["moderators"]
    assert listed == [
        {"user": "m-de", "languages": ["de", "en"], "skills": ["payments"], "tier": 3},
        {"user": "m-en", "languages": ["en"], "skills": ["design"], "tier": 1},
    ]
    own = await staff_token(server, "m-en", "moderator")
    assert (await http.get("/api/moderators/m-en", headers=own)).json()["tier"] == 1
    assert (await http.get("/api/moderators/m-de", headers=own)).status_code == 403
    assert (await http.get("/api/moderators", headers=own)).status_code == 401
    put = await http.put("/api/moderators/m-en", json=GERMAN_TIER2, headers=own)
    assert put.status_code == 401  # a moderator cannot raise their own tier
    assert (await http.get("/api/moderators/m-none", headers=auth)).status_code == 404
    auditor = await staff_token(server, "a-1", "auditor", purpose="routing review")
    assert (await http.get("/api/moderators/a-1", headers=auditor)).status_code == 403


async def test_bad_profiles_are_refused_with_400(server: RunningServer) -> None:
    for bad in (
        {"languages": [], "tier": 1},  # speaks nothing
        {"languages": ["german!"], "tier": 1},
        {"languages": ["de"], "tier": 0},
        {"languages": ["de"], "tier": 1, "skills": ["Pay ments"]},
        {"languages": ["de"], "tier": 1, "skills": [f"s{i}" for i in range(9)]},
        {"languages": ["de"]},  # no tier
        {"languages": ["de"], "tier": 1, "team": "x"},
    ):
        assert await put_profile(server, "m-1", bad) == 400, bad
    assert await put_profile(server, "m 1", {"languages": ["de"], "tier": 1}) == 400
    assert (await server.platform.http.get("/api/moderators")).status_code == 401


async def test_rooms_take_their_language_from_the_request_the_parties_or_the_default(
    server: RunningServer,
) -> None:
    asked = await open_room(server, "T-1", language="de-AT", skills=["payments", "Payments"])
    assert (asked["language"], asked["skills"]) == ("de", ["payments"])
    people = [{"user": "x-9", "locale": "fr"}, {"user": "f-1", "locale": "es-MX"}]
    from_party = await open_room(server, "T-2", people=people)  # x-9 is no party
    assert from_party["language"] == "es"
    assert (await open_room(server, "T-3"))["language"] == "en"  # room_language
    platform = server.platform
    for bad in ({"language": "german!"}, {"skills": ["Not A Tag"]}):
        body = {"ticket": {"provider": "local", "id": "T-4"}, "client": "c-1", "freelancer": "f-1"}
        answer = await platform.http.post("/api/rooms", json=body | bad, headers=platform.auth)
        assert answer.status_code == 400, bad


async def test_each_moderator_sees_the_rooms_they_can_take_first_and_why(
    server: RunningServer,
) -> None:
    german = await open_room(
        server, "T-de", skills=["payments"], people=[{"user": "c-1", "locale": "de-DE"}]
    )
    await escalate(server, german["id"])  # a tier-2 room now, waiting longest
    english = await open_room(server, "T-en")
    design = await open_room(server, "T-design", skills=["design"])
    assert await put_profile(server, "m-de", GERMAN_TIER2) == 201
    assert await put_profile(server, "m-en", ENGLISH_TIER1) == 201
    http = server.platform.http

    async def queue(headers: dict[str, str]) -> list[dict[str, Any]]:
        answer = await http.get("/api/queue", headers=headers)
        assert answer.status_code == 200, answer.text
        rooms: list[dict[str, Any]] = answer.json()["rooms"]
        return rooms

    as_key = await queue(server.platform.auth)  # the API key: the queue's own order
    assert [r["id"] for r in as_key] == [german["id"], english["id"], design["id"]]
    assert all("routing" not in r for r in as_key)

    de_rooms = await queue(await staff_token(server, "m-de", "moderator"))
    assert [r["id"] for r in de_rooms] == [german["id"], english["id"], design["id"]]
    assert (de_rooms[0]["language"], de_rooms[0]["skills"], de_rooms[0]["tier"]) == (
        "de",
        ["payments"],
        2,
    )
    assert de_rooms[0]["routing"] == {
        "match": True,
        "reasons": ["speaks de", "tier 2 ≤ 2", "skill payments"],
    }
    assert de_rooms[2]["routing"] == {
        "match": False,
        "reasons": ["speaks en", "tier 1 ≤ 2", "lacks skill design"],
    }

    en_rooms = await queue(await staff_token(server, "m-en", "moderator"))
    assert [r["id"] for r in en_rooms] == [design["id"], english["id"], german["id"]]
    assert en_rooms[0]["routing"] == {
        "match": True,
        "reasons": ["speaks en", "tier 1 ≤ 1", "skill design"],
    }
    assert en_rooms[2]["routing"] == {
        "match": False,
        "reasons": ["does not speak de", "tier 2 > 1", "lacks skill payments"],
    }

    nobody = await queue(await staff_token(server, "m-new", "moderator"))  # no profile
    assert [r["id"] for r in nobody] == [r["id"] for r in as_key]

    report = await http.get("/api/reports/rooms", headers=server.platform.auth)
    body = report.json()
    assert {r["room"]: r["language"] for r in body["rooms"]} == {
        german["id"]: "de",
        english["id"]: "en",
        design["id"]: "en",
    }
    assert body["languages"]["de"] == {"rooms": 1, "resolved": 0, "escalated": 1, "breaches": 0}
    assert body["languages"]["en"]["rooms"] == 2
    sheet = await http.get("/api/reports/rooms?format=csv", headers=server.platform.auth)
    header = sheet.text.splitlines()[0].split(",")
    assert header[-2:] == ["language", "skills"]
