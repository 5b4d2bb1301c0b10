"""Peer review end to end over HTTP and real sockets: the scorecard and its refusals, the
week's assignments (never a reviewer's own room, made once), the reviewer's read of the
room in the access log with its purpose, one review per assignment, the reviewed
moderator's results, and the report next to CSAT and time to resolution."""

import asyncio
from dataclasses import replace
from typing import Any

import pytest

from mediation.config import Settings
from mediation.review.scheduler import ReviewScheduler
from tests.conftest import RunningServer, ServerFactory, free_port
from tests.test_sla_policies import staff

MODERATORS = ("m-1", "m-2", "m-3")
CARD = {
    "criteria": [
        {"key": "empathy", "label": "Empathy", "description": "heard", "weight": 3},
        {"key": "neutrality", "label": "Neutrality", "weight": 1},
    ]
}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, reviews_per_week=1, review_admins=("m-lead",), review_seed="t")


async def resolve(server: RunningServer, ticket: str, moderator: str, rating: int) -> str:
    """A room claimed by `moderator`, resolved, and rated by the client."""
    platform = server.platform
    room = await platform.open_room(ticket)
    client, _ = await server.peer(room, "c-1", "client")
    claimed = await platform.http.post(
        f"/api/rooms/{room}/claim", json={"moderator": moderator}, headers=platform.auth
    )
    assert claimed.status_code == 200, claimed.text
    mod, _ = await server.peer(room, moderator, "moderator")
    await mod.acked({"type": "send", "id": "hi", "channel": "joint", "body": "Hello both"})
    await mod.acked({"type": "transition", "id": "done", "to": "resolved"})
    await client.acked({"type": "rate", "id": "csat", "rating": rating})
    for peer in (client, mod):
        await peer.close()
    return room


async def call(
    server: RunningServer, method: str, url: str, auth: dict[str, str], body: Any = None
) -> tuple[int, Any]:
    answer = await server.platform.http.request(method, url, json=body, headers=auth)
    try:
        return answer.status_code, answer.json()
    except ValueError:
        return answer.status_code, answer.text


async def test_the_scorecard_refuses_bad_input_with_stable_codes(server: RunningServer) -> None:
    api = server.platform.auth
    status, card = await call(server, "GET", "/api/review/scorecard", await staff(server, "m-1"))
    assert (status, card["version"], card["editable"]) == (200, None, False)
    assert [c["key"] for c in card["criteria"]][:2] == ["empathy", "neutrality"]
    one = CARD["criteria"][0]
    bad = {
        "criteria_count": {"criteria": []},
        "duplicate_criterion": {"criteria": [one, one]},
        "bad_weight": {"criteria": [one | {"weight": 0}]},
    }
    for code, body in bad.items():
        status, answer = await call(server, "PUT", "/api/review/scorecard", api, body)
        assert (status, answer["error"]["code"]) == (400, code), answer
    too_many = {"criteria": [one | {"key": f"k{i}"} for i in range(21)]}
    status, answer = await call(server, "PUT", "/api/review/scorecard", api, too_many)
    assert (status, answer["error"]["code"]) == (400, "criteria_count")
    moderator = await staff(server, "m-1")
    status, answer = await call(server, "PUT", "/api/review/scorecard", moderator, CARD)
    assert (status, answer["error"]["code"]) == (403, "forbidden")
    lead = await staff(server, "m-lead")
    status, made = await call(server, "PUT", "/api/review/scorecard", lead, CARD)
    assert (status, made["created_by"], made["version"]) == (200, "m-lead", 1)
    status, again = await call(server, "PUT", "/api/review/scorecard", api, CARD)
    assert again["version"] == 2
    status, now = await call(server, "GET", "/api/review/scorecard", moderator)
    assert now["version"] == 2 and now["criteria"][0]["weight"] == 3


