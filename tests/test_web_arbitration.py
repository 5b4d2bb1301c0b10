"""Arbitration in a real browser: a party opts in from the banner of a failed mediation,
the arbitrator reads the room and records its decision in the form, both see the outcome."""

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, expect

from tests.browser import PHONE, assert_no_errors, launch, open_page
from tests.conftest import RunningServer

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async for browser in launch():
        yield browser


async def test_a_party_opts_in_and_the_arbitrator_decides(
    server: RunningServer, browser: Browser
) -> None:
    platform = server.platform
    room = await platform.open_room("T-web-arb", client="alice", freelancer="bob")
    link = f"{server.base_url}/#room={room}&token="
    alice = await open_page(browser, "alice", link + await platform.token(room, "alice", "client"))
    await alice.page.get_by_label("Message to Joint").fill("The logo files never arrived.")
    await alice.page.get_by_label("Message to Joint").press("Enter")
    await expect(alice.page.locator("li.msg.own[data-state=delivered]")).to_have_count(1)

    # the moderator claims it in the console, and ends the mediation as failed
    staff = await platform.http.post(
        "/api/staff/tokens", json={"user": "maya", "role": "moderator"}, headers=platform.auth
    )
    maya = await open_page(
        browser, "maya", f"{server.base_url}/console.html#token={staff.json()['token']}"
    )
    await maya.page.get_by_role("button", name="Claim local/T-web-arb").click()
    await expect(maya.page.locator(".room-meta")).to_contain_text("mediating")
    await maya.page.get_by_role("button", name="More").click()  # the rare moves' menu
    await maya.page.get_by_role("menuitem", name="Mediation failed").click()
    await maya.page.get_by_label("Reason (shown to everyone)").fill("No movement.")
    await maya.page.get_by_role("button", name="End as failed").click()
    await expect(maya.page.locator(".room-meta")).to_contain_text("mediation failed")
    await maya.page.get_by_role("button", name="More").click()
    await expect(maya.page.get_by_role("menuitem", name="Close room")).to_be_enabled()
    await maya.page.keyboard.press("Escape")
    mine = maya.page.locator(".queue-item", has_text="T-web-arb")
    await expect(mine).to_contain_text("Arbitration opt-in open until")
    banner = alice.page.locator("section.arbitration")
    await expect(banner).to_contain_text("Mediation failed — you may opt in to arbitration until")
    await alice.shot("party-mediation-failed")
    await banner.get_by_role("button", name="Opt in to arbitration").click()
    await expect(banner).to_contain_text("This dispute is in arbitration")
    await expect(alice.page.locator(".room-meta")).to_contain_text("in arbitration")

    arbitrator = await open_page(
        browser, "arb", link + await platform.token(room, "arb-1", "arbitrator"), PHONE
    )
    page = arbitrator.page
    await expect(page.locator("li.msg", has_text="logo files never arrived")).to_have_count(1)
    await expect(page.get_by_label("Message to Joint")).to_have_count(0)  # read-only
    await expect(page.locator(".readonly").first).to_contain_text("arbitrator")
    await page.get_by_label("Amount awarded").fill("450")
    await page.get_by_label("Currency (ISO code, e.g. USD)").fill("EUR")
    await page.get_by_label("Reasons (optional, shown to everyone)").fill("Half was delivered.")
    await arbitrator.shot("arbitrator-phone-decision-form")
    await page.get_by_role("button", name="Record decision").click()
    for watched in (alice, arbitrator):
        outcome = watched.page.locator(".outcome")
        await expect(outcome).to_contain_text("Decided by arbitration")
        await expect(outcome).to_contain_text("450.00")
    await expect(alice.page.locator("li.msg.system", has_text="Half was delivered")).to_have_count(
        1
    )
    await expect(alice.page.locator(".csat form")).to_be_visible()
    await expect(page.locator("section.arbitration")).to_be_hidden()
    assert_no_errors(alice, arbitrator, maya)
