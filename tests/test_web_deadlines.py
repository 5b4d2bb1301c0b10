"""Deadlines in the web app: the moderator sets one from the console's toolbar, both parties
see it counting down (the named party as its own), and the party's answer ends it."""

import re
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, expect

from tests.browser import assert_no_errors, launch, open_page
from tests.conftest import RunningServer
from tests.test_web_dispute import say, staff_token

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async for browser in launch():
        yield browser


async def test_a_deadline_set_in_the_console_counts_down_and_the_answer_ends_it(
    server: RunningServer, browser: Browser
) -> None:
    platform = server.platform
    room = await platform.open_room("T-web-deadline", client="alice", freelancer="bob")
    claimed = await platform.http.post(
        f"/api/rooms/{room}/claim", json={"moderator": "maya"}, headers=platform.auth
    )
    assert claimed.status_code == 200, claimed.text
    link = f"{server.base_url}/#room={room}&token="
    alice = await open_page(browser, "alice", link + await platform.token(room, "alice", "client"))
    bob = await open_page(browser, "bob", link + await platform.token(room, "bob", "freelancer"))
    maya_token = await staff_token(server, "maya", "moderator")
    maya = await open_page(browser, "maya", f"{server.base_url}/console.html#token={maya_token}")
    await maya.page.get_by_role("button", name="Open local/T-web-deadline").click()
    await expect(maya.page.locator(".room-meta")).to_contain_text("mediating")

    await maya.page.get_by_role("button", name="Deadline…", exact=True).click()
    dialog = maya.page.get_by_role("dialog", name="Set a deadline")
    await dialog.get_by_label("Who must answer").select_option("freelancer")
    await dialog.get_by_label("Outcome without an answer").select_option("escalate")
    await dialog.get_by_label("Business days from now").fill("2")
    await dialog.get_by_label("What is asked of the party").fill("Send the logo files.")
    await dialog.get_by_role("button", name="Set deadline").click()

    mine = bob.page.locator(".deadlines .deadline.deadline-mine")
    await expect(mine).to_contain_text("left for your answer")
    await expect(mine).to_contain_text("Without an answer, the dispute is escalated.")
    await expect(mine).to_contain_text("Asked: Send the logo files.")
    left = mine.locator(".deadline-left")
    await expect(left).to_have_text(re.compile(r"^\d+ d \d\d:\d\d:\d\d$"))
    before = await left.text_content()
    await expect(left).not_to_have_text(before or "", timeout=3000)  # it counts down
    await expect(alice.page.locator(".deadlines .deadline")).to_contain_text(
        "left for the freelancer to answer"
    )
    await expect(maya.page.get_by_role("button", name="Withdraw deadline…")).to_be_enabled()
    mine_in_queue = maya.page.locator(".queue-item", has_text="T-web-deadline")
    await expect(mine_in_queue.locator(".flag.deadline")).to_contain_text("Deadline: Freelancer by")
    await bob.shot("party-deadline-countdown")

    await say(bob.page, "Joint", "Here are the files.")
    for watched in (alice, bob, maya):
        await expect(watched.page.locator(".deadlines")).to_be_hidden()
        await expect(
            watched.page.locator("li.msg.system", has_text="ended: answered in time")
        ).to_have_count(1)
    await expect(maya.page.get_by_role("button", name="Withdraw deadline…")).to_be_disabled()
    await expect(mine_in_queue.locator(".flag.deadline")).to_have_count(0)
    assert_no_errors(alice, bob, maya)
