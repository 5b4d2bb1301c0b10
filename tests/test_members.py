"""More people per party over real sockets: a side's second member added over the API
reads and writes her side's caucus (the other side's people do not), her removal closes
her socket at once and refuses her token, and a decision-maker alone accepts for a side."""

import dataclasses
from typing import Any

import pytest

from mediation.config import Settings
from mediation.protocol.codes import CloseCode
from tests.conftest import RunningServer, ServerFactory
from tests.peers import Peer
from transcripts.settlement_verify import verify_with_bundle


async def add(server: RunningServer, room: str, user: str, side: str, **extra: Any) -> Any:
    platform = server.platform
    return await platform.http.post(
        f"/api/rooms/{room}/members",
        json={"user": user, "side": side, **extra},
        headers=platform.auth,
    )


async def claimed(server: RunningServer, ticket: str) -> tuple[str, Peer]:
    platform = server.platform
    room = await platform.open_room(ticket)
    answer = await platform.http.post(
        f"/api/rooms/{room}/claim", json={"moderator": "m-1"}, headers=platform.auth
    )
    assert answer.status_code == 200, answer.text
    moderator, _ = await server.peer(room, "m-1", "moderator")
    return room, moderator


async def test_a_sides_second_member_sees_its_caucus_and_the_other_sides_people_do_not(
    server: RunningServer,
) -> None:
    platform = server.platform
    room, moderator = await claimed(server, "T-team")
    added = await add(server, room, "c-2", "client", name="Anna Berg", email="anna@example.com")
    assert added.status_code == 201, added.text
    assert (added.json()["user"], added.json()["side"]) == ("c-2", "client")
    assert (await add(server, room, "f-2", "freelancer")).status_code == 201
    again = await add(server, room, "c-2", "client")
    assert (again.status_code, again.json()["error"]["code"]) == (409, "conflict")
    stranger = await platform.http.post(
        f"/api/rooms/{room}/tokens", json={"user": "c-9", "role": "client"}, headers=platform.auth
    )
    assert stranger.status_code == 403  # a token for a side only for its people

    anna, welcome = await server.peer(room, "c-2", "client")
    people = [(p["user"], p["role"]) for p in welcome["room"]["participants"]]
    assert people[:4] == [
        ("c-1", "client"),
        ("c-2", "client"),
        ("f-1", "freelancer"),
        ("f-2", "freelancer"),
    ]
    assert welcome["room"]["names"]["c-2"] == "Anna Berg"  # from the contact given
    fred, _ = await server.peer(room, "f-2", "freelancer")

    said = await moderator.act(
        {"type": "send", "id": "m-c", "channel": "caucus:client", "body": "between us"}
    )
    assert said["type"] == "ack", said
    seen = await anna.next("message")
    assert (seen["channel"], seen["body"]) == ("caucus:client", "between us")
    mine = await anna.act(
        {"type": "send", "id": "a-c", "channel": "caucus:client", "body": "from Anna"}
    )
    assert mine["type"] == "ack", mine
    heard = await moderator.next("message")
    assert (heard["body"], heard["sender"]["user"]) == ("from Anna", "c-2")
    refused = await fred.act(
        {"type": "send", "id": "f-c", "channel": "caucus:client", "body": "let me in"}
    )
    assert refused["code"] == "forbidden", refused
    page = await fred.act({"type": "history", "id": "h", "channel": "caucus:client"})
    assert page.get("code") == "forbidden", page
    assert not [f for f in await fred.drain() if f.get("channel") == "caucus:client"]

    listed = await platform.http.get(f"/api/rooms/{room}/members", headers=platform.auth)
    assert listed.status_code == 200, listed.text
    rows = {(m["user"], m["side"]): m for m in listed.json()["members"]}
    assert set(rows) == {
        ("c-1", "client"),
        ("c-2", "client"),
        ("f-1", "freelancer"),
        ("f-2", "freelancer"),
    }
    assert rows["c-1", "client"]["added_by"] == "opened"
    assert rows["c-1", "client"]["decision_maker"] is True
    assert (rows["c-2", "client"]["added_by"], rows["c-2", "client"]["removed_at"]) == (
        "platform",
        None,
    )
    assert listed.json()["acceptance"] == "any"


