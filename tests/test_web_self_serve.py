"""A self-served settlement in the browser: no moderator ever joins. The client proposes
from the party view while the room waits (the view says nobody mediates yet), the
console's queue card shows the parties negotiating, the freelancer accepts on its card in
another page; both see the room resolved and save the signed settlement, byte for byte as
the server signed it."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.browser import assert_no_errors, launch, open_page
from tests.conftest import RunningServer
from tests.test_settlement_artifact import bearer, download
from tests.test_web_dispute import staff_token

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async for browser in launch():
        yield browser


async def test_the_parties_settle_in_the_browser_without_a_moderator(
    server: RunningServer, browser: Browser, tmp_path: Path
) -> None:
    platform = server.platform
    room = await platform.open_room("T-web-self-serve")
    link = f"{server.base_url}/#room={room}&token="
    client = await open_page(browser, "c-1", link + await platform.token(room, "c-1", "client"))
    freelancer = await open_page(
        browser, "f-1", link + await platform.token(room, "f-1", "freelancer")
    )
    token = await staff_token(server, "maya", "moderator")
    maya = await open_page(browser, "maya", f"{server.base_url}/console.html#token={token}")
    queued = maya.page.locator(f"li.queue-item[data-room={room}]")
    await expect(queued.get_by_role("button", name="Claim local/T-web-self-serve")).to_be_visible()
    await expect(queued.locator(".flag.negotiating")).to_have_count(0)
    for party in (client, freelancer):
        await expect(party.page.locator(".self-serve-note")).to_contain_text(
            "No moderator has joined yet"
        )
    await client.page.get_by_role("button", name="Propose settlement").click()
    await client.page.get_by_label("Amount").fill("750")
    await client.page.get_by_label("Milestone (optional)").fill("M1")
    await client.page.get_by_role("button", name="Send proposal").click()
    card = freelancer.page.locator("li.card.proposal[data-status=open]")
    await expect(card).to_contain_text("USD 750.00")
    # the console's queue card: the parties negotiate, the room is still claimable
    await expect(queued.locator(".flag.negotiating")).to_have_text("Parties negotiating")
    await expect(queued.get_by_role("button", name="Claim local/T-web-self-serve")).to_be_enabled()
    # the client's own proposal stands as accepted by it: no answer buttons on its side
    own = client.page.locator("li.card.proposal[data-status=open]")
    await expect(own).to_contain_text("Accepted so far by: Client")
    await expect(own.get_by_role("button", name="Accept")).to_have_count(0)
    await card.get_by_role("button", name="Accept").click()

    signed = await download(server, room, bearer(await platform.token(room, "c-1", "client")))
    assert signed.status_code == 200, signed.text
    for i, party in enumerate((client, freelancer)):
        outcome = party.page.locator(".outcome")
        await expect(outcome).to_contain_text("Resolved")
        await expect(outcome).to_contain_text("USD 750.00 for M1")
        await expect(party.page.locator("li.card[data-status=settled]")).to_have_count(1)
        await expect(party.page.locator(".self-serve-note")).to_be_hidden()
        await expect(party.page.get_by_role("button", name="Propose settlement")).to_be_hidden()
        async with party.page.expect_download() as download_info:
            await outcome.get_by_role("button", name="Download the signed settlement").click()
        saved = tmp_path / f"saved-{i}.json"
        await (await download_info.value).save_as(saved)
        assert saved.read_bytes() == signed.content
    await expect(queued).to_have_count(0)  # resolved: out of the queue
    assert_no_errors(client, freelancer, maya)