async def test_a_week_of_peer_review(server: RunningServer) -> None:
    api = server.platform.auth
    rooms = {
        m: await resolve(server, f"T-{m}", m, rating)
        for m, rating in zip(MODERATORS, (5, 3, 4), strict=True)
    }
    owner = {room: m for m, room in rooms.items()}
    status, _ = await call(server, "PUT", "/api/review/scorecard", api, CARD)
    assert status == 200

    status, done = await call(server, "POST", "/api/review/assign", api)
    assert (status, done["assigned"]) == (200, 3), done
    status, again = await call(server, "POST", "/api/review/assign", api)
    assert again["assigned"] == 0  # once per week, reviewer and room
    status, bad = await call(server, "POST", "/api/review/assign?week=2026-W60", api)
    assert (status, bad["error"]["code"]) == (400, "invalid")

    auth = {m: await staff(server, m) for m in MODERATORS}
    mine: dict[str, dict[str, Any]] = {}
    for m in MODERATORS:
        status, box = await call(server, "GET", "/api/review/inbox", auth[m])
        [assignment] = box["assignments"]
        assert assignment["reviewer"] == m
        assert assignment["moderator"] != m and owner[assignment["room"]] != m
        mine[m] = assignment
    assert len({a["room"] for a in mine.values()}) == 3  # every room reviewed once

    first = mine["m-1"]
    url = f"/api/review/assignments/{first['id']}"
    status, _ = await call(server, "GET", f"{url}/transcript", auth["m-2"])
    assert status == 403  # someone else's assignment
    read = await server.platform.http.get(f"{url}/transcript?format=html", headers=auth["m-1"])
    assert read.status_code == 200 and "Hello both" in read.text
    status, log = await call(server, "GET", "/api/audit-log", api)
    [entry] = [e for e in log["entries"] if e["action"] == "review_read"]
    assert entry["actor"] == {"user": "m-1", "role": "moderator"}
    assert (entry["purpose"], entry["room"]) == ("peer review", first["room"])

    status, refused = await call(server, "POST", url, auth["m-1"], {"scores": {"empathy": 5}})
    assert (status, refused["error"]["code"]) == (400, "invalid_scores")
    six = {"scores": {"empathy": 6, "neutrality": 1}}
    status, refused = await call(server, "POST", url, auth["m-1"], six)
    assert (status, refused["error"]["code"]) == (400, "invalid_scores")
    review = {"scores": {"empathy": 5, "neutrality": 1}, "comment": "Kind, a bit one-sided"}
    status, refused = await call(server, "POST", url, auth["m-2"], review)
    assert status == 403
    status, made = await call(server, "POST", url, auth["m-1"], review)
    assert (status, made["weighted"]) == (201, 4.0), made
    status, twice = await call(server, "POST", url, auth["m-1"], review)
    assert (status, twice["error"]["code"]) == (409, "already_reviewed")

    reviewed = first["moderator"]
    status, seen = await call(server, "GET", "/api/review/results", auth[reviewed])
    [result] = seen["reviews"]
    assert (result["room"], result["comment"], result["reviewer"]) == (
        first["room"],
        "Kind, a bit one-sided",
        None,
    )
    for other in set(MODERATORS) - {reviewed}:
        status, none = await call(server, "GET", "/api/review/results", auth[other])
        assert none["reviews"] == []
    status, everyone = await call(server, "GET", "/api/review/results", api)
    assert [r["reviewer"] for r in everyone["reviews"]] == ["m-1"]

    status, report = await call(server, "GET", "/api/reports/reviews", api)
    assert status == 200, report
    rows = {r["moderator"]: r for r in report["rows"]}
    row = rows[reviewed]
    assert (row["reviews"], row["weighted"], row["criteria"]) == (
        1,
        4.0,
        {"empathy": 5.0, "neutrality": 1.0},
    )
    rating = {"m-1": 5, "m-2": 3, "m-3": 4}[reviewed]
    assert (row["rooms_resolved"], row["csat_average"], row["csat_count"]) == (1, rating, 1)
    assert row["median_resolution_seconds"] > 0
    for m in set(MODERATORS) - {reviewed}:
        assert rows[m]["reviews"] == 0 and rows[m]["weighted"] is None
    status, bad = await call(server, "GET", "/api/reports/reviews?from=2026-W52&to=2026-W01", api)
    assert (status, bad["error"]["code"]) == (400, "invalid")


async def test_a_room_transferred_is_never_reviewed_by_either_moderator_and_two_runs_store_once(
    server: RunningServer,
) -> None:
    """m-1 claims a room and transfers it to m-2, who resolves it; m-3 resolved one of its
    own. With all three reviewing, m-1 (who claimed the transferred room) and m-2 may only
    get m-3's room, and m-3 the transferred one; two processes' runs at once store each
    pair once."""
    platform = server.platform
    room = await platform.open_room("T-moved")
    client, _ = await server.peer(room, "c-1", "client")
    claimed = await platform.http.post(
        f"/api/rooms/{room}/claim", json={"moderator": "m-1"}, headers=platform.auth
    )
    assert claimed.status_code == 200, claimed.text
    first, _ = await server.peer(room, "m-1", "moderator")
    await first.acked({"type": "transfer", "id": "t1", "to": "m-2", "brief": "yours"})
    second, _ = await server.peer(room, "m-2", "moderator")
    await second.acked({"type": "transition", "id": "done", "to": "resolved"})
    for peer in (client, first, second):
        await peer.close()
    other = await resolve(server, "T-m3", "m-3", 4)

    running = server.services.reviews
    assert running is not None
    everyone = replace(server.settings, reviewers=MODERATORS)
    services = server.services
    scheduler = ReviewScheduler(running.reviews, services.store, services.workflow, everyone)
    week = scheduler.this_week()
    stored = await asyncio.gather(scheduler.assign(week), scheduler.assign(week))
    rows = await scheduler.reviews.assignments(week)
    assert sum(stored) == len(rows) == 3
    got = {r.reviewer: (r.room_id, r.moderator) for r in rows}
    assert got == {"m-1": (other, "m-3"), "m-2": (other, "m-3"), "m-3": (room, "m-2")}


async def test_a_process_assigns_the_week_by_itself_at_start(
    server: RunningServer, start_server: ServerFactory
) -> None:
    for m, rating in zip(MODERATORS, (5, 3, 4), strict=True):
        await resolve(server, f"T-start-{m}", m, rating)
    second = await start_server(replace(server.settings, port=free_port()))  # assigns at start
    scheduler = second.services.reviews
    assert scheduler is not None
    rows: list[Any] = []
    for _ in range(50):
        rows = await scheduler.reviews.assignments(scheduler.this_week())
        if len(rows) == 3:
            break
        await asyncio.sleep(0.1)
    assert sorted(r.reviewer for r in rows) == sorted(MODERATORS)
    assert all(r.reviewer != r.moderator for r in rows)
    status, again = await call(server, "POST", "/api/review/assign", server.platform.auth)
    assert (status, again["assigned"]) == (200, 0)