async def test_removal_closes_her_socket_at_once_and_her_token_is_refused(
    server: RunningServer,
) -> None:
    platform = server.platform
    room, moderator = await claimed(server, "T-leave")
    assert (await add(server, room, "c-2", "client")).status_code == 201
    token = await platform.token(room, "c-2", "client")
    anna = await Peer.connect(server.ws_url)
    assert (await anna.hello(token))["type"] == "welcome"

    gone = await platform.http.delete(
        f"/api/rooms/{room}/members/client/c-2", headers=platform.auth
    )
    assert gone.status_code == 200, gone.text
    assert await anna.close_code_when_closed() == CloseCode.UNAUTHORIZED
    again = await Peer.connect(server.ws_url)
    reply = await again.hello(token)
    assert (reply["type"], reply["code"]) == ("error", "unauthorized"), reply
    minted = await platform.http.post(
        f"/api/rooms/{room}/tokens", json={"user": "c-2", "role": "client"}, headers=platform.auth
    )
    assert minted.status_code == 403  # no longer on the side
    files = await platform.http.post(  # nor files: every HTTP call refuses the token
        f"/api/rooms/{room}/files?channel=caucus:client",
        headers={
            "authorization": f"Bearer {token}",
            "content-disposition": "attachment; filename=a.txt",
        },
        content=b"hello",
    )
    assert files.status_code == 401, files.text
    last = await platform.http.delete(
        f"/api/rooms/{room}/members/client/c-1", headers=platform.auth
    )
    assert (last.status_code, last.json()["error"]["code"]) == (409, "conflict")
    listed = await platform.http.get(f"/api/rooms/{room}/members", headers=platform.auth)
    removed = [m for m in listed.json()["members"] if m["user"] == "c-2"]
    assert removed[0]["removed_by"] == "platform" and removed[0]["removed_at"]
    left = await moderator.event("member_removed")
    assert (left["channel"], left["member"], left["side"], left["by"]) == (
        "room",
        "c-2",
        "client",
        "platform",
    )


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_with_a_decision_maker_only_her_accept_settles_the_side(
    start_server: ServerFactory, settings: Settings
) -> None:
    server = await start_server(dataclasses.replace(settings, side_acceptance="decision_maker"))
    platform = server.platform
    room, moderator = await claimed(server, "T-decide")
    added = await add(server, room, "c-2", "client", decision_maker=True)
    assert added.status_code == 201, added.text
    client, _ = await server.peer(room, "c-1", "client")
    anna, _ = await server.peer(room, "c-2", "client")
    freelancer, _ = await server.peer(room, "f-1", "freelancer")
    offer = await moderator.act(
        {"type": "propose", "id": "p", "amount": "500", "currency": "USD", "expires_in": 60}
    )
    assert offer["type"] == "ack", offer
    answer = {"type": "respond", "proposal": offer["seq"], "answer": "accept"}
    refused = await client.act({**answer, "id": "r-c1"})
    assert refused["code"] == "not_decision_maker", refused
    assert (await anna.act({**answer, "id": "r-c2"}))["type"] == "ack"
    assert (await freelancer.act({**answer, "id": "r-f1"}))["type"] == "ack"
    await anna.event("state", state="resolved")
    document = await platform.http.get(f"/api/rooms/{room}/settlement", headers=platform.auth)
    assert document.status_code == 200, document.text
    accepted = {a["role"]: a["user"] for a in document.json()["acceptances"]}
    assert accepted == {"client": "c-2", "freelancer": "f-1"}
    assert document.json()["parties"][0] == {"role": "client", "user": "c-1"}
    # offline, against the exported bundle: the accepting member is one the export lists
    exported = await platform.http.get(f"/api/rooms/{room}/export", headers=platform.auth)
    key = server.services.secrets.signing.public()[document.json()["key_id"]]
    lines = exported.content.splitlines()
    verdict = verify_with_bundle(document.content, lines, key)
    assert verdict.ok, verdict.reason


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_a_room_may_pin_its_own_acceptance_when_it_opens(server: RunningServer) -> None:
    platform = server.platform
    opened = await platform.http.post(
        "/api/rooms",
        json={
            "ticket": {"provider": "local", "id": "T-pin"},
            "client": "c-1",
            "freelancer": "f-1",
            "acceptance": "decision_maker",
        },
        headers=platform.auth,
    )
    assert opened.status_code == 201, opened.text
    room = opened.json()["id"]
    listed = await platform.http.get(f"/api/rooms/{room}/members", headers=platform.auth)
    assert listed.json()["acceptance"] == "decision_maker"
    other = await platform.open_room("T-default")
    listed = await platform.http.get(f"/api/rooms/{other}/members", headers=platform.auth)
    assert listed.json()["acceptance"] == "any"  # MEDIATION_SIDE_ACCEPTANCE's default
