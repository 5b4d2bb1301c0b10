"""The console for an observer (read-only: no composer, no toolbar, no claim) and for the
lead moderator (the people list marks the observer and the co-moderator, the Team dialog
adds one), in a real browser."""

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, expect

from tests.browser import assert_no_errors, launch, open_page
from tests.conftest import RunningServer
from tests.test_web_dispute import staff_token

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async for browser in launch():
        yield browser


async def test_an_observer_reads_the_console_read_only_and_the_lead_names_a_co_moderator(
    server: RunningServer, browser: Browser
) -> None:
    platform = server.platform
    room = await platform.open_room("T-shadow", client="alice", freelancer="bob")
    claimed = await platform.http.post(
        f"/api/rooms/{room}/claim", json={"moderator": "maya"}, headers=platform.auth
    )
    assert claimed.status_code == 200, claimed.text
    maya_token = await staff_token(server, "maya", "moderator")
    maya = await open_page(
        browser, "maya", f"{server.base_url}/console.html#token={maya_token}&room={room}"
    )
    await expect(maya.page.locator(".room-meta")).to_contain_text("mediating")
    await expect(maya.page.locator(".person[data-role=moderator]", has_text="lead")).to_be_visible()

    tom_token = await staff_token(server, "tom", "observer")
    tom = await open_page(
        browser, "tom", f"{server.base_url}/console.html#token={tom_token}&room={room}"
    )
    await expect(tom.page.locator(".room-meta")).to_contain_text("mediating")
    await expect(tom.page.locator(".observing-note")).to_contain_text("read-only")
    await expect(tom.page.get_by_role("tab", name="Internal notes")).to_be_visible()
    assert await tom.page.locator("form.composer").count() == 0
    await expect(tom.page.locator(".toolbar")).to_be_hidden()
    await expect(tom.page.locator("p.readonly").first).to_contain_text("read-only")

    # the lead sees who observes; a note of hers reaches the observer live
    observer = maya.page.locator(".person[data-role=observer]")
    await expect(observer).to_contain_text("observing")
    box = maya.page.get_by_label("Message to Internal notes")
    await maya.page.get_by_role("tab", name="Internal notes").click()
    await box.fill("watch how I open the caucus")
    await box.press("Enter")
    await tom.page.get_by_role("tab", name="Internal notes").click()
    await expect(tom.page.locator("li.msg", has_text="watch how I open the caucus")).to_be_visible()

    # a party's proposal: the lead may counter it; the observer only reads it
    alice, _ = await server.peer(room, "alice", "client")
    await alice.acked(
        {"id": "p-1", "type": "propose", "amount": "300", "currency": "USD", "milestone": "M1"}
    )
    await maya.page.get_by_role("tab", name="Joint").click()
    lead_card = maya.page.locator("li.card.proposal", has_text="300.00")
    await expect(lead_card.get_by_role("button", name="Counter…")).to_be_visible()
    await tom.page.get_by_role("tab", name="Joint").click()
    card = tom.page.locator("li.card.proposal", has_text="300.00")
    await expect(card).to_be_visible()
    assert await card.get_by_role("button").count() == 0

    await maya.page.get_by_role("button", name="Team…").click()
    dialog = maya.page.get_by_role("dialog", name="Moderators of this room")
    await dialog.get_by_label("Moderator (user id)").fill("sam")
    await dialog.get_by_role("button", name="Apply").click()
    await maya.page.get_by_role("tab", name="Joint").click()
    await expect(maya.page.locator("li.msg.system", has_text="added sam")).to_be_visible()
    await tom.page.get_by_role("tab", name="Joint").click()
    await expect(tom.page.locator("li.msg.system", has_text="added sam")).to_be_visible()
    queue = await platform.http.get(
        "/api/queue", params={"moderator": "sam"}, headers=platform.auth
    )
    assert [r["id"] for r in queue.json()["rooms"]] == [room]
    assert_no_errors(maya, tom)
