"""Display names: the welcome names the people a room was opened with, never their contacts;
and tells each person their own locale (for the web app's language), never another's."""

import json

from tests.conftest import RunningServer
from tests.peers import Peer

PEOPLE = [
    {"user": "c-1", "name": "Alice Doe", "email": "alice@example.com", "locale": "fr-CA"},
    {"user": "f-1", "email": "bruno@example.com", "locale": "de"},  # no name: shown by id
    {"user": "m-1", "name": "Maya Stone", "email": "maya@example.com"},
]
NAMES = {"c-1": "Alice Doe", "m-1": "Maya Stone"}
# each one's own locale in `you.locale`: none given (m-1) or nobody's contact (a-1): absent
OWN_LOCALE = {"c-1": "fr-CA", "f-1": "de", "m-1": None, "a-1": None}


async def test_the_welcome_carries_names_and_nothing_else_of_the_contacts(
    server: RunningServer,
) -> None:
    room = await server.platform.open_room("T-names", people=PEOPLE)
    for user, role in [("c-1", "client"), ("f-1", "freelancer"), ("a-1", "auditor")]:
        own = OWN_LOCALE[user]
        token = await server.platform.token(room, user, role)
        peer = await Peer.connect(server.ws_url)
        await peer.send_json({"type": "hello", "token": token})
        raw = await peer.ws.recv()
        assert isinstance(raw, str)
        welcome = json.loads(raw)
        assert welcome["type"] == "welcome", welcome
        assert welcome["room"]["names"] == NAMES
        assert welcome["you"].get("locale") == own
        others = [] if own == "fr-CA" else ["fr-CA"]
        for secret in ("@example.com", "email", *others, *([] if own else ["locale"])):
            assert secret not in raw, f"{secret!r} in {user}'s welcome"
        await peer.ws.close()


async def test_the_welcome_tells_a_moderator_without_a_locale_none(server: RunningServer) -> None:
    room = await server.platform.open_room("T-locale", people=PEOPLE)
    claim = {"moderator": "m-1"}
    url = f"/api/rooms/{room}/claim"
    assert (
        await server.platform.http.post(url, json=claim, headers=server.platform.auth)
    ).is_success
    _, welcome = await server.peer(room, "m-1", "moderator")
    assert welcome["you"] == {"user": "m-1", "role": "moderator"}  # no locale given: none sent
    _, welcome = await server.peer(room, "f-1", "freelancer")
    assert welcome["you"] == {"user": "f-1", "role": "freelancer", "locale": "de"}


async def test_a_room_without_people_has_no_names_field(server: RunningServer) -> None:
    room = await server.platform.open_room("T-nameless")
    _, welcome = await server.peer(room, "c-1", "client")
    assert "names" not in welcome["room"]
    assert [p["user"] for p in welcome["room"]["participants"]] == ["c-1", "f-1"]


async def test_a_staff_join_answers_with_the_names(server: RunningServer) -> None:
    platform = server.platform
    room = await platform.open_room("T-names-audit", people=PEOPLE)
    minted = await platform.http.post(
        "/api/staff/tokens",
        json={"user": "a-1", "role": "auditor", "purpose": "quality review of the dispute"},
        headers=platform.auth,
    )
    assert minted.status_code == 201, minted.text
    staff = {"authorization": f"Bearer {minted.json()['token']}"}
    joined = await platform.http.post(f"/api/rooms/{room}/join", headers=staff)
    assert joined.status_code == 201, joined.text
    assert joined.json()["names"] == NAMES
    assert "@example.com" not in joined.text
