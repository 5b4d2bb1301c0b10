"""The console's queue in a real browser shows each room's language and skills and why it
is routed to this moderator first (routing by language and skill, issue 17)."""

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, expect

from tests.browser import assert_no_errors, launch, open_page
from tests.conftest import RunningServer
from tests.test_routing import open_room, put_profile
from tests.test_web_dispute import staff_token

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async for browser in launch():
        yield browser


async def test_the_console_queue_shows_why_a_room_is_routed_first(
    server: RunningServer, browser: Browser
) -> None:
    await open_room(server, "T-en")
    await open_room(server, "T-de", language="de", skills=["payments"])
    assert (
        await put_profile(server, "maya", {"languages": ["de"], "skills": ["payments"], "tier": 1})
        == 201
    )
    token = await staff_token(server, "maya", "moderator")
    maya = await open_page(browser, "maya", f"{server.base_url}/console.html#token={token}")
    waiting = maya.page.locator("ol[aria-labelledby=queue-waiting-title] .queue-item")
    await expect(waiting).to_have_count(2)
    first, second = waiting.nth(0), waiting.nth(1)
    await expect(first.locator(".ticket")).to_have_text("local/T-de")  # opened last, yet first
    await expect(first.locator(".routing-verdict")).to_have_text("Fits you")
    await expect(first.locator(".tag.skill")).to_have_text("payments")
    await expect(first.locator(".tag.language")).to_have_text("Language: de")
    await expect(first.locator(".routing-reasons li")).to_have_text(
        ["you speak de", "tier 1 within your tier 1", "skill payments"]
    )
    await expect(second.locator(".routing-verdict")).to_have_text("Not a fit for you")
    await expect(second.locator(".routing-reasons li").first).to_have_text("you do not speak en")
    assert_no_errors(maya)
