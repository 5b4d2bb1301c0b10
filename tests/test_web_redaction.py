"""Redaction in a real browser: the moderator removes a message's text, the party's open
view replaces it at once, and the auditor page verifies the redacted bundle."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.browser import assert_no_errors, launch, open_page
from tests.conftest import RunningServer
from transcripts.verify import verify

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])

CARD = "my card is 4111 1111 1111 1111"


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async for browser in launch():
        yield browser


async def test_the_moderator_removes_a_text_and_every_view_shows_why(
    server: RunningServer, browser: Browser, tmp_path: Path
) -> None:
    platform = server.platform
    room = await platform.open_room("T-web-redact", client="alice", freelancer="bob")
    link = f"{server.base_url}/#room={room}&token="
    alice = await open_page(browser, "alice", link + await platform.token(room, "alice", "client"))
    maya = await open_page(browser, "maya", link + await platform.token(room, "maya", "moderator"))
    await alice.page.get_by_label("Message to Joint").fill(CARD)
    await alice.page.get_by_label("Message to Joint").press("Enter")
    message = maya.page.locator("li.msg", has_text=CARD)
    await expect(message).to_have_count(1)

    await message.get_by_role("button", name="Remove text of message #1").click()
    await maya.page.get_by_label("Reason (everyone in this channel sees it)").select_option(
        "payment_data"
    )
    await maya.page.get_by_role("button", name="Remove text").last.click()
    notice = "Removed by the moderator: payment details"
    for watched in (alice, maya):
        await expect(watched.page.locator("li.msg.redacted .body")).to_have_text(notice)
        await expect(watched.page.locator("li.msg", has_text="4111")).to_have_count(0)
    await alice.page.reload()  # the replay says the same
    await expect(alice.page.locator("li.msg.redacted .body")).to_have_text(notice)

    exported = await platform.http.get(f"/api/rooms/{room}/export", headers=platform.auth)
    bundle = tmp_path / "room.transcript.jsonl"
    bundle.write_bytes(exported.content)
    audit = await open_page(browser, "auditor", f"{server.base_url}/audit.html")
    await audit.page.set_input_files("#verify-file", str(bundle))
    verdict = audit.page.locator("#verify-result")
    await expect(verdict).to_have_attribute("data-result", "pass")
    signing = server.services.signing()
    offline = verify(exported.content.splitlines(keepends=True), signing.public()[signing.active])
    assert "1 redaction" in offline.reason
    await expect(verdict.locator(".verdict-reason")).to_have_text(offline.reason)
    assert_no_errors(alice, maya, audit)
