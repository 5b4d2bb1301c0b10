"""Names in a real browser: the party page and the audit page show people's display names,
not their user ids (which stay for those who have no name)."""

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, expect

from tests.browser import assert_no_errors, launch, open_page
from tests.conftest import RunningServer

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])

PEOPLE = [
    {"user": "c-1", "name": "Alice Doe", "email": "alice@example.com", "locale": "en"},
    {"user": "f-1", "email": "bruno@example.com"},  # no name: shown by id
]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async for browser in launch():
        yield browser


async def test_the_party_page_shows_names_instead_of_ids(
    server: RunningServer, browser: Browser
) -> None:
    platform = server.platform
    room = await platform.open_room("T-web-names", people=PEOPLE)
    token = await platform.token(room, "f-1", "freelancer")
    bruno = await open_page(browser, "bruno", f"{server.base_url}/#room={room}&token={token}")
    page = bruno.page
    await expect(page.locator(".room-meta")).to_contain_text("T-web-names")

    alice, _ = await server.peer(room, "c-1", "client")
    ack = await alice.act(
        {"type": "send", "id": "m1", "channel": "joint", "body": "The files never came."}
    )
    assert ack["type"] == "ack", ack
    await alice.send_json({"type": "typing", "channel": "joint"})

    message = page.locator("li.msg", has_text="The files never came.")
    await expect(message.locator(".who")).to_have_text("Alice Doe")
    await expect(message.locator(".who")).to_have_attribute("data-user", "c-1")
    await expect(page.locator(".typing")).to_contain_text("Alice Doe")
    people = page.locator("ul.participants")
    await expect(people.locator("li[data-role=client] .name")).to_have_text("Alice Doe")
    await expect(people.locator("li[data-role=freelancer] .name")).to_have_text("f-1")
    joint = page.get_by_role("list", name="Messages in Joint")
    for shown in (joint, people, page.locator(".typing")):
        await expect(shown).not_to_contain_text("c-1")
    await expect(page.locator("body")).not_to_contain_text("alice@example.com")
    await bruno.shot("party-names")
    assert_no_errors(bruno)


async def test_the_audit_page_shows_names_next_to_ids(
    server: RunningServer, browser: Browser
) -> None:
    platform = server.platform
    room = await platform.open_room("T-web-names-audit", people=PEOPLE)
    alice, _ = await server.peer(room, "c-1", "client")
    ack = await alice.act({"type": "send", "id": "m1", "channel": "joint", "body": "Hello"})
    assert ack["type"] == "ack", ack
    minted = await platform.http.post(
        "/api/staff/tokens",
        json={"user": "ada", "role": "auditor", "purpose": "review of T-web-names-audit"},
        headers=platform.auth,
    )
    assert minted.status_code == 201, minted.text
    url = f"{server.base_url}/audit.html#token={minted.json()['token']}"
    ada = await open_page(browser, "ada", url)
    await ada.page.get_by_label("Ticket id").fill("T-web-names-audit")
    await ada.page.get_by_role("button", name="Find").click()
    await ada.page.get_by_role("button", name="Read transcript").click()
    record = ada.page.locator("li.record.kind-message", has_text="Hello")
    await expect(record.locator(".who")).to_have_text("Alice Doe")
    await expect(record.locator(".user-id")).to_have_text("c-1")
    await expect(ada.page.locator("#room-body")).to_contain_text("Alice Doe · c-1 (Client)")
    await expect(ada.page.locator("#room-body")).not_to_contain_text("alice@example.com")
    assert_no_errors(ada)
